"""Reconstructors of latent direction discovery (Voynov & Babenko 2020): which direction, how far.

A reconstructor sees an image pair, G(z) and G(z + ε·d_k), stacked as two channels, and predicts the
direction index k (logits over K) and the shift ε (a scalar). `DigitReconstructor` is a stack of
conv + BN + ReLU + max-pool blocks for 28×28 digits; `WordReconstructor` a stack of residual
down-blocks ending in a spatial mean, so it reads word images of any width. Both return
`(logits [B, K], shift [B])`.
"""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganxai_jax.models import layers


class _Heads(nn.Module):
  """The direction head (K logits) and the shift head (one scalar) on pooled features."""
  num_directions: int

  @nn.compact
  def __call__(self, features: jax.Array) -> tuple[jax.Array, jax.Array]:
    logits = nn.Dense(self.num_directions, name="direction_head")(features)
    shift = nn.Dense(1, name="shift_head")(features)[:, 0]
    return logits, shift


class DigitReconstructor(nn.Module):
  """Conv3×3 + BN + ReLU + max-pool 2×2 per entry of `channels`, spatial mean, two heads."""
  num_directions: int
  channels: Sequence[int] = (32, 64, 128)

  @nn.compact
  def __call__(self, pair: jax.Array, train: bool = False) -> tuple[jax.Array, jax.Array]:
    x = pair
    for i, features in enumerate(self.channels):
      x = nn.Conv(features, (3, 3), name=f"conv{i}")(x)
      x = nn.relu(nn.BatchNorm(use_running_average=not train, name=f"bn{i}")(x))
      x = layers.max_pool_2x2(x)
    return _Heads(self.num_directions, name="heads")(jnp.mean(x, axis=(1, 2)))


class ResidualDownBlock(nn.Module):
  """Conv3×3, BN, ReLU, conv3×3, BN, plus a 1×1 shortcut; ReLU; average-pool 2×2 (where it fits)."""
  features: int

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    h = nn.Conv(self.features, (3, 3), name="conv1")(x)
    h = nn.relu(nn.BatchNorm(use_running_average=not train, name="bn1")(h))
    h = nn.Conv(self.features, (3, 3), name="conv2")(h)
    h = nn.BatchNorm(use_running_average=not train, name="bn2")(h)
    shortcut = nn.Conv(self.features, (1, 1), name="shortcut")(x)
    x = nn.relu(h + shortcut)
    # Pool each axis only while it is at least 2 long: short words keep a usable map.
    window = tuple(2 if size >= 2 else 1 for size in x.shape[1:3])
    return nn.avg_pool(x, window, strides=window)


class WordReconstructor(nn.Module):
  """Residual down-blocks of `channels`, a spatial mean (any image width), two heads."""
  num_directions: int
  channels: Sequence[int] = (32, 64, 128, 128)

  @nn.compact
  def __call__(self, pair: jax.Array, train: bool = False) -> tuple[jax.Array, jax.Array]:
    x = pair
    for i, features in enumerate(self.channels):
      x = ResidualDownBlock(features, name=f"block{i}")(x, train)
    return _Heads(self.num_directions, name="heads")(jnp.mean(x, axis=(1, 2)))
