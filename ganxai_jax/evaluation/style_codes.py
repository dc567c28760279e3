"""Scores and figure of InfoGAN's categorical code under content conditioning: the CGAN with a style code
(`configs/mnist.py:cgan_info`), where the digit is given and the code can only carry style.

Generated digits. `num_samples` draws of noise, digit (balanced over the ten) and continuous codes, each
drawn once with every code value, are measured (`evaluation.measure.measure_style`). Each measurement
has its digit's mean removed first (over all draws and values of that digit), so that a value that
happens to fall on wide digits does not count as "wide"; its spread is the style's spread within a
digit. Scores (floats, for `eval.json`), for each factor f of `STYLE_FACTORS`:
* `style_code{v}_{f}_mean`: the mean measurement (degrees or pixels, digit means kept) with value v.
* `style_code{v}_{f}_d`: Cohen's d of value v against the other values, on the digit-centred
  measurements with their pooled standard deviation: how many within-digit standard deviations value v
  shifts f.
* `style_code_{f}_eta_squared`: the share of f's within-digit variance that the code value explains
  (between-value sum of squares over the total): 0 when no value shifts f, 1 when the value alone
  sets it. `style_code_{f}_within_digit_std` is that spread's standard deviation, in f's units.
* `style_code_q_generated_accuracy`: Q's categorical prediction on these generated digits against the
  value they were drawn with (chance 1 / num_categorical): whether G draws the values apart in a way Q
  reads.

Real digits. Q's value (argmax) for every held-out real test digit, against the digit's class:
`style_code_real_nmi` and `style_code_real_purity` (`evaluation.clustering`), beside
`style_code_real_random_nmi` / `_purity`, the same scores of Q's values shuffled over the digits (same
value sizes, no relation to the digit). With the digit given to G and D the code has no reason to learn
it: NMI near the random baseline is the outcome the design wants, and a high NMI says the code repeats
the label. `style_code_real_values_used` counts the values Q gives real digits.

The figure `style_code` has one row per code value and one column per digit, with one noise vector
(and continuous codes 0) everywhere: along a column only the code value changes.
"""
from __future__ import annotations

from typing import Any, Sequence

import matplotlib.figure
import numpy as np

from ganxai_jax.evaluation import clustering
from ganxai_jax.evaluation import infogan_eval
from ganxai_jax.evaluation.measure import measure_style
from ganxai_jax.evaluation.mnist_eval import GenerateFn, generate_in_batches
from ganxai_jax.models.latent import LatentSpec
from ganxai_jax.viz import grids

STYLE_FACTORS = ("slant", "width", "height", "thickness", "ink_area", "intensity")
NUM_SAMPLES = 500


def sample_latent(spec: LatentSpec, seed: int, count: int) -> dict[str, np.ndarray]:
  """`count` latents of `spec` from `seed` as host arrays, digits balanced over the classes."""
  latent = infogan_eval.sample_latent(spec, seed, count)
  latent["labels"] = np.arange(count) % spec.num_classes
  return latent


def every_value(spec: LatentSpec, base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """Latents `[num_categorical * N]`, value-major: the N draws of `base` once with each code value."""
  latent = {k: np.concatenate([v] * spec.num_categorical) for k, v in base.items()}
  latent["categorical"] = np.repeat(np.arange(spec.num_categorical), len(base["noise"]))
  return latent


def cohens_d(group: np.ndarray, rest: np.ndarray) -> float:
  """(mean(group) - mean(rest)) / pooled standard deviation; 0 when both groups are constant."""
  pooled = np.sqrt(((len(group) - 1) * group.var(ddof=1) + (len(rest) - 1) * rest.var(ddof=1))
                   / (len(group) + len(rest) - 2))
  return float((group.mean() - rest.mean()) / pooled) if pooled > 0 else 0.0


def eta_squared(values: np.ndarray, groups: np.ndarray) -> float:
  """The share of `values`' sum of squares between the means of `groups`; 0 for constant values."""
  total = np.sum(np.square(values - values.mean()))
  between = sum(np.sum(groups == g) * (values[groups == g].mean() - values.mean()) ** 2
                for g in np.unique(groups))
  return float(between / total) if total > 0 else 0.0


def factor_scores(measurements: dict[str, np.ndarray], values: np.ndarray, digits: np.ndarray,
                  num_values: int, factors: Sequence[str] = STYLE_FACTORS, content: str = "digit"
                  ) -> dict[str, float]:
  """Per-value means, Cohen's d and η² of every factor of `factors` (module docstring), from
  measurements `[N]` of samples drawn with code `values` `[N]` and content `digits` `[N]` (any content
  label: each factor is centred on its content's mean; `content` names it in the spread's key)."""
  scores = {}
  for name in factors:
    measured = measurements[name].astype(np.float64)
    centred = measured.copy()
    for digit in np.unique(digits):
      centred[digits == digit] -= measured[digits == digit].mean()
    for value in range(num_values):
      chosen = values == value
      scores[f"style_code{value}_{name}_mean"] = float(measured[chosen].mean())
      scores[f"style_code{value}_{name}_d"] = cohens_d(centred[chosen], centred[~chosen])
    scores[f"style_code_{name}_eta_squared"] = eta_squared(centred, values)
    scores[f"style_code_{name}_within_{content}_std"] = float(centred.std())
  return scores


def partition_scores(assigned: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict[str, float]:
  """NMI and purity of Q's values `assigned` against `labels` (digits, writers), their random baseline
  and how many values Q used, under the `style_code_real_` keys."""
  baseline = clustering.random_baseline(assigned, labels, seed)
  return {"style_code_real_nmi": clustering.normalized_mutual_information(assigned, labels),
          "style_code_real_purity": clustering.purity(assigned, labels),
          "style_code_real_random_nmi": baseline["nmi"],
          "style_code_real_random_purity": baseline["purity"],
          "style_code_real_values_used": float(len(np.unique(assigned)))}


def real_digit_scores(q_fn: infogan_eval.QFn, real_test: dict[str, np.ndarray], seed: int = 0) -> dict[str, float]:
  """NMI and purity of Q's values of real test digits against their digits, and their random baseline."""
  return partition_scores(np.argmax(q_fn(real_test["image"]), -1), real_test["label"], seed)


def evaluate_style_codes(generate_fn: GenerateFn, q_fn: infogan_eval.QFn, spec: LatentSpec,
                         real_test: dict[str, np.ndarray], seed: int = 0,
                         num_samples: int = NUM_SAMPLES) -> dict[str, Any]:
  """Every score of the module docstring."""
  if not (spec.num_classes and spec.num_categorical):
    raise ValueError("style-code scores need a conditional generator with a categorical code")
  latent = every_value(spec, sample_latent(spec, seed + 3, num_samples))
  images = generate_in_batches(generate_fn, latent)
  scores = factor_scores(measure_style(images), latent["categorical"], latent["labels"], spec.num_categorical)
  predicted = np.argmax(q_fn(images), -1)
  scores["style_code_q_generated_accuracy"] = float(np.mean(predicted == latent["categorical"]))
  scores["style_code_samples"] = float(num_samples)
  scores.update(real_digit_scores(q_fn, real_test, seed))
  return scores


def style_code_figure(generate_fn: GenerateFn, spec: LatentSpec, seed: int, step: int
                      ) -> matplotlib.figure.Figure:
  """Rows: code values; columns: digits 0..9; one noise vector (continuous codes 0) in every cell."""
  base = infogan_eval.sample_latent(spec, seed + 4, 1)
  cells = spec.num_categorical * spec.num_classes
  latent = {k: np.repeat(v, cells, axis=0) for k, v in base.items()}
  latent["labels"] = np.tile(np.arange(spec.num_classes), spec.num_categorical)
  latent["categorical"] = np.repeat(np.arange(spec.num_categorical), spec.num_classes)
  if spec.num_continuous:
    latent["continuous"] = np.zeros_like(latent["continuous"])
  return grids.image_grid(
      generate_fn(latent), spec.num_categorical, spec.num_classes,
      col_labels=[str(d) for d in range(spec.num_classes)],
      row_labels=[f"code {v}" for v in range(spec.num_categorical)],
      title=f"style code (rows) × digit (columns), one noise vector, step {step}")
