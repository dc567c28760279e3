"""ScrabbleGAN's handwriting recognizer R: a fully convolutional CTC reader of word images.

The layout follows the official ScrabbleGAN code (a CRNN without the recurrent part): seven 3×3
convolutions (the last 2×2 and unpadded) of 64, 128, 256, 256, 512, 512, 512 channels, batch norm
after convolutions 2, 4 and 6 (counting from 0), ReLU after each, and max-pooling that halves the
height five times in all (32 → 1) while shrinking the width only by 4:

  conv0 → pool 2×2 → conv1 → pool 2×2 → conv2+BN → conv3 → pool (2,2)/(2,1) pad (0,1)
  → conv4+BN → conv5 → pool (2,2)/(2,1) pad (0,1) → conv6 (2×2, VALID)+BN → linear to 81 classes

A 32 × 16n image gives T = 4n + 1 frames, one column each, and logits `[B, T, 81]` (80 symbols and
the CTC blank 0). `width_multiplier` scales every channel count, so a small variant trains on a CPU.
`dtype` is the compute dtype of its convolutions, batch norms and classifier (parameters and batch
statistics stay float32); logits and features come out float32, so CTC runs in float32.
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ganxai_jax.data import text
from ganxai_jax.models import layers

CHANNELS = (64, 128, 256, 256, 512, 512, 512)
BATCH_NORM_LAYERS = (2, 4, 6)
# A CTC loss at or above this means no alignment exists (optax returns about 1e5 instead of inf).
IMPOSSIBLE_ALIGNMENT_LOSS = 1e4


def num_frames(image_width: jax.Array | int) -> jax.Array | int:
  """Output frames of the recognizer for an image of this width (T = width / 4 + 1)."""
  return image_width // 4 + 1


class Recognizer(nn.Module):
  """Convolutional CTC recognizer; `__call__(images [B, 32, W, 1], train) -> logits [B, W/4+1, 81]`,
  and with `return_features` also the frames' features (the ReLU of the last batch norm) [B, W/4+1, C]."""
  width_multiplier: float = 1.0
  num_classes: int = text.NUM_CLASSES
  spectral_norm: bool = False
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, images: jax.Array, train: bool = False, return_features: bool = False
               ) -> jax.Array | tuple[jax.Array, jax.Array]:
    if images.shape[1] != 32:
      raise ValueError(f"The recognizer reads 32-pixel-high images, got shape {images.shape}.")
    x = images
    for i, channels in enumerate(CHANNELS):
      features = max(1, int(round(channels * self.width_multiplier)))
      last = i == len(CHANNELS) - 1
      x = layers.Conv(features, kernel_size=(2, 2) if last else (3, 3),
                      padding="VALID" if last else "SAME", spectral_norm=self.spectral_norm,
                      dtype=self.dtype, name=f"conv{i}")(x, update_stats=train)
      if i in BATCH_NORM_LAYERS:
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype,
                         name=f"batch_norm{i}")(x)
      x = nn.relu(x)
      if i in (0, 1):
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
      elif i in (3, 5):
        # Halve the height but keep one frame per 4 input columns (plus one from the padding).
        x = nn.max_pool(x, (2, 2), strides=(2, 1), padding=((0, 0), (1, 1)))
    assert x.shape[1] == 1, x.shape  # Height 1: one feature vector per frame.
    x = x[:, 0]
    logits = layers.Dense(self.num_classes, spectral_norm=self.spectral_norm, dtype=self.dtype,
                          name="classifier")(x, update_stats=train)
    logits = logits.astype(jnp.float32)
    # The classifier's input, one vector per frame: the feature space of the handwriting FID.
    return (logits, x.astype(jnp.float32)) if return_features else logits


def ctc_loss(logits: jax.Array, labels: jax.Array, label_lengths: jax.Array,
             image_widths: jax.Array, valid: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
  """Mean CTC loss over the examples that can be aligned, and the mask of those examples.

  Frames past an image's own width (`image_widths / 4 + 1`) and labels past `label_lengths` are
  padding. An example is left out when its label is longer than its frames or when optax reports an
  impossible alignment (loss ≥ 1e4), or when `valid` is False.
  """
  log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  frames = jnp.arange(logits.shape[1])[None, :]
  logit_paddings = (frames >= num_frames(image_widths)[:, None]).astype(jnp.float32)
  label_paddings = (jnp.arange(labels.shape[1])[None, :] >= label_lengths[:, None]).astype(jnp.float32)
  per_example = optax.ctc_loss(log_probs, logit_paddings, labels, label_paddings,
                               blank_id=text.BLANK_ID)
  usable = (per_example < IMPOSSIBLE_ALIGNMENT_LOSS) & (label_lengths <= num_frames(image_widths))
  usable &= label_lengths > 0
  if valid is not None:
    usable &= valid
  weights = usable.astype(jnp.float32)
  loss = jnp.sum(jnp.where(usable, per_example, 0.0)) / jnp.maximum(weights.sum(), 1.0)
  return loss, usable


def greedy_frame_ids(logits: jax.Array, image_widths: jax.Array) -> jax.Array:
  """Per-frame argmax ids, with frames past each image's width set to the blank."""
  frames = jnp.arange(logits.shape[1])[None, :]
  ids = jnp.argmax(logits, axis=-1)
  return jnp.where(frames < num_frames(image_widths)[:, None], ids, text.BLANK_ID)
