"""ScrabbleGAN's generator and discriminator (Fogel et al., CVPR 2020), after the official BigGAN-based code.

Generator: z (128) is split into 4 chunks of 32. The *character filter bank* is one spectral-normed
linear map from (one-hot character ⊗ first chunk) to a 4×4×512 patch per character; the patches of a
word are laid side by side into a 4 × 4n map, so neighbouring characters meet only through the
3×3 convolutions that follow. Three residual up-blocks (512→256→128→64; upsampling 2×2, 2×2, 2×1)
give 32 × 16n; their batch norms are conditioned on the block's own noise chunk (gain and bias linear
in it). BN, ReLU, a 3×3 convolution to one channel and tanh finish the image. Optional SAGAN
self-attention after the blocks whose output height is listed in `attention_resolutions`; the maps
come back in `aux['attention']`, the first up-block's output (flattened) in `aux['features']`, and
`Generator.latent_weight(params)` gives the weights that read z.

Style codes (InfoGAN's, under content conditioning; `configs/scrabble.py:info`): with `num_categorical`
and/or `num_continuous` set, G takes a code vector `codes` [B, num_categorical + num_continuous] (the
one-hot categorical value, then the continuous codes; `code_vector`) and concatenates it to *every* z
chunk, so the code reaches each layer that style reaches: the filter bank (every character's patch) and
the conditional batch norms of every up-block. This is how BigGAN (ScrabbleGAN's base) gives its class
embedding to every block; putting the code into z instead would hand it to one chunk only, i.e. to
either the glyph shapes or one block's gains, and take entries away from the noise. Without `codes` G
uses categorical value 0 and continuous codes 0 (`default_codes`): callers that know nothing of codes
(generate, explain, serve) write in the hand of value 0. D gets a Q head: its trunk's last features,
averaged over the positions inside each word's true width (a width-independent summary, as words vary
in length), then a small MLP to `aux['q_logits']` [B, num_categorical] and `aux['q_mean']`
[B, num_continuous] (a fixed-variance Gaussian's mean, so Q's loss on continuous codes is a squared
error). Without codes neither model gains a parameter: their trees and outputs are as before.

Discriminator: four residual down-blocks 1→64→512→1024→1024 (average-pooling 2×2 in the first
three), ReLU, a sum over the spatial positions inside each image's true width, and a linear map to
one logit. It is fully convolutional, so it reads any width.

Every layer is spectrally normalised (state in the `spectral` collection) and initialised N(0, 0.02).
`width_multiplier` scales every channel count (1.0 is the paper's model), for CPU and test variants.
`dtype` is the compute dtype of the convolutions, matmuls and batch norms (`COMPUTE_DTYPES`, from
`config.compute_dtype`); parameters, batch and spectral-norm statistics stay float32, and G's images
and D's logits come out float32, so the losses and the gradients taken at G's images are float32.
Character ids are those of `ganxai_jax.data.text` (1..80); id 0 (the blank) marks padding and gets
a zero patch.
"""
from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganxai_jax.data import text
from ganxai_jax.models import layers
from ganxai_jax.models.attention import SelfAttention

# The official init ('N02') for every weight of G and D.
WEIGHT_INIT = nn.initializers.normal(stddev=0.02)
PATCH_SIZE = 4  # Each character starts as a 4×4 patch; the blocks upsample it to 32×16.
WIDTH_PER_CHAR = PATCH_SIZE * 4  # 16 px per character, as the data sets' word images.
G_CHANNELS = (512, 256, 128, 64)
G_UPSAMPLING = ((2, 2), (2, 2), (2, 1))
D_CHANNELS = (64, 512, 1024, 1024)
D_DOWNSAMPLE = (True, True, True, False)
D_DOWNSAMPLING_FACTOR = 8  # Three 2×2 poolings.
NUM_SYMBOLS = len(text.ALPHABET)
# config.compute_dtype -> the dtype G, D and R compute in (parameters stay float32).
COMPUTE_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def compute_dtype(name: str) -> Any:
  """The jnp dtype of a `config.compute_dtype` name ('float32' or 'bfloat16')."""
  if name not in COMPUTE_DTYPES:
    raise ValueError(f"compute_dtype={name!r} is not one of {', '.join(map(repr, COMPUTE_DTYPES))}.")
  return COMPUTE_DTYPES[name]


def resolve_conv_impl(conv_impl: str, backend: str | None = None) -> str:
  """'auto' picks shifted matmuls on CPU (XLA:CPU's conv weight gradient is slow) and lax elsewhere."""
  if conv_impl != "auto":
    return conv_impl
  return "shifted_matmul" if (backend or jax.default_backend()) == "cpu" else "lax"


def scaled(channels: int, width_multiplier: float) -> int:
  """A channel count scaled by the width multiplier (at least 1)."""
  return max(1, int(round(channels * width_multiplier)))


class CharFilterBankLayer(nn.Module):
  """The unnormalised filter bank: `kernel` [num_symbols · chunk, features] as a `nn.Dense` would hold
  it for the input one_hot(char) ⊗ z_chunk (character-major). No bias: a bias shared by all
  characters is not spectrally normalised and soon outweighs the normalised, character-dependent
  part, so every character starts from the same patch (measured: after 1000 steps its RMS was twice
  that of z·W[c], and the samples repeated one glyph).

  Computed as z_chunk @ kernel for every symbol and then gathering the word's symbols, which is the
  same product as the one-hot one without materialising it.
  """
  features: int
  num_symbols: int = NUM_SYMBOLS
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z_chunk: jax.Array, chars: jax.Array) -> jax.Array:
    chunk = z_chunk.shape[-1]
    kernel = self.param("kernel", WEIGHT_INIT, (self.num_symbols * chunk, self.features))
    kernel = kernel.astype(self.dtype).reshape(self.num_symbols, chunk, self.features)
    per_symbol = jnp.einsum("bz,szk->bsk", z_chunk.astype(self.dtype), kernel)
    symbol_index = jnp.clip(chars - 1, 0, self.num_symbols - 1)
    patches = jnp.take_along_axis(per_symbol, symbol_index[:, :, None], axis=1)
    return jnp.where((chars > 0)[:, :, None], patches, 0.0)


class CharFilterBank(nn.Module):
  """Spectral-normed character filter bank: (z_chunk [B, Z], chars [B, n]) -> patches [B, 4, 4n, C]."""
  channels: int
  spectral_norm: bool = True
  dtype: Any = jnp.float32
  num_symbols: int = NUM_SYMBOLS

  @nn.compact
  def __call__(self, z_chunk: jax.Array, chars: jax.Array, update_stats: bool = False) -> jax.Array:
    layer = CharFilterBankLayer(PATCH_SIZE * PATCH_SIZE * self.channels, num_symbols=self.num_symbols,
                                dtype=self.dtype, name="filter_bank")
    if self.spectral_norm:
      flat = nn.SpectralNorm(layer, collection_name=layers.SPECTRAL)(z_chunk, chars,
                                                                      update_stats=update_stats)
    else:
      flat = layer(z_chunk, chars)
    batch, length = chars.shape
    patches = flat.reshape(batch, length, PATCH_SIZE, PATCH_SIZE, self.channels)
    # Character i covers columns 4i..4i+3 of the 4 × 4n map.
    return patches.transpose(0, 2, 1, 3, 4).reshape(batch, PATCH_SIZE, length * PATCH_SIZE, self.channels)


class ConditionalBatchNorm(nn.Module):
  """BatchNorm without its own affine, then `x · (1 + gain(z)) + bias(z)` (BigGAN's ccbn)."""
  spectral_norm: bool = True
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, z_chunk: jax.Array, train: bool, update_stats: bool) -> jax.Array:
    channels = x.shape[-1]
    # Flax reduces the batch statistics in float32 whatever the dtype; only the output is cast.
    normed = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, use_scale=False,
                          use_bias=False, dtype=self.dtype, name="batch_norm")(x)
    gain = layers.Dense(channels, spectral_norm=self.spectral_norm, kernel_init=WEIGHT_INIT,
                        dtype=self.dtype, name="gain")(z_chunk, update_stats)
    bias = layers.Dense(channels, spectral_norm=self.spectral_norm, kernel_init=WEIGHT_INIT,
                        dtype=self.dtype, name="bias")(z_chunk, update_stats)
    return normed * (1.0 + gain[:, None, None, :]) + bias[:, None, None, :]


def upsample(x: jax.Array, factors: Sequence[int]) -> jax.Array:
  """Nearest-neighbour upsampling by integer factors (height, width)."""
  factor_h, factor_w = factors
  return jnp.repeat(jnp.repeat(x, factor_h, axis=1), factor_w, axis=2)


class GeneratorBlock(nn.Module):
  """BigGAN up-block: CBN, ReLU, upsample, conv3×3, CBN, ReLU, conv3×3, plus upsample + conv1×1."""
  channels: int
  upsampling: Sequence[int]
  spectral_norm: bool = True
  conv_impl: str = "lax"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, z_chunk: jax.Array, train: bool, update_stats: bool) -> jax.Array:
    def conv(features, kernel, name):
      return layers.Conv(features, (kernel, kernel), spectral_norm=self.spectral_norm,
                         kernel_init=WEIGHT_INIT, conv_impl=self.conv_impl, dtype=self.dtype, name=name)

    h = ConditionalBatchNorm(self.spectral_norm, self.dtype, name="cbn1")(x, z_chunk, train, update_stats)
    h = upsample(nn.relu(h), self.upsampling)
    h = conv(self.channels, 3, "conv1")(h, update_stats)
    h = ConditionalBatchNorm(self.spectral_norm, self.dtype, name="cbn2")(h, z_chunk, train, update_stats)
    h = conv(self.channels, 3, "conv2")(nn.relu(h), update_stats)
    shortcut = conv(self.channels, 1, "shortcut")(upsample(x, self.upsampling), update_stats)
    return h + shortcut


def mask_columns(images: jax.Array, widths: jax.Array, fill: float) -> jax.Array:
  """Sets the columns at or beyond each image's width to `fill` (padding looks like the data's)."""
  columns = jnp.arange(images.shape[2])[None, None, :, None]
  return jnp.where(columns < widths[:, None, None, None], images, fill)


def code_vector(categorical: jax.Array | None, continuous: jax.Array | None, num_categorical: int
                ) -> jax.Array:
  """G's code input `[B, num_categorical + num_continuous]`: one_hot(categorical) then the continuous codes
  (either part absent when its count is 0)."""
  parts = []
  if num_categorical:
    parts.append(jax.nn.one_hot(categorical, num_categorical, dtype=jnp.float32))
  if continuous is not None and continuous.shape[-1]:  # No continuous codes: None or [B, 0].
    parts.append(jnp.asarray(continuous, jnp.float32))
  return jnp.concatenate(parts, axis=-1)


class Generator(nn.Module):
  """ScrabbleGAN's G: `(z [B, 128], chars [B, n], codes [B, C] or None) -> (images [B, 32, 16n, 1], aux)`.

  `aux = {'attention': {'attention_<height>': maps}}` (empty without attention). Rows whose chars end
  in blanks (id 0, padding of shorter words) come out white (+1) past 16 px per real character.
  """
  width_multiplier: float = 1.0
  z_dim: int = 128
  spectral_norm: bool = True
  attention_resolutions: Sequence[int] = ()
  conv_impl: str = "lax"
  dtype: Any = jnp.float32
  # The symbols G writes, in id order (one filter-bank entry each): IAM's 80 by default, or a custom
  # alphabet (`text.alphabet_of(config)`). The model carries it, so whatever loads G can encode text.
  alphabet: str = text.ALPHABET
  # InfoGAN's style codes (module docstring); 0 and 0: none, and no parameter reads them.
  num_categorical: int = 0
  num_continuous: int = 0

  @property
  def code_dim(self) -> int:
    return self.num_categorical + self.num_continuous

  def default_codes(self, batch_size: int) -> jax.Array:
    """The codes of callers that give none: categorical value 0, continuous codes 0."""
    categorical = jnp.zeros((batch_size,), jnp.int32) if self.num_categorical else None
    return code_vector(categorical, jnp.zeros((batch_size, self.num_continuous)), self.num_categorical)

  @nn.compact
  def __call__(self, z: jax.Array, chars: jax.Array, train: bool = False,
               update_stats: bool | None = None, codes: jax.Array | None = None
               ) -> tuple[jax.Array, dict[str, Any]]:
    update_stats = train if update_stats is None else update_stats
    num_chunks = len(G_UPSAMPLING) + 1
    if self.z_dim % num_chunks or z.shape[-1] != self.z_dim:
      raise ValueError(f"z must have {self.z_dim} entries, a multiple of {num_chunks}; got {z.shape}.")
    z_chunks = jnp.split(z, num_chunks, axis=-1)
    if self.code_dim:
      codes = self.default_codes(z.shape[0]) if codes is None else codes
      if codes.shape != (z.shape[0], self.code_dim):
        raise ValueError(f"codes must be [{z.shape[0]}, {self.code_dim}]; got {codes.shape}.")
      z_chunks = [jnp.concatenate([chunk, codes.astype(chunk.dtype)], axis=-1) for chunk in z_chunks]
    channels = [scaled(c, self.width_multiplier) for c in G_CHANNELS]
    x = CharFilterBank(channels[0], self.spectral_norm, self.dtype, len(self.alphabet),
                       name="char_filter_bank")(
        z_chunks[0], chars, update_stats)
    attention_maps, features = {}, None
    for i, (out_channels, factors) in enumerate(zip(channels[1:], G_UPSAMPLING)):
      x = GeneratorBlock(out_channels, factors, self.spectral_norm, self.conv_impl, self.dtype,
                         name=f"block{i}")(x, z_chunks[i + 1], train, update_stats)
      if features is None:  # The first up-block (8 × 8L) mixes the filter bank's chunk with its own.
        features = x.reshape(x.shape[0], -1).astype(jnp.float32)
      if x.shape[1] in self.attention_resolutions:
        name = f"attention_{x.shape[1]}"
        x, attention_maps[name] = SelfAttention(self.spectral_norm, name=name)(x, update_stats)
    x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=self.dtype,
                     name="output_batch_norm")(x)
    x = layers.Conv(1, (3, 3), spectral_norm=self.spectral_norm, kernel_init=WEIGHT_INIT,
                    conv_impl=self.conv_impl, dtype=self.dtype, name="output_conv")(nn.relu(x), update_stats)
    # float32 images: D and R read them in their own dtype, and the step's gradients at the images
    # (gradient balancing) are float32.
    images = mask_columns(jnp.tanh(x.astype(jnp.float32)), text_widths(chars), fill=1.0)
    return images, {"attention": attention_maps, "features": features}

  def latent_weight(self, params: Any) -> np.ndarray:
    """SeFa's `W [out, z_dim]`: every layer that reads a z chunk, as rows over all of z.

    The filter bank maps (symbol, chunk 0) to a patch: one row per (symbol, output unit). Each block's
    conditional batch norms map their own chunk to gains and biases. A layer's rows are zero outside
    the columns of its chunk, so `WᵀW` sums the chunks' Gram matrices, as SeFa does for BigGAN. With
    style codes each layer's input is its chunk followed by the codes; only the chunk's rows are kept.
    """
    num_chunks = len(G_UPSAMPLING) + 1
    chunk = self.z_dim // num_chunks
    bank = np.asarray(layers.find_kernel(params["char_filter_bank"]))  # [symbols · (chunk + codes), features]
    per_symbol = bank.reshape(-1, chunk + self.code_dim, bank.shape[-1])[:, :chunk]
    per_symbol = per_symbol.transpose(0, 2, 1).reshape(-1, chunk)
    rows = [np.pad(per_symbol, ((0, 0), (0, self.z_dim - chunk)))]
    for block in range(num_chunks - 1):
      start = (block + 1) * chunk
      for norm in ("cbn1", "cbn2"):
        for part in ("gain", "bias"):
          kernel = np.asarray(layers.find_kernel(params[f"block{block}"][norm][part]))[:chunk]  # [chunk, channels]
          rows.append(np.pad(kernel.T, ((0, 0), (start, self.z_dim - start - chunk))))
    return np.concatenate(rows, axis=0)


def text_widths(chars: jax.Array) -> jax.Array:
  """Image width of each word: 16 px per non-blank character."""
  return (chars > 0).sum(axis=-1) * WIDTH_PER_CHAR


class DiscriminatorBlock(nn.Module):
  """BigGAN down-block: [ReLU], conv3×3, ReLU, conv3×3, [avg-pool]; shortcut conv1×1 [+ pool]."""
  channels: int
  downsample: bool
  preactivation: bool
  spectral_norm: bool = True
  conv_impl: str = "lax"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool) -> jax.Array:
    def conv(features, kernel, name):
      return layers.Conv(features, (kernel, kernel), spectral_norm=self.spectral_norm,
                         kernel_init=WEIGHT_INIT, conv_impl=self.conv_impl, dtype=self.dtype, name=name)

    def pool(v):
      return nn.avg_pool(v, (2, 2), strides=(2, 2)) if self.downsample else v

    h = nn.relu(x) if self.preactivation else x
    h = conv(self.channels, 3, "conv1")(h, update_stats)
    h = pool(conv(self.channels, 3, "conv2")(nn.relu(h), update_stats))
    shortcut = x
    if self.downsample or x.shape[-1] != self.channels:
      # As BigGAN: the 1×1 shortcut before pooling in pre-activated blocks, after it in the first.
      if self.preactivation:
        shortcut = pool(conv(self.channels, 1, "shortcut")(x, update_stats))
      else:
        shortcut = conv(self.channels, 1, "shortcut")(pool(x), update_stats)
    return h + shortcut


class Discriminator(nn.Module):
  """ScrabbleGAN's D: `(images [B, 32, W, 1], widths [B] or None) -> (logits [B], aux)`.

  With `widths`, only feature columns that see the image's own width enter the sum (a column of the
  final 1/8-resolution map covers 8 input columns), so white padding of a bucket does not count. With
  style codes, `aux` also holds Q's `q_logits` and `q_mean` (module docstring).
  """
  width_multiplier: float = 1.0
  spectral_norm: bool = True
  attention_resolutions: Sequence[int] = ()
  conv_impl: str = "lax"
  dtype: Any = jnp.float32
  num_categorical: int = 0
  num_continuous: int = 0
  q_hidden: int = 128  # Q's hidden layer (InfoGAN's Q: one FC layer of 128 on D's trunk).

  @nn.compact
  def __call__(self, images: jax.Array, widths: jax.Array | None = None,
               update_stats: bool = False) -> tuple[jax.Array, dict[str, Any]]:
    x = images
    attention_maps = {}
    for i, (channels, downsample) in enumerate(zip(D_CHANNELS, D_DOWNSAMPLE)):
      x = DiscriminatorBlock(scaled(channels, self.width_multiplier), downsample, preactivation=i > 0,
                             spectral_norm=self.spectral_norm, conv_impl=self.conv_impl, dtype=self.dtype,
                             name=f"block{i}")(x, update_stats)
      if x.shape[1] in self.attention_resolutions and f"attention_{x.shape[1]}" not in attention_maps:
        name = f"attention_{x.shape[1]}"
        x, attention_maps[name] = SelfAttention(self.spectral_norm, name=name)(x, update_stats)
    # The sum over up to 4 × W/8 positions and the one-logit layer run in float32: a bfloat16 sum of
    # that many terms loses the logit's low bits, and the layer is a negligible share of the FLOPs.
    x = nn.relu(x).astype(jnp.float32)
    if widths is not None:
      feature_widths = -(-widths // D_DOWNSAMPLING_FACTOR)  # ceil: a partly covered column counts.
      x = mask_columns(x, feature_widths, fill=0.0)
    pooled = jnp.sum(x, axis=(1, 2))
    logits = layers.Dense(1, spectral_norm=self.spectral_norm, kernel_init=WEIGHT_INIT, name="output")(
        pooled, update_stats)
    aux = {"attention": attention_maps}
    if self.num_categorical or self.num_continuous:
      # Q: the mean over the word's own positions (the masked sum over their count), so that Q's input
      # has one scale for every word length, normalised per word to zero mean and unit variance over the
      # features (a layer norm without parameters): D's trunk, trained for its critic, gives features of
      # about 0.01 on the cpu model, through which Q's dense layers learned nothing in 500 steps (its
      # cross-entropy stayed at ln 10). Plain dense layers: no spectral norm (Q is a classifier, not a
      # critic whose Lipschitz constant matters) and no batch norm (Q of a word never depends on the
      # rest of its batch).
      columns = (jnp.full((x.shape[0],), x.shape[2]) if widths is None
                 else jnp.clip(feature_widths, 1, x.shape[2]))
      mean_features = pooled / (x.shape[1] * columns)[:, None].astype(jnp.float32)
      mean_features = nn.LayerNorm(use_bias=False, use_scale=False, name="q_norm")(mean_features)
      q = nn.leaky_relu(nn.Dense(self.q_hidden, kernel_init=WEIGHT_INIT, name="q_hidden")(mean_features), 0.2)
      aux["q_logits"] = nn.Dense(max(self.num_categorical, 1), kernel_init=WEIGHT_INIT, name="q_categorical")(q)
      aux["q_mean"] = nn.Dense(max(self.num_continuous, 1), kernel_init=WEIGHT_INIT, name="q_continuous")(q)
    return logits[:, 0], aux
