"""DCGAN-style generator and discriminator for 28×28 digits, in their GAN, CGAN, SAGAN and InfoGAN forms.

One generator and one discriminator cover the four MNIST models through their fields:

* `num_classes > 0` makes them conditional: the generator concatenates a learned label embedding to z;
  the discriminator adds a projection term <embed(y), h> (Miyato & Koyama 2018) to its logit, with the
  embedding spectrally normalised as theirs is when `projection_spectral_norm`.
* `attention_resolutions` inserts the project's SAGAN self-attention layer after the block of that
  resolution (14 for 14×14); its maps come out in `aux['attention'][layer_name]`.
* `num_categorical`/`num_continuous` (InfoGAN) give the discriminator a Q head sharing its trunk:
  `aux['q_logits']` [B, num_categorical] and `aux['q_mean']` [B, num_continuous].
* `hidden_dim` and (in D) `batch_norm` give the InfoGAN paper's MNIST networks: G starts with FC 1024,
  BN, ReLU; D has BN after its second convolution and an FC 1024, BN, leaky ReLU layer whose output
  both the logit and Q read.

Both return `(output, aux)`; G's `aux['features']` is its first layer with spatial meaning (the
projection after its batch norm and ReLU), and `Generator.latent_weight(params)` the weights that read z.
Under jit, auxiliary outputs nobody uses are dropped at no cost.
"""
from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganxai_jax.models import layers
from ganxai_jax.models.attention import SelfAttention

_INIT = nn.initializers.normal(0.02)


def _attention(x: jax.Array, name: str, spectral_norm: bool, update_stats: bool,
               aux: dict[str, Any]) -> jax.Array:
  x, maps = SelfAttention(spectral_norm=spectral_norm, name=name)(x, update_stats=update_stats)
  aux.setdefault("attention", {})[name] = maps
  return x


class Generator(nn.Module):
  """z (and a label) to a 28×28×1 image in [-1, 1]: dense to 7×7, two stride-2 transposed convs."""
  latent_dim: int = 64
  num_classes: int = 0
  channels: int = 64
  spectral_norm: bool = False
  attention_resolutions: Sequence[int] = ()
  hidden_dim: int = 0  # > 0: an FC hidden_dim, BN, ReLU layer before the 7×7 projection.

  @nn.compact
  def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = False
               ) -> tuple[jax.Array, dict[str, Any]]:
    aux: dict[str, Any] = {}
    sn, upd = self.spectral_norm, train
    x = z
    if self.num_classes:
      if labels is None:
        raise ValueError("This generator is conditional: pass labels.")
      x = jnp.concatenate([x, nn.Embed(self.num_classes, self.latent_dim, name="label_embedding")(labels)], -1)
    # No biases before BatchNorm: their gradient is zero up to rounding, which Adam would amplify.
    if self.hidden_dim:
      x = layers.Dense(self.hidden_dim, spectral_norm=sn, use_bias=False, kernel_init=_INIT,
                       name="fc_hidden")(x, upd)
      x = nn.relu(nn.BatchNorm(use_running_average=not train, name="bn_hidden")(x))
    x = layers.Dense(7 * 7 * 2 * self.channels, spectral_norm=sn, use_bias=False, kernel_init=_INIT,
                     name="fc")(x, upd)
    x = nn.relu(nn.BatchNorm(use_running_average=not train, name="bn_fc")(x))
    aux["features"] = x  # The first layer with spatial meaning (GANSpace's PCA space).
    x = x.reshape(x.shape[0], 7, 7, 2 * self.channels)
    if 7 in self.attention_resolutions:
      x = _attention(x, "attention_7", sn, upd, aux)
    x = layers.ConvTranspose(self.channels, spectral_norm=sn, use_bias=False, kernel_init=_INIT,
                             name="up_14")(x, upd)
    x = nn.relu(nn.BatchNorm(use_running_average=not train, name="bn_14")(x))
    if 14 in self.attention_resolutions:
      x = _attention(x, "attention_14", sn, upd, aux)
    x = layers.ConvTranspose(1, spectral_norm=sn, kernel_init=_INIT, name="up_28")(x, upd)
    return jnp.tanh(x), aux

  def latent_weight(self, params: Any) -> np.ndarray:
    """`W [out, latent_dim]`: the rows of the layer that reads z first (SeFa), as output units; its
    kernel's inputs are z, then the InfoGAN codes or the label embedding."""
    first = "fc_hidden" if self.hidden_dim else "fc"
    return np.asarray(layers.find_kernel(params[first]))[:self.latent_dim].T


class Discriminator(nn.Module):
  """28×28×1 image (and a label) to one logit; optionally InfoGAN's Q head on the shared trunk."""
  num_classes: int = 0
  channels: int = 64
  spectral_norm: bool = False
  attention_resolutions: Sequence[int] = ()
  num_categorical: int = 0
  num_continuous: int = 0
  batch_norm: bool = False  # BN after the second convolution (and in the hidden layer).
  hidden_dim: int = 0  # > 0: an FC hidden_dim layer (BN if batch_norm, leaky ReLU) after the convs.
  projection_spectral_norm: bool = False  # Spectral norm of the class embedding of the projection term.

  @nn.compact
  def __call__(self, images: jax.Array, labels: jax.Array | None = None, train: bool = False
               ) -> tuple[jax.Array, dict[str, Any]]:
    aux: dict[str, Any] = {}
    sn, upd = self.spectral_norm, train
    x = layers.Conv(self.channels, (4, 4), (2, 2), spectral_norm=sn, kernel_init=_INIT,
                    name="down_14")(images, upd)
    x = nn.leaky_relu(x, 0.2)
    if 14 in self.attention_resolutions:
      x = _attention(x, "attention_14", sn, upd, aux)
    x = layers.Conv(2 * self.channels, (4, 4), (2, 2), spectral_norm=sn, use_bias=not self.batch_norm,
                    kernel_init=_INIT, name="down_7")(x, upd)
    if self.batch_norm:
      x = nn.BatchNorm(use_running_average=not train, name="bn_7")(x)
    x = nn.leaky_relu(x, 0.2)
    if 7 in self.attention_resolutions:
      x = _attention(x, "attention_7", sn, upd, aux)
    features = x.reshape(x.shape[0], -1)
    if self.hidden_dim:
      features = layers.Dense(self.hidden_dim, spectral_norm=sn, use_bias=not self.batch_norm,
                              kernel_init=_INIT, name="fc_hidden")(features, upd)
      if self.batch_norm:
        features = nn.BatchNorm(use_running_average=not train, name="bn_hidden")(features)
      features = nn.leaky_relu(features, 0.2)
    logits = layers.Dense(1, spectral_norm=sn, kernel_init=_INIT, name="logit")(features, upd)[:, 0]
    if self.num_classes:
      if labels is None:
        raise ValueError("This discriminator is conditional: pass labels.")
      if self.projection_spectral_norm:
        embedding = layers.Embed(self.num_classes, features.shape[-1], spectral_norm=True,
                                 embedding_init=_INIT, name="label_projection")(labels, upd)
      else:  # Run folders saved before `projection_spectral_norm` existed hold this layer's parameters.
        embedding = nn.Embed(self.num_classes, features.shape[-1], embedding_init=_INIT,
                             name="label_projection")(labels)
      logits = logits + jnp.sum(embedding * features, axis=-1)
    if self.num_categorical or self.num_continuous:
      # InfoGAN's Q: FC 128, BN, leaky ReLU on the shared trunk, then one head per code kind.
      q = nn.Dense(128, kernel_init=_INIT, name="q_fc")(features)
      q = nn.leaky_relu(nn.BatchNorm(use_running_average=not train, name="q_bn")(q), 0.2)
      aux["q_logits"] = nn.Dense(max(self.num_categorical, 1), name="q_categorical")(q)
      aux["q_mean"] = nn.Dense(max(self.num_continuous, 1), name="q_continuous")(q)
    return logits, aux
