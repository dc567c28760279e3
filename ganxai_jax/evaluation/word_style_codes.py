"""Scores and figure of InfoGAN's categorical code under content conditioning for handwritten words: the
ScrabbleGAN with style codes (`configs/scrabble.py:info`), where the text is given and the code can only
choose the hand. The word-side companion of `style_codes` (the MNIST CGAN's), with its statistics.

Generated words. `num_samples` draws, each a lexicon word of `word_length` characters (cycling over
`num_words` words), its own z and continuous codes, are written once with every categorical value, so
that only the code changes between the value groups. Their style factors are read by a `StyleReader`:
the learned factor reader (`explain/factor_reader.py`, handed in by `kinds`, as evaluation must not
import explanations) or, without one, the hand measurements of `evaluation/measure.py`
(`HandMeasurements`). `style_code_factor_source` says which; `style_code_reader_r2_{f}` gives the
reader's held-out R² per factor. Each factor is centred on its word's mean (as the MNIST scores centre
on the digit), and for each factor f:
* `style_code{v}_{f}_mean`, `style_code{v}_{f}_d` (Cohen's d of value v against the other values, in
  within-word standard deviations), `style_code_{f}_eta_squared` (the share of f's within-word variance
  the value explains) and `style_code_{f}_within_word_std` (`style_codes.factor_scores`).
* `style_code_q_generated_accuracy`: Q's categorical prediction on these words against their value
  (chance 1 / num_categorical); `style_code_q_continuous_mse`: Q's mean squared error on their
  continuous codes (U[-1, 1] has variance 1/3: what a Q that knows nothing scores).
* `style_code{v}_cer` and `style_code_cer`: the evaluation recognizer's character error rate on the
  words written with value v (all values): whether the text survives every hand (when the run has an
  evaluation recognizer).

Real words. Q's value (argmax) of up to `num_real_words` test words of known writer (the `writer`
field; -1, unknown, is skipped) against their writer: `style_code_real_nmi`, `style_code_real_purity`
beside `style_code_real_random_nmi` / `_purity` (Q's values shuffled over the words) and
`style_code_real_values_used` (`style_codes.partition_scores`); `style_code_real_num_words` and
`style_code_real_num_writers` say how many (with fewer than two writers, as the tiny data set's test
split, only these two are given). A code that chose hands the way writers differ would sort
the words by writer above the random baseline; with more writers than values purity stays low anyway.

The figure `style_code` has one row per code value, a few words along the row, one z (continuous codes
0) everywhere: along a column only the code value changes.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import matplotlib.figure
import numpy as np

from ganxai_jax.data import handwriting
from ganxai_jax.data import text as text_lib
from ganxai_jax.data import words_pipeline
from ganxai_jax.evaluation import style_codes
from ganxai_jax.evaluation.measure import measure_style
from ganxai_jax.evaluation.scrabble_eval import read_and_embed
from ganxai_jax.generators import words as word_generators
from ganxai_jax.generators.interface import TrainedGenerator
from ganxai_jax.viz import handwriting as handwriting_viz

_CHUNK = 256  # Words per forward pass.
# Q of same-width words: (images [N, 32, W, 1] in [-1, 1]) -> (logits [N, K], continuous means [N, C]).
QFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class StyleReader(Protocol):
  """What reads style factors from word images: `predict(images) -> [N, len(factor_names)]`."""
  factor_names: tuple[str, ...]

  def predict(self, images: np.ndarray) -> np.ndarray:
    ...


class HandMeasurements:
  """The hand measurements of `evaluation/measure.py` (dark ink) as a `StyleReader`."""
  factor_names = style_codes.STYLE_FACTORS

  def predict(self, images: np.ndarray) -> np.ndarray:
    measured = measure_style(np.asarray(images), ink_polarity="dark")
    return np.stack([measured[name] for name in self.factor_names], axis=-1)


def make_q_fn(discriminator: nn.Module, d_variables: Any) -> QFn:
  """Q's outputs for same-width words, D in inference mode (one compiled call per width)."""

  @jax.jit
  def _q(variables, images):
    _, aux = discriminator.apply(variables, images, None, update_stats=False)
    return aux["q_logits"], aux["q_mean"]

  def q_fn(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    outputs = [jax.device_get(_q(d_variables, jnp.asarray(images[s:s + _CHUNK])))
               for s in range(0, len(images), _CHUNK)]
    return tuple(np.concatenate([np.asarray(o[i]) for o in outputs]) for i in range(2))

  return q_fn


def code_latents(generator: TrainedGenerator, num_samples: int, num_words: int, word_length: int,
                 seed: int) -> dict[str, np.ndarray]:
  """`num_samples` draws `{'z', 'chars', 'word', 'continuous'}`: lexicon words of `word_length`
  characters cycling over `num_words` of them (`word` is the index), each draw with its own z and
  continuous codes U[-1, 1]."""
  module = generator.module
  z_key, word_key, code_key = jax.random.split(jax.random.key(seed), 3)
  words = np.asarray(generator.with_word_length(word_length).condition_fn(word_key, num_words)["chars"])
  index = np.arange(num_samples) % num_words
  return {"z": np.asarray(jax.random.normal(z_key, (num_samples, generator.latent_dim))),
          "chars": words[index], "word": index,
          "continuous": np.asarray(jax.random.uniform(code_key, (num_samples, module.num_continuous),
                                                      minval=-1.0, maxval=1.0))}


def write_with_every_value(generator: TrainedGenerator, base: dict[str, np.ndarray]
                           ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
  """Images `[V * N, 32, W, 1]` of the N draws of `base` once with each categorical value (value-major),
  and the latents they were written with (`base` repeated, `categorical` added)."""
  num_values = generator.module.num_categorical
  latent = {k: np.concatenate([v] * num_values) for k, v in base.items()}
  latent["categorical"] = np.repeat(np.arange(num_values), len(base["z"]))
  condition = {k: latent[k] for k in ("chars", "categorical", "continuous")}
  images = np.concatenate([
      generator.render(latent["z"][s:s + _CHUNK], {k: v[s:s + _CHUNK] for k, v in condition.items()})
      for s in range(0, len(latent["z"]), _CHUNK)])
  return images, latent


def generated_scores(generator: TrainedGenerator, q_fn: QFn, reader: StyleReader, num_samples: int,
                     num_words: int, word_length: int, seed: int = 0,
                     recognizer: tuple[nn.Module, Any] | None = None) -> dict[str, Any]:
  """Every score on generated words of the module docstring (CER only with a `recognizer`, as
  `(module, variables)`)."""
  num_values = generator.module.num_categorical
  images, latent = write_with_every_value(
      generator, code_latents(generator, num_samples, num_words, word_length, seed))
  factors = reader.predict(images)
  measurements = {name: factors[:, i] for i, name in enumerate(reader.factor_names)}
  scores: dict[str, Any] = style_codes.factor_scores(measurements, latent["categorical"], latent["word"],
                                                     num_values, reader.factor_names, content="word")
  logits, means = q_fn(images)
  scores["style_code_q_generated_accuracy"] = float(np.mean(np.argmax(logits, -1) == latent["categorical"]))
  if generator.module.num_continuous:
    scores["style_code_q_continuous_mse"] = float(np.mean(np.square(means - latent["continuous"])))
  if recognizer is not None:
    alphabet = word_generators.alphabet_of(generator)
    readings = np.asarray(read_and_embed(*recognizer, images, alphabet)[0], dtype=object)
    asked = np.asarray(word_generators.condition_texts({"chars": latent["chars"]}, generator), dtype=object)
    for value in range(num_values):
      chosen = latent["categorical"] == value
      scores[f"style_code{value}_cer"] = text_lib.character_and_word_error_rates(
          list(asked[chosen]), list(readings[chosen]))["cer"]
    scores["style_code_cer"] = text_lib.character_and_word_error_rates(list(asked), list(readings))["cer"]
  scores["style_code_samples"] = float(num_samples)
  scores["style_code_words"] = sorted(set(word_generators.condition_texts({"chars": latent["chars"]}, generator)))
  return scores


def real_word_scores(q_fn: QFn, test_source: Sequence[dict[str, Any]], num_words: int, seed: int = 0
                     ) -> dict[str, float]:
  """NMI and purity of Q's values of up to `num_words` real test words of known writer against their
  writer, beside the random baseline (module docstring)."""
  _, all_writers = handwriting.scan_lengths_and_writers(test_source)
  known = np.flatnonzero(all_writers >= 0)
  if not len(known):
    return {"style_code_real_num_words": 0.0, "style_code_real_num_writers": 0.0}
  rng = np.random.default_rng([seed, 0x77726974])  # 'writ'
  picked = sorted(int(i) for i in rng.choice(known, size=min(num_words, len(known)), replace=False))
  by_width: dict[int, tuple[list[np.ndarray], list[int]]] = {}
  for index in picked:
    image = np.asarray(test_source[index]["image"])
    images, writers = by_width.setdefault(image.shape[1], ([], []))
    images.append(words_pipeline.scale_image(image))
    writers.append(int(test_source[index]["writer"]))
  assigned, writers = [], []
  for images, group_writers in by_width.values():
    assigned.append(np.argmax(q_fn(np.stack(images))[0], -1))
    writers += group_writers
  assigned, writers = np.concatenate(assigned), np.asarray(writers)
  counts = {"style_code_real_num_words": float(len(writers)),
            "style_code_real_num_writers": float(len(np.unique(writers)))}
  if len(np.unique(writers)) < 2:  # One writer: every partition "follows" it (NMI 1); nothing to say.
    return counts
  return {**style_codes.partition_scores(assigned, writers, seed), **counts}


def evaluate_style_codes(generator: TrainedGenerator, q_fn: QFn, reader: StyleReader | None,
                         test_source: Sequence[dict[str, Any]], num_samples: int, num_words: int,
                         num_real_words: int, seed: int = 0, word_length: int = word_generators.DEFAULT_WORD_LENGTH,
                         recognizer: tuple[nn.Module, Any] | None = None) -> dict[str, Any]:
  """Every score of the module docstring; the hand measurements when `reader` is None."""
  if not generator.module.num_categorical:
    raise ValueError("style-code scores need a generator with a categorical code")
  scores = {"style_code_factor_source": "hand_measurements" if reader is None else "factor_reader"}
  if reader is not None and hasattr(reader, "r2_dict"):
    scores.update({f"style_code_reader_r2_{k}": v for k, v in reader.r2_dict().items()})
  scores.update(generated_scores(generator, q_fn, reader or HandMeasurements(), num_samples, num_words,
                                 word_length, seed + 3, recognizer))
  scores.update(real_word_scores(q_fn, test_source, num_real_words, seed))
  return scores


def style_code_figure(generator: TrainedGenerator, words: Sequence[str], seed: int, step: int
                      ) -> matplotlib.figure.Figure:
  """Rows: code values; columns: `words`; one z (continuous codes 0) in every cell."""
  module = generator.module
  words = word_generators.writable_words(generator, words)
  z = word_generators.style_latents(seed + 4, 1, generator.latent_dim)
  alphabet = word_generators.alphabet_of(generator)
  rows = []
  for value in range(module.num_categorical):
    codes = {"categorical": np.full((1,), value, np.int32),
             "continuous": np.zeros((1, module.num_continuous), np.float32)}
    rows.append([word_generators.to_uint8(generator.render(
        z, {"chars": word_generators.encode_words([word], alphabet), **codes}))[0] for word in words])
  return handwriting_viz.sample_grid_figure(
      rows, [f"code {v}" for v in range(module.num_categorical)], column_labels=list(words),
      title=f"style code (rows) × word (columns), one z, step {step}")
