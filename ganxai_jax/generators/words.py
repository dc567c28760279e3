"""ScrabbleGAN behind the `TrainedGenerator` interface, and writing text with it.

The latent is the whole z; the condition a word (`{'chars': [B, L]}` character ids). Explanations draw
words of one length from the lexicon, so every image of a batch has the same width. `write_words` and
`text_figure` write any text: one row per style (z), the same z for every word of a row.

A run with style codes (`configs/scrabble.py:info`) takes them in the condition, `categorical` [B] and
`continuous` [B, num_continuous]; a condition without them (the generate command, explanations, the
explorer) writes with categorical value 0 and continuous codes 0 (`scrabblegan.Generator.default_codes`),
so every command works on such a run unchanged, in the hand of value 0.

For the influence explanation: `filter_bank_render_fn` renders with an offset added to the character
filter bank's output (the input whose gradient says how much each character moves each pixel), and
`fresh` is the same G freshly initialised, as training starts it.
"""
from __future__ import annotations

import functools
import os
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import matplotlib.figure
import ml_collections
import numpy as np
from absl import logging

from ganxai_jax.data import lexicon
from ganxai_jax.data import text as text_lib
from ganxai_jax.errors import UsageError
from ganxai_jax.generators.interface import Condition, TrainedGenerator
from ganxai_jax.models import scrabblegan
from ganxai_jax.models.attention import attention_gammas
from ganxai_jax.viz import handwriting as handwriting_viz

DEFAULT_WORD_LENGTH = 6


def build_generator(config: ml_collections.ConfigDict) -> scrabblegan.Generator:
  """G of the configured size and alphabet (`text.alphabet_of`); `conv_impl='auto'` resolved for this
  machine's backend."""
  return scrabblegan.Generator(width_multiplier=config.width_multiplier, z_dim=config.z_dim,
                               attention_resolutions=tuple(config.g_attention),
                               conv_impl=scrabblegan.resolve_conv_impl(config.conv_impl),
                               alphabet=text_lib.alphabet_of(config).symbols,
                               # Run folders from before the style codes have none.
                               num_categorical=config.get("num_categorical", 0),
                               num_continuous=config.get("num_continuous", 0))


@functools.lru_cache(maxsize=16)
def _alphabet(symbols: str) -> text_lib.Alphabet:
  return text_lib.IAM if symbols == text_lib.ALPHABET else text_lib.Alphabet(
      symbols, name=f"this generator's {len(symbols)}-symbol alphabet")


def alphabet_of(generator: TrainedGenerator | scrabblegan.Generator) -> text_lib.Alphabet:
  """The alphabet a word generator (or its module) writes."""
  module = generator.module if isinstance(generator, TrainedGenerator) else generator
  return _alphabet(getattr(module, "alphabet", text_lib.ALPHABET))


def encode_words(words: Sequence[str], alphabet: text_lib.Alphabet = text_lib.IAM) -> np.ndarray:
  """Character ids `[B, L]` of equally long words."""
  return np.stack([alphabet.encode(w) for w in words]).astype(np.int32)


@functools.lru_cache(maxsize=32)
def lexicon_conditions(length: int, alphabet: text_lib.Alphabet = text_lib.IAM, lexicon_file: str = ""):
  """`(rng, n) -> {'chars': [n, length]}`: lexicon words of exactly `length` characters (the built-in
  lexicon, or the file `lexicon_file`), written in `alphabet`."""
  pool = jnp.asarray(encode_words(lexicon.load_lexicon(length, length, path=lexicon_file, alphabet=alphabet),
                                  alphabet))

  def condition_fn(rng: jax.Array, n: int) -> Condition:
    return {"chars": pool[jax.random.randint(rng, (n,), 0, len(pool))]}

  return condition_fn


@functools.lru_cache(maxsize=16)
def _model_functions(module: scrabblegan.Generator):
  """(aux_fn, apply_fn, features_fn) of G `module`: one set per model, so that its compiled renders
  are reused by every `TrainedGenerator` that wraps it."""

  def aux_fn(variables, z, condition: Condition):
    return module.apply(variables, z, condition["chars"], train=False, codes=condition_codes(module, condition))

  return aux_fn, lambda v, z, c: aux_fn(v, z, c)[0], lambda v, z, c: aux_fn(v, z, c)[1]["features"]


def condition_codes(module: scrabblegan.Generator, condition: Condition) -> jax.Array | None:
  """G's code vector for a condition's `categorical` / `continuous` (0 for a part it lacks); None (G's
  default, value 0) when it has neither or G has no codes."""
  if not module.code_dim or not ({"categorical", "continuous"} & set(condition)):
    return None
  batch = condition["chars"].shape[0]
  categorical = condition.get("categorical", jnp.zeros((batch,), jnp.int32))
  continuous = condition.get("continuous", jnp.zeros((batch, module.num_continuous)))
  return scrabblegan.code_vector(categorical, continuous, module.num_categorical)


def wrap(module: scrabblegan.Generator, variables: Any, step: int = 0, dataset: str = "",
         word_length: int = DEFAULT_WORD_LENGTH, lexicon_file: str = "",
         conditions: Any = None) -> TrainedGenerator:
  """A `TrainedGenerator` of ScrabbleGAN's G `module` with inference `variables`; its words (for
  explanations) come from the built-in lexicon, or from `lexicon_file` (the run's `config.lexicon`),
  or from `conditions` (`length -> condition_fn`) when given."""
  aux_fn, apply_fn, features_fn = _model_functions(module)
  if conditions is None:
    conditions = functools.partial(lexicon_conditions, alphabet=alphabet_of(module), lexicon_file=lexicon_file)

  def condition_fn(rng: jax.Array, n: int) -> Condition:
    # The lexicon is read at the first draw (cached), not here: figures of fixed words need none.
    return conditions(word_length)(rng, n)

  return TrainedGenerator(
      name="scrabblegan", kind="words", latent_dim=int(module.z_dim), ink_polarity="dark", variables=variables,
      apply_fn=apply_fn, features_fn=features_fn,
      condition_fn=condition_fn, weight_fn=lambda v: module.latent_weight(v["params"]),
      word_length=word_length, step=step, aux_fn=aux_fn, gamma_fn=lambda v: attention_gammas(v["params"]),
      conditions_of_length=conditions, latent_layout={"z": int(module.z_dim)}, dataset=dataset,
      module=module)


def from_config(config: ml_collections.ConfigDict, variables: Any, step: int = 0) -> TrainedGenerator:
  """The generator a run's config describes, with its trained inference variables."""
  if config.get("num_categorical", 0) or config.get("num_continuous", 0):
    logging.info("this run has style codes (%d values, %d continuous); words asked without a code are "
                 "written with categorical value 0 and continuous codes 0", config.get("num_categorical", 0),
                 config.get("num_continuous", 0))
  return wrap(build_generator(config), variables, step, config.get("dataset", ""),
              lexicon_file=os.path.expanduser(config.get("lexicon", "") or ""))


def condition_texts(condition: Condition, generator: TrainedGenerator | None = None) -> list[str]:
  """The words a condition `{'chars': [B, L]}` asks for, blanks (padding) dropped, in the alphabet of
  `generator` (IAM's without one)."""
  alphabet = alphabet_of(generator) if generator is not None else text_lib.IAM
  return [alphabet.decode(row) for row in np.asarray(condition["chars"])]


def fresh(generator: TrainedGenerator, seed: int) -> TrainedGenerator:
  """The generator's model freshly initialised from `seed` as training initialises it (N(0, 0.02)
  weights, spectral-norm vectors drawn, batch statistics at 0 and 1): the untrained baseline."""
  module = generator.module
  variables = module.init(jax.random.key(seed), jnp.zeros((2, module.z_dim)), jnp.ones((2, 1), jnp.int32))
  return wrap(module, variables, step=0, dataset=generator.dataset, word_length=generator.word_length,
              conditions=generator.conditions_of_length)


def _is_filter_bank_call(context: nn.module.InterceptorContext) -> bool:
  return isinstance(context.module, scrabblegan.CharFilterBank) and context.method_name == "__call__"


def filter_bank_shape(generator: TrainedGenerator, chars: Any) -> tuple[int, ...]:
  """Shape `[B, 4, 4n, C]` of the character filter bank's output for words `chars` `[B, n]`: character
  i fills its columns 4i..4i+3 (`scrabblegan.CharFilterBank`)."""
  shapes = []

  def record(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    if _is_filter_bank_call(context):
      shapes.append(tuple(out.shape))
    return out

  chars = jnp.asarray(chars)
  with nn.intercept_methods(record):
    # A new function each time: JAX caches traces by function, and a cached trace records nothing.
    jax.eval_shape(lambda *args: generator.aux_fn(*args), generator.variables,
                   jnp.zeros((len(chars), generator.latent_dim)), {"chars": chars})
  return shapes[0]


@functools.lru_cache(maxsize=16)
def filter_bank_render_fn(module: scrabblegan.Generator):
  """`(variables, z, chars, bank_offset) -> images [B, 32, 16n, 1]`: G in inference mode with
  `bank_offset` (shaped as `filter_bank_shape`) added to the character filter bank's output. At a zero
  offset the images are G's; the gradient with respect to the offset is the gradient with respect to
  each character's patch, which the model takes from no other input. Pure and jit-friendly (the offset
  is added through a flax method interceptor, so the model needs no hook)."""

  def render(variables, z, chars, bank_offset):
    def add_offset(next_fun, args, kwargs, context):
      out = next_fun(*args, **kwargs)
      return out + bank_offset.astype(out.dtype) if _is_filter_bank_call(context) else out

    with nn.intercept_methods(add_offset):
      images, _ = module.apply(variables, z, chars, train=False)
    return images

  return render


# ---- Writing text ----------------------------------------------------------------------------------

def check_text(text: str, max_length: int = 0, alphabet: text_lib.Alphabet = text_lib.IAM) -> list[str]:
  """The words of `text` (split on whitespace); a one-line UsageError if it is empty, has a character
  outside `alphabet` (the generator's), or (with `max_length`) a word longer than that."""
  words = text.split()
  if not words:
    raise UsageError("The text is empty: give at least one word, e.g. --text='Shalom world'.")
  unknown = alphabet.unknown_characters("".join(words))
  if unknown:
    shown = " ".join(f"{c!r} (U+{ord(c):04X})" for c in unknown)
    written = ("the 80 IAM symbols" if alphabet.is_iam else
               f"the {alphabet.num_symbols} symbols of its alphabet").replace("\n", " ")
    raise UsageError(f"The text has characters the generator cannot write: {shown}; "
                     f"it writes only {written}: {alphabet.symbols}")
  longest = max(words, key=len)
  if max_length and len(longest) > max_length:
    raise UsageError(f"the word {longest!r} has {len(longest)} characters; this generator writes words of at "
                     f"most {max_length} (its lexicon_max_length).")
  return words


def writable_words(generator: TrainedGenerator, words: Sequence[str], fallback: Sequence[str] = (),
                   count: int = 0) -> list[str]:
  """The words of `words` that the generator's alphabet can write; when none can (a custom alphabet and
  the configs' English words), the first `count` (or `len(words)`) distinct writable words of
  `fallback`, else lexicon words of the generator's word length."""
  alphabet = alphabet_of(generator)
  kept = [w for w in words if w and not alphabet.unknown_characters(w)]
  if kept:
    return kept
  count = count or max(len(words), 1)
  distinct = list(dict.fromkeys(w for w in fallback if w and not alphabet.unknown_characters(w)))
  if not distinct:
    chars = generator.condition_fn(jax.random.key(0), count)
    distinct = list(dict.fromkeys(condition_texts(chars, generator)))
  return distinct[:count]


def style_latents(seed: int, num_styles: int, z_dim: int) -> np.ndarray:
  """`num_styles` fixed z vectors [num_styles, z_dim], one per style, from `seed`."""
  if num_styles < 1:
    raise UsageError(f"num_styles={num_styles}: must be at least 1.")
  return np.asarray(jax.random.normal(jax.random.key(seed), (num_styles, z_dim)))


def to_uint8(images: np.ndarray) -> np.ndarray:
  """[-1, 1] images to uint8 [0, 255] (white +1 → 255)."""
  return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def render_words(generator: TrainedGenerator, words: Sequence[str], z: np.ndarray) -> list[list[np.ndarray]]:
  """`rows[s][w]`: word `w` written in style `z[s]`, uint8 [32, 16·len(word), 1]."""
  rows: list[list[np.ndarray]] = [[] for _ in range(len(z))]
  for word in words:
    chars = np.tile(alphabet_of(generator).encode(word)[None, :], (len(z), 1))
    for style, image in enumerate(to_uint8(generator.render(z, {"chars": chars}))):
      rows[style].append(image)
  return rows


def text_figure(generator: TrainedGenerator, words: Sequence[str], num_styles: int, seed: int,
                title: str = "") -> matplotlib.figure.Figure:
  """A figure with one row per style, the same z across the words of a row, each column labelled with
  the word it was asked to write."""
  z = style_latents(seed, num_styles, generator.latent_dim)
  words = writable_words(generator, words)
  rows = render_words(generator, words, z)
  return handwriting_viz.sample_grid_figure(rows, [f"style {s}" for s in range(num_styles)],
                                            column_labels=list(words), title=title)


def write_words(generator: TrainedGenerator, words: Sequence[str], z: np.ndarray, batch: int = 64
                ) -> np.ndarray:
  """Word `i` written with `z[i]`; all words must have the same length. Returns [N, 32, 16n, 1]."""
  chars = encode_words(words, alphabet_of(generator))
  return np.concatenate([generator.render(z[s:s + batch], {"chars": chars[s:s + batch]})
                         for s in range(0, len(words), batch)])
