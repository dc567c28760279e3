"""Scores and traversal figures of InfoGAN's codes: do the categories mean digits, the continuous codes style?

Scores (all floats, for `eval.json`):
* `infogan_categorical_accuracy`: Q's categorical prediction on the held-out real test digits, matched
  one-to-one to digit labels by the Hungarian method (`evaluation.matching`); the paper reports 95%
  (5% error) on full MNIST. `infogan_code{c}_digit` is the digit matched to categorical value c.
* `infogan_code{c}_generated_accuracy`: the project classifier's accuracy on digits generated with
  categorical value c (random noise and continuous codes) against the digit matched to c;
  `infogan_generated_accuracy` is their mean. `infogan_generated_matched_accuracy` matches G's values to
  the classifier's predictions directly, so it says whether G's categories are digits even where Q's
  matching on real digits disagrees.
* `infogan_cont{i}_{slant,width,thickness}_slope`: how much continuous code i changes the measured
  style (`explain.measure.measure_style`; degrees or pixels per unit code) over a sweep of the code
  over [-2, 2] with everything else fixed: the least-squares slope per noise sample, averaged over
  samples; `_slope_std` is its spread over samples and `_sign_agreement` the fraction of samples whose
  slope has the sign of the mean (1.0: the code moves that measurement the same way for every digit).

Sweeps go beyond the training range [-1, 1], as in the paper, to show whether a code extrapolates.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import matplotlib.figure
import numpy as np

from ganxai_jax.evaluation import classifier as classifier_lib
from ganxai_jax.evaluation.matching import hungarian_match
from ganxai_jax.evaluation.mnist_eval import GenerateFn, generate_in_batches
from ganxai_jax.evaluation.measure import measure_style
from ganxai_jax.models.latent import LatentSpec
from ganxai_jax.viz import grids

QFn = Callable[[np.ndarray], np.ndarray]
SWEEP = np.linspace(-2.0, 2.0, 9)
STYLE_MEASURES = ("slant", "width", "thickness")


def make_q_fn(discriminator: Any, d_variables: dict[str, Any]) -> QFn:
  """images (host array in [-1, 1]) -> Q's categorical logits (host array), D in inference mode.

  A conditional D (CGAN with codes) gets label 0 for every image: Q reads D's trunk before the label's
  projection term, so its output does not depend on the label (`tests/test_cgan_info.py`)."""

  @jax.jit
  def _q_logits(variables, images):
    labels = jnp.zeros(len(images), jnp.int32) if discriminator.num_classes else None
    _, aux = discriminator.apply(variables, images, labels, train=False)
    return aux["q_logits"]

  def q_fn(images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    return np.concatenate([np.asarray(_q_logits(d_variables, jnp.asarray(images[s:s + batch_size])))
                           for s in range(0, len(images), batch_size)])

  return q_fn


def sample_latent(spec: LatentSpec, seed: int, count: int) -> dict[str, np.ndarray]:
  """`count` latents of `spec` from `seed`, as host arrays."""
  return jax.tree_util.tree_map(np.asarray, spec.sample(jax.random.key(seed), count))


def categorical_scores(q_fn: QFn, spec: LatentSpec, real_test: dict[str, np.ndarray],
                       num_digits: int = 10) -> tuple[dict[str, float], np.ndarray]:
  """Q's categorical accuracy on real test digits after Hungarian matching; returns the scores and the
  mapping `[num_categorical]` from categorical value to digit (-1 where unmatched)."""
  predicted = np.argmax(q_fn(real_test["image"]), -1)
  match = hungarian_match(predicted, real_test["label"], spec.num_categorical, num_digits)
  scores = {"infogan_categorical_accuracy": match.accuracy,
            # How many values Q actually uses on real digits: fewer than 10 means merged classes.
            "infogan_categorical_values_used": float(len(np.unique(predicted)))}
  for value, digit in enumerate(match.mapping):
    scores[f"infogan_code{value}_digit"] = float(digit)
  return scores, match.mapping


def generated_scores(generate_fn: GenerateFn, spec: LatentSpec, classifier_params: Any,
                     mapping: np.ndarray, seed: int, per_value: int = 500) -> dict[str, float]:
  """The classifier's accuracy on digits generated with each categorical value against its matched
  digit, their mean, and the accuracy of the best one-to-one matching of values to predicted digits."""
  latent = sample_latent(spec, seed, per_value * spec.num_categorical)
  latent["categorical"] = np.repeat(np.arange(spec.num_categorical), per_value)
  logits, _ = classifier_lib.predict(classifier_params, generate_in_batches(generate_fn, latent))
  predicted = np.argmax(logits, -1)
  scores = {}
  for value in range(spec.num_categorical):
    selection = latent["categorical"] == value
    scores[f"infogan_code{value}_generated_accuracy"] = float(np.mean(predicted[selection] == mapping[value]))
  scores["infogan_generated_accuracy"] = float(np.mean(predicted == mapping[latent["categorical"]]))
  scores["infogan_generated_matched_accuracy"] = hungarian_match(
      latent["categorical"], predicted, spec.num_categorical, logits.shape[-1]).accuracy
  return scores


def sweep_latents(spec: LatentSpec, code: int, seed: int, num_samples: int,
                  values: np.ndarray = SWEEP) -> dict[str, np.ndarray]:
  """Latents `[num_samples * len(values)]`, sample-major: each sample keeps its noise and categorical
  value while continuous code `code` runs through `values` and the other continuous codes stay 0."""
  base = sample_latent(spec, seed, num_samples)
  base["categorical"] = np.arange(num_samples) % spec.num_categorical if spec.num_categorical else None
  if spec.num_classes:  # A conditional generator draws every digit in turn.
    base["labels"] = np.arange(num_samples) % spec.num_classes
  latent = {k: np.repeat(v, len(values), axis=0) for k, v in base.items() if v is not None}
  continuous = np.zeros((num_samples * len(values), spec.num_continuous), np.float32)
  continuous[:, code] = np.tile(values, num_samples)
  latent["continuous"] = continuous
  return latent


def continuous_scores(generate_fn: GenerateFn, spec: LatentSpec, seed: int, num_samples: int = 200,
                      values: np.ndarray = SWEEP) -> dict[str, float]:
  """Per continuous code and style measurement: mean, spread and sign agreement over noise samples of
  the least-squares slope of the measurement against the code (units per unit code)."""
  scores = {}
  centred = values - values.mean()
  for code in range(spec.num_continuous):
    latent = sweep_latents(spec, code, seed + 1 + code, num_samples, values)
    style = measure_style(generate_in_batches(generate_fn, latent))
    for name in STYLE_MEASURES:
      measured = style[name].reshape(num_samples, len(values)).astype(np.float64)
      slopes = (measured - measured.mean(1, keepdims=True)) @ centred / np.sum(centred ** 2)
      mean = float(slopes.mean())
      scores[f"infogan_cont{code}_{name}_slope"] = mean
      scores[f"infogan_cont{code}_{name}_slope_std"] = float(slopes.std())
      scores[f"infogan_cont{code}_{name}_sign_agreement"] = float(np.mean(np.sign(slopes) == np.sign(mean)))
  return scores


def evaluate_codes(generate_fn: GenerateFn, q_fn: QFn, spec: LatentSpec, classifier_params: Any,
                   real_test: dict[str, np.ndarray], seed: int = 0) -> dict[str, float]:
  """Every InfoGAN score of the module docstring."""
  scores, mapping = categorical_scores(q_fn, spec, real_test)
  scores.update(generated_scores(generate_fn, spec, classifier_params, mapping, seed))
  scores.update(continuous_scores(generate_fn, spec, seed))
  return scores


def traversal_figures(generate_fn: GenerateFn, spec: LatentSpec, seed: int, step: int, rows: int = 8
                      ) -> dict[str, matplotlib.figure.Figure]:
  """`infogan_categorical`: rows are noise samples, columns the categorical value (continuous codes 0);
  `infogan_continuous{i}`: rows are noise samples (categorical value = row mod 10), columns continuous
  code i swept over [-2, 2] with the other codes 0."""
  figures = {}
  base = sample_latent(spec, seed + 2, rows)
  latent = {k: np.repeat(v, spec.num_categorical, axis=0) for k, v in base.items()}
  latent["categorical"] = np.tile(np.arange(spec.num_categorical), rows)
  if spec.num_continuous:
    latent["continuous"] = np.zeros_like(latent["continuous"])
  figures["infogan_categorical"] = grids.image_grid(
      generate_fn(latent), rows, spec.num_categorical, col_labels=[str(v) for v in range(spec.num_categorical)],
      row_labels=[f"z{r}" for r in range(rows)],
      title=f"categorical code (columns), noise (rows), continuous codes 0, step {step}")
  for code in range(spec.num_continuous):
    sweep = sweep_latents(spec, code, seed + 2, rows)
    figures[f"infogan_continuous{code}"] = grids.image_grid(
        generate_fn(sweep), rows, len(SWEEP), col_labels=[f"{v:+.1f}" for v in SWEEP],
        row_labels=[f"z{r}, cat {r % max(spec.num_categorical, 1)}" for r in range(rows)],
        title=f"continuous code {code} from -2 to 2 (trained on [-1, 1]), step {step}")
  return figures
