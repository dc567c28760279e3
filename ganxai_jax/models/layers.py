"""Layers shared by every model: dense and convolution layers with optional spectral normalisation.

Spectral-norm power-iteration state lives in its own collection, `spectral` (not `batch_stats`), so a
training state can tell the two apart. Every wrapper takes `update_stats`, which is True only in the
training step of the network that owns the layer.

`dtype` is the dtype the layer computes in (None: inferred from the input and the parameters, as in
Flax); parameters are float32 whatever it is, and the spectral norm's power iteration runs on them in
float32 before the normalised weight is cast.
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
  dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False) -> jax.Array:
    layer = nn.Dense(self.features, use_bias=self.use_bias, kernel_init=self.kernel_init, dtype=self.dtype,
                     name="dense")
    return _maybe_spectral(layer, x, self.spectral_norm, update_stats)


class Embed(nn.Module):
  """`nn.Embed` with optional spectral norm of its [num_embeddings, features] table (the projection
  discriminator's class embedding, as in Miyato & Koyama 2018)."""
  num_embeddings: int
  features: int
  spectral_norm: bool = False
  embedding_init: Initializer = nn.initializers.normal(0.02)

  @nn.compact
  def __call__(self, labels: jax.Array, update_stats: bool = False) -> jax.Array:
    layer = nn.Embed(self.num_embeddings, self.features, embedding_init=self.embedding_init, name="embed")
    return _maybe_spectral(layer, labels, self.spectral_norm, update_stats)


CONV_IMPLS = ("lax", "shifted_matmul")


def _same_or_valid_padding(padding: Any, kernel_size: Sequence[int]) -> list[tuple[int, int]] | None:
  """Explicit (low, high) padding per spatial axis for stride 1, or None if `padding` is unsupported."""
  if padding == "SAME":
    return [((k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernel_size]
  if padding == "VALID":
    return [(0, 0) for _ in kernel_size]
  if isinstance(padding, (list, tuple)) and all(isinstance(p, (list, tuple)) for p in padding):
    return [tuple(int(v) for v in p) for p in padding]
  return None


class ShiftedMatmulConv(nn.Module):
  """A stride-1 2-D convolution written as one matmul over the kernel's shifted copies of the input.

  Same parameters (`kernel` [kh, kw, in, out], `bias` [out]) and the same result as `nn.Conv` with
  SAME, VALID or explicit padding: the kh·kw shifted windows of the padded input are stacked along
  channels ([B, H, W, kh·kw·in], im2col) and multiplied by the kernel reshaped to [kh·kw·in, out].
  Why: XLA:CPU computes a convolution's weight gradient several times slower than a matmul of the
  same size (FACTS.md, speed section); here every gradient is a matmul. One matmul rather than one
  per tap keeps the program small (compiles in a fraction of the time) at the cost of kh·kw times
  the input's memory. On GPU and TPU the native convolution is the right one.
  """
  features: int
  kernel_size: Sequence[int]
  padding: Sequence[tuple[int, int]]
  use_bias: bool = True
  kernel_init: Initializer = nn.initializers.lecun_normal()
  dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel_h, kernel_w = self.kernel_size
    in_features = x.shape[-1]
    kernel = self.param("kernel", self.kernel_init, (kernel_h, kernel_w, in_features, self.features))
    if self.dtype is not None:
      x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    (pad_top, pad_bottom), (pad_left, pad_right) = self.padding
    padded = jnp.pad(x, ((0, 0), (pad_top, pad_bottom), (pad_left, pad_right), (0, 0)))
    out_h = padded.shape[1] - kernel_h + 1
    out_w = padded.shape[2] - kernel_w + 1
    windows = [padded[:, i:i + out_h, j:j + out_w] for i in range(kernel_h) for j in range(kernel_w)]
    stacked = windows[0] if len(windows) == 1 else jnp.concatenate(windows, axis=-1)
    y = jnp.einsum("bhwc,cd->bhwd", stacked,
                   kernel.reshape(kernel_h * kernel_w * in_features, self.features))
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,)).astype(y.dtype)
    return y


class Conv(nn.Module):
  """`nn.Conv` (NHWC, SAME padding by default) with optional spectral norm.

  `conv_impl='shifted_matmul'` computes stride-1 convolutions as `ShiftedMatmulConv` (identical
  parameter names and shapes, so checkpoints do not depend on it); other strides fall back to lax.
  """
  features: int
  kernel_size: Sequence[int] = (3, 3)
  strides: Sequence[int] = (1, 1)
  padding: Any = "SAME"
  spectral_norm: bool = False
  use_bias: bool = True
  kernel_init: Initializer = nn.initializers.lecun_normal()
  conv_impl: str = "lax"
  dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False) -> jax.Array:
    if self.conv_impl not in CONV_IMPLS:
      raise ValueError(f"conv_impl={self.conv_impl!r} is not one of {CONV_IMPLS}.")
    explicit_padding = _same_or_valid_padding(self.padding, self.kernel_size)
    if (self.conv_impl == "shifted_matmul" and tuple(self.strides) == (1, 1)
        and explicit_padding is not None):
      layer = ShiftedMatmulConv(self.features, tuple(self.kernel_size), explicit_padding,
                                use_bias=self.use_bias, kernel_init=self.kernel_init, dtype=self.dtype,
                                name="conv")
    else:
      layer = nn.Conv(self.features, tuple(self.kernel_size), strides=tuple(self.strides),
                      padding=self.padding, use_bias=self.use_bias, kernel_init=self.kernel_init,
                      dtype=self.dtype, name="conv")
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


def max_pool_2x2(x: jax.Array) -> jax.Array:
  """2×2 max pooling with stride 2 (VALID: an odd last row or column is dropped), as `nn.max_pool(x,
  (2, 2), (2, 2))` but as a reshape and a max. Its gradient is XLA:CPU's plain reduction instead of
  select-and-scatter, several times faster there; it equals max_pool's wherever a window has one
  maximum (ties split the gradient; after a ReLU ties are zeros, whose gradient the ReLU drops)."""
  b, h, w, c = x.shape
  x = x[:, :h - h % 2, :w - w % 2]
  return jnp.max(x.reshape(b, h // 2, 2, w // 2, 2, c), axis=(2, 4))


def count_params(params: Any) -> int:
  """Number of scalars in a parameter tree."""
  return int(sum(jnp.size(p) for p in jax.tree_util.tree_leaves(params)))


def find_kernel(tree: Any) -> Any:
  """The `kernel` inside a layer's parameter subtree, however deep a wrapper (spectral norm) put it."""
  if hasattr(tree, "items"):
    if "kernel" in tree:
      return tree["kernel"]
    for value in tree.values():
      found = find_kernel(value)
      if found is not None:
        return found
  return None
