"""Layers shared by every model: dense and convolution layers with optional spectral normalisation.

Spectral-norm power-iteration state lives in its own collection, `spectral` (not `batch_stats`), so a
training state can tell the two apart. Every wrapper takes `update_stats`, which is True only in the
training step of the network that owns the layer.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

SPECTRAL = "spectral"

Initializer = Callable[..., jax.Array]


def _maybe_spectral(layer: nn.Module, x: jax.Array, spectral_norm: bool, update_stats: bool) -> jax.Array:
  if spectral_norm:
    return nn.SpectralNorm(layer, collection_name=SPECTRAL)(x, update_stats=update_stats)
  return layer(x)


class Dense(nn.Module):
  """`nn.Dense` with optional spectral norm."""
  features: int
  spectral_norm: bool = False
  use_bias: bool = True
  kernel_init: Initializer = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False) -> jax.Array:
    layer = nn.Dense(self.features, use_bias=self.use_bias, kernel_init=self.kernel_init, name="dense")
    return _maybe_spectral(layer, x, self.spectral_norm, update_stats)


class Conv(nn.Module):
  """`nn.Conv` (NHWC, SAME padding by default) with optional spectral norm."""
  features: int
  kernel_size: Sequence[int] = (3, 3)
  strides: Sequence[int] = (1, 1)
  padding: Any = "SAME"
  spectral_norm: bool = False
  use_bias: bool = True
  kernel_init: Initializer = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False) -> jax.Array:
    layer = nn.Conv(self.features, tuple(self.kernel_size), strides=tuple(self.strides),
                    padding=self.padding, use_bias=self.use_bias, kernel_init=self.kernel_init,
                    name="conv")
    return _maybe_spectral(layer, x, self.spectral_norm, update_stats)


class ConvTranspose(nn.Module):
  """`nn.ConvTranspose` (NHWC, SAME padding) with optional spectral norm."""
  features: int
  kernel_size: Sequence[int] = (4, 4)
  strides: Sequence[int] = (2, 2)
  spectral_norm: bool = False
  use_bias: bool = True
  kernel_init: Initializer = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False) -> jax.Array:
    layer = nn.ConvTranspose(self.features, tuple(self.kernel_size), strides=tuple(self.strides),
                             padding="SAME", use_bias=self.use_bias, kernel_init=self.kernel_init,
                             name="conv_transpose")
    return _maybe_spectral(layer, x, self.spectral_norm, update_stats)


def count_params(params: Any) -> int:
  """Number of scalars in a parameter tree."""
  return int(sum(jnp.size(p) for p in jax.tree_util.tree_leaves(params)))
