"""Hungarian matching of predicted clusters to labels, for scoring InfoGAN's categorical code.

InfoGAN's categorical values come out in an arbitrary order (value 3 may draw sevens), so accuracy is
measured after the one-to-one assignment of clusters to labels that maximises the number of agreeing
samples (Hungarian method on the contingency table).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment


class Matching(NamedTuple):
  """Result of `hungarian_match`.

  `mapping[c]` is the label assigned to cluster c, or -1 for a cluster left unassigned (more clusters
  than labels). `contingency[c, l]` counts samples with predicted cluster c and label l.
  """
  mapping: np.ndarray
  accuracy: float
  contingency: np.ndarray


def hungarian_match(predicted: np.ndarray, labels: np.ndarray, num_clusters: int | None = None,
                    num_classes: int | None = None) -> Matching:
  """Matches predicted cluster ids to labels one-to-one, maximising agreement, and scores the match.

  `predicted` and `labels` are integer arrays of the same length N. The counts default to one more than
  the largest id seen; pass them to keep the table's shape fixed when some ids are absent. Accuracy is
  the fraction of the N samples whose cluster maps to their label; with unequal counts, clusters or
  labels beyond the smaller count stay unmatched and their samples count as errors.
  """
  predicted = np.asarray(predicted).astype(np.int64).ravel()
  labels = np.asarray(labels).astype(np.int64).ravel()
  if predicted.shape != labels.shape:
    raise ValueError(f"predicted {predicted.shape} and labels {labels.shape} differ in length")
  if predicted.size == 0:
    raise ValueError("no samples to match")
  if predicted.min() < 0 or labels.min() < 0:
    raise ValueError("cluster ids and labels must be non-negative")
  num_clusters = int(predicted.max()) + 1 if num_clusters is None else num_clusters
  num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
  if predicted.max() >= num_clusters or labels.max() >= num_classes:
    raise ValueError("an id is out of range for the given num_clusters/num_classes")
  contingency = np.zeros((num_clusters, num_classes), dtype=np.int64)
  np.add.at(contingency, (predicted, labels), 1)
  rows, cols = linear_sum_assignment(contingency, maximize=True)
  mapping = np.full(num_clusters, -1, dtype=np.int64)
  mapping[rows] = cols
  accuracy = float(contingency[rows, cols].sum()) / predicted.size
  return Matching(mapping=mapping, accuracy=accuracy, contingency=contingency)


def apply_mapping(predicted: np.ndarray, mapping: np.ndarray) -> np.ndarray:
  """Relabels predicted cluster ids with `mapping` from `hungarian_match` (unmatched clusters give -1)."""
  return np.asarray(mapping)[np.asarray(predicted).astype(np.int64)]
