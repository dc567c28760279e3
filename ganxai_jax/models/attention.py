"""SAGAN self-attention (Zhang et al. 2019) that returns its attention maps.

The layer computes 1×1 query/key/value projections to C/8, C/8 and C/2 channels, optionally max-pools
keys and values 2×2 (as the official code does, which quarters the cost), takes a softmax over keys of
qᵀk, projects the attended values back to C with a 1×1 convolution and adds them to the input through a
learnable scalar γ initialised to 0, so a freshly initialised layer is the identity.

Maps are `[batch, queries, keys]` with queries in row-major order over the H×W input grid and keys in
row-major order over the key grid given by `key_grid_shape`. Odd sizes: pooling uses SAME padding
(padded entries never win the max), so an odd side of n gives ceil(n/2) keys and the last key row or
column covers one input row or column instead of two. Key cell (i, j) therefore always covers input
rows 2i..2i+1 and columns 2j..2j+1, clipped to the input.
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganxai_jax.models.layers import Conv


def key_grid_shape(h: int, w: int, pool_kv: bool) -> tuple[int, int]:
  """Shape `(hk, wk)` of the key grid for an `h`×`w` input: `(ceil(h/2), ceil(w/2))` when keys and
  values are pooled (SAME padding, see the module docstring), else `(h, w)`. Row j of a map reshapes to
  this grid."""
  if pool_kv:
    return (h + 1) // 2, (w + 1) // 2
  return h, w


class SelfAttention(nn.Module):
  """SAGAN self-attention block: `y = x + γ·o`, returning `(y, maps)` with maps `[B, H*W, N_keys]`.

  Projections have no bias, as in the official SAGAN/BigGAN code (a bias on q or k only shifts logits by
  a per-query constant or adds a key prior). Channel counts are `max(1, C // 8)` for queries and keys and
  `max(1, C // 2)` for values so that narrow test models still work. Logits are not scaled by
  1/sqrt(d), as in SAGAN. With `spectral_norm`, every projection is spectrally normalised and its
  power-iteration state lives in the `spectral` collection, updated only when `update_stats` is True.
  """
  spectral_norm: bool = False
  pool_kv: bool = True

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False) -> tuple[jax.Array, jax.Array]:
    batch, height, width, channels = x.shape
    qk_features = max(1, channels // 8)
    value_features = max(1, channels // 2)

    def projection(features: int, name: str) -> Conv:
      return Conv(features, kernel_size=(1, 1), spectral_norm=self.spectral_norm, use_bias=False,
                  name=name)

    query = projection(qk_features, "query")(x, update_stats)
    key = projection(qk_features, "key")(x, update_stats)
    value = projection(value_features, "value")(x, update_stats)
    if self.pool_kv:
      # SAME pads with -inf for max-pooling, so odd sides keep their last row/column (see docstring).
      key = nn.max_pool(key, (2, 2), strides=(2, 2), padding="SAME")
      value = nn.max_pool(value, (2, 2), strides=(2, 2), padding="SAME")
    key_h, key_w = key_grid_shape(height, width, self.pool_kv)
    assert key.shape[1:3] == (key_h, key_w), (key.shape, key_h, key_w)

    query = query.reshape(batch, height * width, qk_features)
    key = key.reshape(batch, key_h * key_w, qk_features)
    value = value.reshape(batch, key_h * key_w, value_features)
    # Softmax in float32 even under reduced precision: the maps are read as probabilities.
    logits = jnp.einsum("bqc,bkc->bqk", query, key).astype(jnp.float32)
    maps = jax.nn.softmax(logits, axis=-1)
    attended = jnp.einsum("bqk,bkc->bqc", maps.astype(value.dtype), value)
    attended = attended.reshape(batch, height, width, value_features)
    output = projection(channels, "output")(attended, update_stats)
    gamma = self.param("gamma", nn.initializers.zeros, (), jnp.float32)
    return x + gamma.astype(x.dtype) * output, maps


def attention_gammas(params: Any) -> dict[str, float]:
  """γ of every `SelfAttention` layer in a parameter tree, by the layer's module name (its output is
  `x + γ·attention`: a small |γ| means that whatever the maps show contributes little)."""
  found = {}

  def visit(tree: Any) -> None:
    if hasattr(tree, "items"):
      for name, child in tree.items():
        if hasattr(child, "items") and "gamma" in child and {"query", "key", "value"} <= set(child):
          found[name] = float(np.asarray(child["gamma"]))
        else:
          visit(child)

  visit(jax.device_get(params))
  return found
