"""The one small interface every latent-space explanation goes through: `ExplainableGenerator`.

A frozen, trained generator seen as a function of a latent vector `z [B, latent_dim]` and a condition:
an empty dict for the unconditional GAN, `{'labels'}` for CGAN/SAGAN, InfoGAN's codes, or the
characters of a word `{'chars'}` for ScrabbleGAN. Direction discovery, GANSpace and SeFa only ever
call `sample_latent`, `sample_condition`, `generate`, `features` and `first_layer_weight`, so they work
for every generator of the project. `load_generator(workdir)` builds one from a training run's folder.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from ganxai_jax.errors import UsageError

Condition = dict[str, Any]


@dataclasses.dataclass(frozen=True, eq=False)
class ExplainableGenerator:
  """A trained generator in inference mode, behind the interface the explanations use.

  `apply_fn(variables, z, condition) -> images [B, H, W, 1]` in [-1, 1] and `features_fn(variables, z,
  condition) -> [B, F]` (an early layer's activations, flattened) are pure and jit-friendly; G's
  `variables` are fixed, never trained here. `first_layer_weight` is the matrix `W [out, latent_dim]`
  of the layers that act linearly on z (SeFa). `kind` is 'digits' or 'words' (which reconstructor and
  figures fit), `ink_polarity` is the measurement polarity ('bright' for MNIST, 'dark' for words).
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

  def sample_latent(self, rng: jax.Array, n: int) -> jax.Array:
    """`n` latent vectors from the prior the generator was trained with, N(0, I)."""
    return jax.random.normal(rng, (n, self.latent_dim))

  def sample_condition(self, rng: jax.Array, n: int) -> Condition:
    """`n` conditions: labels (CGAN), codes (InfoGAN), words (ScrabbleGAN); `{}` for a plain GAN."""
    return self.condition_fn(rng, n)

  def generate(self, latent: jax.Array, condition: Condition) -> jax.Array:
    """Images `[B, H, W, 1]` in [-1, 1] of G in inference mode. Inside a jitted function call
    `apply_fn(variables, ...)` with the variables as an argument instead: closed over, they become
    constants that XLA folds (ScrabbleGAN's spectral norms took minutes to compile)."""
    return self.apply_fn(self.variables, latent, condition)

  def features(self, latent: jax.Array, condition: Condition) -> jax.Array:
    """Early-layer activations `[B, F]` (GANSpace's PCA space); callable inside jit."""
    return self.features_fn(self.variables, latent, condition)

  def first_layer_weight(self) -> np.ndarray:
    """`W [out, latent_dim]`: the first layer(s) acting on z, rows as output units (SeFa)."""
    return np.asarray(self.weight_fn(self.variables), np.float64)


def _find_kernel(tree: Any) -> jax.Array:
  """The `kernel` inside a layer's parameter subtree, however deep a wrapper put it."""
  if isinstance(tree, dict) or hasattr(tree, "items"):
    if "kernel" in tree:
      return tree["kernel"]
    for value in tree.values():
      found = _find_kernel(value)
      if found is not None:
        return found
  return None


def mnist_generator(workdir: str) -> ExplainableGenerator:
  """The MNIST GAN, CGAN, SAGAN or InfoGAN trained in `workdir`; the latent is its noise vector."""
  from ganxai_jax.training import gan_step  # pylint: disable=import-outside-toplevel
  from ganxai_jax.training import trainer  # pylint: disable=import-outside-toplevel
  config, components, state = trainer.restore_for_inference(workdir)
  spec = components.latent_spec
  g_net = state.nets["generator"]
  params = state.ema_params if state.ema_params is not None else g_net.params
  variables = jax.device_get(g_net.variables(params))

  def apply_fn(variables, z, condition):
    images, _ = gan_step.generate(components, variables, {"noise": z, **condition})
    return images

  def features_fn(variables, z, condition):
    # The fully connected layer's output after its batch norm: the first layer with spatial meaning.
    latent = {"noise": z, **condition}
    _, captured = components.generator.apply(
        variables, spec.vector(latent), latent.get("labels"), train=False,
        capture_intermediates=lambda module, _: module.name == "bn_fc", mutable=["intermediates"])
    return jax.nn.relu(captured["intermediates"]["bn_fc"]["__call__"][0])

  def condition_fn(rng, n):
    latent = spec.sample(rng, n)
    return {k: v for k, v in latent.items() if k != "noise"}

  def weight_fn(variables):
    # fc's kernel is [inputs, outputs] with inputs = noise, then InfoGAN codes or the label embedding.
    kernel = np.asarray(_find_kernel(variables["params"]["fc"]))
    return kernel[:spec.noise_dim].T

  return ExplainableGenerator(
      name=f"mnist_{config.model}", kind="digits", latent_dim=spec.noise_dim, ink_polarity="bright",
      variables=variables, apply_fn=apply_fn, features_fn=features_fn, condition_fn=condition_fn,
      weight_fn=weight_fn, num_classes=spec.num_classes, step=int(jax.device_get(state.step)))


def scrabble_weight(params: Any, z_dim: int) -> np.ndarray:
  """SeFa's `W [out, z_dim]` for ScrabbleGAN: every layer that reads a z chunk, as rows over all of z.

  The filter bank maps (symbol, chunk 0) to a patch: one row per (symbol, output unit). Each block's
  conditional batch norms map their own chunk to gains and biases. A layer's rows are zero outside the
  columns of its chunk, so `WᵀW` sums the chunks' Gram matrices, as SeFa does for BigGAN.
  """
  num_chunks = 4
  chunk = z_dim // num_chunks
  rows = []
  bank = np.asarray(_find_kernel(params["char_filter_bank"]))  # [symbols · chunk, features]
  per_symbol = bank.reshape(-1, chunk, bank.shape[-1]).transpose(0, 2, 1).reshape(-1, chunk)
  rows.append(np.pad(per_symbol, ((0, 0), (0, z_dim - chunk))))
  for block in range(num_chunks - 1):
    start = (block + 1) * chunk
    for norm in ("cbn1", "cbn2"):
      for part in ("gain", "bias"):
        kernel = np.asarray(_find_kernel(params[f"block{block}"][norm][part]))  # [chunk, channels]
        rows.append(np.pad(kernel.T, ((0, 0), (start, z_dim - start - chunk))))
  return np.concatenate(rows, axis=0)


def words_of_length(length: int) -> tuple[str, ...]:
  """Lexicon words of exactly `length` characters (the condition pool for ScrabbleGAN)."""
  from ganxai_jax.data import lexicon  # pylint: disable=import-outside-toplevel
  return lexicon.load_lexicon(length, length)


def encode_words(words: list[str] | tuple[str, ...]) -> np.ndarray:
  """Character ids `[B, L]` of equally long words."""
  from ganxai_jax.data import text  # pylint: disable=import-outside-toplevel
  return np.stack([text.encode(w) for w in words]).astype(np.int32)


def scrabble_generator(workdir: str, word_length: int = 6) -> ExplainableGenerator:
  """The ScrabbleGAN trained in `workdir`; the latent is its whole z, the condition a word of
  `word_length` characters drawn from the lexicon (one length: every image has the same width)."""
  from ganxai_jax import generation  # pylint: disable=import-outside-toplevel
  config, generator, variables, step = generation.load_generator(workdir)
  variables = jax.device_get(variables)
  pool = encode_words(words_of_length(word_length))

  def apply_fn(variables, z, condition):
    images, _ = generator.apply(variables, z, condition["chars"], train=False)
    return images

  def features_fn(variables, z, condition):
    # The first up-block's output (8 × 8L): it mixes the filter bank's chunk with the first block's.
    _, captured = generator.apply(
        variables, z, condition["chars"], train=False,
        capture_intermediates=lambda module, _: module.name == "block0", mutable=["intermediates"])
    block = captured["intermediates"]["block0"]["__call__"][0]
    return block.reshape(block.shape[0], -1)

  def condition_fn(rng, n):
    index = jax.random.randint(rng, (n,), 0, len(pool))
    return {"chars": jnp.asarray(pool)[index]}

  return ExplainableGenerator(
      name="scrabblegan", kind="words", latent_dim=int(config.z_dim), ink_polarity="dark",
      variables=variables, apply_fn=apply_fn, features_fn=features_fn, condition_fn=condition_fn,
      weight_fn=lambda v: scrabble_weight(v["params"], int(config.z_dim)), word_length=word_length,
      step=step)


def load_generator(workdir: str, word_length: int = 6) -> ExplainableGenerator:
  """The generator trained in `workdir`, chosen by the `model` its `config.json` names."""
  from ganxai_jax.training import trainer  # pylint: disable=import-outside-toplevel
  if not os.path.isdir(os.path.join(workdir, "checkpoints")):
    raise UsageError(f"{workdir!r} holds no checkpoints/: pass a training run's folder.")
  config = trainer.load_run_config(workdir)
  if config.get("model") == "scrabblegan":
    return scrabble_generator(workdir, word_length)
  if config.get("model") in trainer.MODELS:
    return mnist_generator(workdir)
  raise UsageError(f"{workdir!r} was trained with model={config.get('model')!r}, which no explanation "
                   f"supports; expected one of {trainer.MODELS + ('scrabblegan',)}.")
