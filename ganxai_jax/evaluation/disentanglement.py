"""Disentanglement metrics of a code (latent coordinates) against known factors: MIG, SAP and DCI.

`codes` [N, K] are what a method gives each sample (for a direction method: the shift along each of its
K directions); `factors` [N, F] are the true (or read) factors of the same samples. Each metric follows
its paper and disentanglement_lib's implementation (Locatello et al. 2019), in numpy:

* **MIG** (Chen et al. 2018). Codes and factors are discretized into `num_bins` equal-width bins per column
  (disentanglement_lib's `histogram_discretizer`, 20 bins); for each factor, the gap between the largest and
  the second largest mutual information with one code column, divided by the factor's entropy; averaged
  over factors. 1 when every factor is read fully by one column and not at all by the others.
* **SAP** (Kumar et al. 2018), for continuous factors: the score of code column k for factor j is the R²
  of a linear fit of j on k alone (the squared correlation); per factor the gap between the two largest
  scores, averaged over factors.
* **DCI** (Eastwood & Williams 2018). Each factor is regressed on all code columns (standardised; least
  squares with a small ridge); the importance of column k for factor j is the absolute coefficient, the
  linear variant of the paper (disentanglement_lib uses gradient-boosted trees, whose importances also
  see non-linear use; a direction method's codes act linearly). Disentanglement: per column,
  1 - entropy (base F) of its importance spread over the factors, weighted by the column's share of all
  importance. Completeness: per factor, 1 - entropy (base K) of its importance spread over the columns,
  weighted by the factor's share. Informativeness: the mean R² of those regressions on held-out samples.

On a perfectly disentangled code (each factor a linear function of its own column) all three are 1; a
rotation that mixes factors across columns lowers them (`tests/test_disentanglement.py`). A column that
reads its factor through a non-linear monotone map still gets a lower MIG, since equal-width bins of the
two no longer match (tanh(2x) against x: 0.76), as in disentanglement_lib.
"""
from __future__ import annotations

from typing import Any

import numpy as np

NUM_BINS = 20  # disentanglement_lib's default for MIG's discretization.
_RIDGE = 1e-6


def discretize(values: np.ndarray, num_bins: int = NUM_BINS) -> np.ndarray:
  """Each column of `values` [N, C] binned into `num_bins` equal-width bins over its range: ints [N, C]."""
  values = np.asarray(values, np.float64)
  binned = np.zeros(values.shape, np.int64)
  for c in range(values.shape[1]):
    edges = np.histogram_bin_edges(values[:, c], bins=num_bins)
    binned[:, c] = np.digitize(values[:, c], edges[1:-1])
  return binned


def _mutual_information(a: np.ndarray, b: np.ndarray) -> float:
  """Mutual information (nats) of two integer label vectors, from their joint counts."""
  _, a = np.unique(a, return_inverse=True)
  _, b = np.unique(b, return_inverse=True)
  joint = np.zeros((a.max() + 1, b.max() + 1))
  np.add.at(joint, (a, b), 1.0)
  joint /= joint.sum()
  outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
  nonzero = joint > 0
  return float(np.sum(joint[nonzero] * np.log(joint[nonzero] / outer[nonzero])))


def _entropy(labels: np.ndarray) -> float:
  """Entropy (nats) of an integer label vector."""
  _, counts = np.unique(labels, return_counts=True)
  p = counts / counts.sum()
  return float(-np.sum(p * np.log(p)))


def mutual_information_matrix(codes: np.ndarray, factors: np.ndarray, num_bins: int = NUM_BINS) -> np.ndarray:
  """[K, F] mutual information (nats) between each discretized code column and each discretized factor."""
  codes, factors = discretize(codes, num_bins), discretize(factors, num_bins)
  return np.array([[_mutual_information(codes[:, k], factors[:, j]) for j in range(factors.shape[1])]
                   for k in range(codes.shape[1])])


def mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = NUM_BINS) -> dict[str, Any]:
  """Mutual information gap: `score` (mean over factors) and `per_factor`. Needs at least two code columns."""
  codes, factors = np.asarray(codes), np.asarray(factors)
  if codes.shape[1] < 2:
    raise ValueError(f"MIG needs at least 2 code columns, got {codes.shape[1]}.")
  information = mutual_information_matrix(codes, factors, num_bins)
  entropies = np.array([_entropy(column) for column in discretize(factors, num_bins).T])
  top = np.sort(information, axis=0)[::-1]
  per_factor = np.where(entropies > 0, (top[0] - top[1]) / np.maximum(entropies, 1e-12), 0.0)
  return {"score": float(per_factor.mean()), "per_factor": per_factor.tolist()}


def _standardize(values: np.ndarray) -> np.ndarray:
  values = np.asarray(values, np.float64)
  return (values - values.mean(0)) / np.maximum(values.std(0), 1e-12)


def sap(codes: np.ndarray, factors: np.ndarray) -> dict[str, Any]:
  """Separated attribute predictability for continuous factors: `score`, `per_factor` and the [K, F]
  `matrix` of single-column R² values."""
  codes, factors = _standardize(codes), _standardize(factors)
  matrix = (codes.T @ factors / len(codes)) ** 2  # Squared correlations = R² of single-column fits.
  top = np.sort(matrix, axis=0)[::-1]
  per_factor = top[0] - top[1] if matrix.shape[0] > 1 else top[0]
  return {"score": float(per_factor.mean()), "per_factor": per_factor.tolist(), "matrix": matrix.tolist()}


def _one_minus_entropy(weights: np.ndarray, base: int) -> np.ndarray:
  """1 - entropy (in `base`) of each row of non-negative `weights`, normalised to sum to 1."""
  p = weights / np.maximum(weights.sum(1, keepdims=True), 1e-12)
  logs = np.log(np.where(p > 0, p, 1.0)) / np.log(base)
  return 1.0 + np.sum(p * logs, axis=1)


def dci(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
        factors_test: np.ndarray) -> dict[str, Any]:
  """Disentanglement, completeness and informativeness (linear importances; see the module docstring),
  with the [K, F] `importance` matrix."""
  mean, std = np.mean(codes_train, 0), np.maximum(np.std(codes_train, 0), 1e-12)
  x_train = np.concatenate([(codes_train - mean) / std, np.ones((len(codes_train), 1))], axis=1)
  x_test = np.concatenate([(codes_test - mean) / std, np.ones((len(codes_test), 1))], axis=1)
  gram = x_train.T @ x_train + _RIDGE * len(x_train) * np.eye(x_train.shape[1])
  weights = np.linalg.solve(gram, x_train.T @ np.asarray(factors_train, np.float64))  # [K + 1, F]
  importance = np.abs(weights[:-1])
  num_codes, num_factors = importance.shape
  residual = np.asarray(factors_test, np.float64) - x_test @ weights
  variance = np.maximum(np.var(factors_test, axis=0), 1e-12)
  informativeness = float(np.mean(1.0 - np.mean(residual ** 2, axis=0) / variance))
  total = max(importance.sum(), 1e-12)
  disentanglement = (float(np.sum(importance.sum(1) / total * _one_minus_entropy(importance, num_factors)))
                     if num_factors > 1 else 1.0)
  completeness = (float(np.sum(importance.sum(0) / total * _one_minus_entropy(importance.T, num_codes)))
                  if num_codes > 1 else 1.0)
  return {"disentanglement": disentanglement, "completeness": completeness,
          "informativeness": informativeness, "importance": importance.tolist()}


def all_metrics(codes: np.ndarray, factors: np.ndarray, test_fraction: float = 0.2) -> dict[str, Any]:
  """MIG, SAP and DCI of one code (DCI fitted on the first 1 - `test_fraction` of the samples and
  scored on the rest), as one dict of scores."""
  codes, factors = np.asarray(codes, np.float64), np.asarray(factors, np.float64)
  split = int(round(len(codes) * (1 - test_fraction)))
  scores = dci(codes[:split], factors[:split], codes[split:], factors[split:])
  return {"mig": mig(codes, factors)["score"], "sap": sap(codes, factors)["score"],
          "dci_disentanglement": scores["disentanglement"], "dci_completeness": scores["completeness"],
          "dci_informativeness": scores["informativeness"]}
