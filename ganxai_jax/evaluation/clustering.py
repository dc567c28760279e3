"""How far one partition of samples follows another: normalized mutual information and purity, with
the random baseline that gives both a floor.

Used to ask whether a style code read off real digits (the Q head of a CGAN with InfoGAN's codes) sorts
them by digit. Both scores take two integer label vectors of the same length, `clusters` (the code
value of each sample) and `labels` (its class):

* NMI: I(C; L) / ((H(C) + H(L)) / 2), in [0, 1] (the arithmetic normalisation, scikit-learn's default);
  1 when the partitions are the same up to renaming, 0 when they are independent. On a finite sample
  two independent partitions still share a little information (about (K-1)(L-1) / (2N) nats), so read it
  beside `random_baseline`.
* Purity: each cluster votes for its most common label; the share of samples that agree with their
  cluster's vote. 1 when every cluster holds one label; for independent partitions about the share of
  the most common label, more with many small clusters.
"""
from __future__ import annotations

import numpy as np

from ganxai_jax.evaluation.disentanglement import _entropy, _mutual_information  # pylint: disable=protected-access


def _check(clusters: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  clusters, labels = np.asarray(clusters).ravel(), np.asarray(labels).ravel()
  if clusters.shape != labels.shape:
    raise ValueError(f"clusters {clusters.shape} and labels {labels.shape} differ in length")
  if clusters.size == 0:
    raise ValueError("no samples to compare")
  return clusters, labels


def normalized_mutual_information(clusters: np.ndarray, labels: np.ndarray) -> float:
  """NMI of two partitions (module docstring); 1 when both are a single part, as scikit-learn has it."""
  clusters, labels = _check(clusters, labels)
  mean_entropy = (_entropy(clusters) + _entropy(labels)) / 2
  if mean_entropy == 0:
    return 1.0
  return float(np.clip(_mutual_information(clusters, labels) / mean_entropy, 0.0, 1.0))


def purity(clusters: np.ndarray, labels: np.ndarray) -> float:
  """The share of samples whose label is the most common one in their cluster."""
  clusters, labels = _check(clusters, labels)
  _, cluster_index = np.unique(clusters, return_inverse=True)
  _, label_index = np.unique(labels, return_inverse=True)
  counts = np.zeros((cluster_index.max() + 1, label_index.max() + 1), np.int64)
  np.add.at(counts, (cluster_index, label_index), 1)
  return float(counts.max(axis=1).sum() / clusters.size)


def random_baseline(clusters: np.ndarray, labels: np.ndarray, seed: int = 0, repeats: int = 10
                    ) -> dict[str, float]:
  """NMI and purity of `clusters` shuffled over the samples, averaged over `repeats` shuffles: a random
  assignment with the same cluster sizes, which a code that knows nothing of the labels scores."""
  clusters, labels = _check(clusters, labels)
  rng = np.random.default_rng(seed)
  shuffles = [rng.permutation(clusters) for _ in range(repeats)]
  return {"nmi": float(np.mean([normalized_mutual_information(s, labels) for s in shuffles])),
          "purity": float(np.mean([purity(s, labels) for s in shuffles]))}
