"""`TrainedGenerator`: the one interface through which a trained generator is used.

The generate command, evaluation and every explanation (latent directions, GANSpace, SeFa, attention)
see a generator only through it: sampling (latent and condition), the latent layout, rendering (jitted,
to host arrays), intermediate features and attention maps (both from the model's own `(images, aux)`
output), the weights that read z (a method of the model) and the attention layers' γ. Adapters build it
from a model and its variables: `generators.mnist` and `generators.words`; `ganxai_jax.kinds` loads one
from a run's folder.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

Condition = dict[str, Any]
# (variables, z [B, latent_dim], condition) -> (images [B, H, W, 1] in [-1, 1], aux)
AuxFn = Callable[[Any, jax.Array, Condition], tuple[jax.Array, Mapping[str, Any]]]


@dataclasses.dataclass(frozen=True, eq=False)
class TrainedGenerator:
  """A trained generator in inference mode.

  `apply_fn(variables, z, condition) -> images [B, H, W, 1]` in [-1, 1] and `features_fn(variables, z,
  condition) -> [B, F]` (an early layer's activations, flattened) are pure and jit-friendly; G's
  `variables` are fixed, never trained here. `aux_fn` gives the model's whole `(images, aux)` output,
  with `aux['attention']` the maps of its self-attention layers. `weight_fn(variables)` is the matrix
  `W [out, latent_dim]` of the layers that act linearly on z (SeFa). `kind` is 'digits' or 'words'
  (which reconstructor and figures fit), `ink_polarity` the measurement polarity ('bright' for MNIST,
  'dark' for words). `latent_layout` names the parts of a full latent and their sizes.
  """
  name: str
  kind: str
  latent_dim: int
  ink_polarity: str
  variables: Any
  apply_fn: Callable[[Any, jax.Array, Condition], jax.Array]
  features_fn: Callable[[Any, jax.Array, Condition], jax.Array]
  condition_fn: Callable[[jax.Array, int], Condition]
  weight_fn: Callable[[Any], np.ndarray]
  num_classes: int = 0  # CGAN: the labels a figure can sweep.
  word_length: int = 0  # ScrabbleGAN: every sampled word has this many characters.
  step: int = 0  # The training step of the restored checkpoint.
  aux_fn: AuxFn | None = None
  gamma_fn: Callable[[Any], dict[str, float]] | None = None
  # (rng, n) -> (z, condition) drawn together as training drew them; default: z and condition apart.
  sample_fn: Callable[[jax.Array, int], tuple[jax.Array, Condition]] | None = None
  # Words: word length -> condition_fn of words of that length.
  conditions_of_length: Callable[[int], Callable[[jax.Array, int], Condition]] | None = None
  latent_layout: Mapping[str, int] = dataclasses.field(default_factory=dict)
  dataset: str = ""  # The data set the generator was trained on.
  module: Any = None  # The flax module, for callers that need its fields (e.g. z_dim).
  noise: str = "normal"  # The prior of z in training: 'normal' N(0, I), or 'uniform' U[-1, 1] (InfoGAN's).

  def sample_latent(self, rng: jax.Array, n: int) -> jax.Array:
    """`n` latent vectors from the prior the generator was trained with (`noise`)."""
    if self.noise == "uniform":
      return jax.random.uniform(rng, (n, self.latent_dim), minval=-1.0, maxval=1.0)
    return jax.random.normal(rng, (n, self.latent_dim))

  def sample_condition(self, rng: jax.Array, n: int) -> Condition:
    """`n` conditions: labels (CGAN), codes (InfoGAN), words (ScrabbleGAN); `{}` for a plain GAN."""
    return self.condition_fn(rng, n)

  def sample(self, rng: jax.Array, n: int) -> tuple[jax.Array, Condition]:
    """`n` latents and conditions drawn from one key."""
    if self.sample_fn is not None:
      return self.sample_fn(rng, n)
    z_key, c_key = jax.random.split(rng)
    return self.sample_latent(z_key, n), self.sample_condition(c_key, n)

  def generate(self, latent: jax.Array, condition: Condition) -> jax.Array:
    """Images `[B, H, W, 1]` in [-1, 1]. Inside a jitted function call `apply_fn(variables, ...)` with
    the variables as an argument instead: closed over, they become constants that XLA folds
    (ScrabbleGAN's spectral norms took minutes to compile)."""
    return self.apply_fn(self.variables, latent, condition)

  def features(self, latent: jax.Array, condition: Condition) -> jax.Array:
    """Early-layer activations `[B, F]` (GANSpace's PCA space); callable inside jit."""
    return self.features_fn(self.variables, latent, condition)

  def first_layer_weight(self) -> np.ndarray:
    """`W [out, latent_dim]`: the first layer(s) acting on z, rows as output units (SeFa)."""
    return np.asarray(self.weight_fn(self.variables), np.float64)

  def attention_gammas(self) -> dict[str, float]:
    """γ of every self-attention layer by name (empty without attention)."""
    return self.gamma_fn(self.variables) if self.gamma_fn is not None else {}

  def with_word_length(self, length: int) -> "TrainedGenerator":
    """The same word generator sampling words of `length` characters (itself for digits)."""
    if self.conditions_of_length is None or length == self.word_length:
      return self
    return dataclasses.replace(self, word_length=length, condition_fn=self.conditions_of_length(length))

  # ---- Rendering on the host: one compiled call per input shape ----------------------------------

  def _jitted_images(self) -> Callable[..., jax.Array]:
    return _jit(self.apply_fn)

  def _jitted_maps(self) -> Callable[..., tuple[jax.Array, Any]]:
    return _jit_maps(self.aux_fn or self.apply_fn, self.aux_fn is not None)

  def render(self, latent: Any, condition: Condition) -> np.ndarray:
    """Images as a host array `[B, H, W, 1]` in [-1, 1], for host-side inputs."""
    return np.asarray(self._jitted_images()(self.variables, jnp.asarray(latent), _device(condition)))

  def render_with_maps(self, latent: Any, condition: Condition) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Images and the maps `[B, N_queries, N_keys]` of every self-attention layer, by layer name."""
    images, maps = jax.device_get(self._jitted_maps()(self.variables, jnp.asarray(latent), _device(condition)))
    return np.asarray(images), {name: np.asarray(m) for name, m in maps.items()}


@functools.lru_cache(maxsize=64)
def _jit(apply_fn: Callable) -> Callable:
  """One compiled render per generator function (adapters give one function per model), however many
  `TrainedGenerator`s wrap it: sample figures during training rebuild the wrapper, not the program."""
  return jax.jit(apply_fn)


@functools.lru_cache(maxsize=64)
def _jit_maps(fn: Callable, has_aux: bool) -> Callable:
  """The compiled `(images, attention maps)` of `fn`, an aux function or a plain image function."""

  def images_and_maps(variables, z, condition):
    images, aux = fn(variables, z, condition) if has_aux else (fn(variables, z, condition), {})
    return images, dict(aux.get("attention", {}))

  return jax.jit(images_and_maps)


def _device(condition: Condition) -> Condition:
  return {k: jnp.asarray(v) for k, v in condition.items()}
