"""A small CNN that reads a handwritten word's style factors from its image (explain/factor_reader.py
trains it on freshly rendered synthetic words)."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganxai_jax.models import layers


class FactorReader(nn.Module):
  """Word image `[N, 32, W, 1]` in [-1, 1] → `num_factors` standardised factors.

  Four 3×3 convolutions (each followed by 2×2 max pooling but the last) keep the strokes' local
  geometry (slant, width, spacing); averaging over the width makes the reading independent of the
  word's length and position, and a small MLP maps the pooled features to the factors. No batch norm,
  so a prediction never depends on the rest of the batch."""
  num_factors: int
  channels: tuple[int, ...] = (32, 64, 96, 128)
  hidden: int = 128

  @nn.compact
  def __call__(self, images: jax.Array) -> jax.Array:
    x = images
    for i, channels in enumerate(self.channels):
      x = nn.relu(nn.Conv(channels, (3, 3), name=f"conv{i}")(x))
      if i < len(self.channels) - 1:
        x = layers.max_pool_2x2(x)
    x = jnp.concatenate([x.mean(axis=(1, 2)), x.max(axis=(1, 2))], axis=-1)
    x = nn.relu(nn.Dense(self.hidden, name="hidden")(x))
    return nn.Dense(self.num_factors, name="factors")(x)
