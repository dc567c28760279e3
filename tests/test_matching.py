"""Tests for Hungarian matching of clusters to labels."""
from __future__ import annotations

import numpy as np
import pytest

from ganxai_jax.evaluation.matching import apply_mapping, hungarian_match


def test_recovers_a_permutation_with_noise() -> None:
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 10, size=2000)
  permutation = rng.permutation(10)
  # Cluster c = permutation[label]; corrupt 10% of the predictions.
  predicted = permutation[labels]
  corrupt = rng.random(labels.size) < 0.1
  predicted[corrupt] = rng.integers(0, 10, size=int(corrupt.sum()))
  result = hungarian_match(predicted, labels, num_clusters=10, num_classes=10)
  np.testing.assert_array_equal(result.mapping[permutation], np.arange(10))
  expected = np.mean(apply_mapping(predicted, result.mapping) == labels)
  assert result.accuracy == pytest.approx(expected)
  assert 0.88 < result.accuracy < 0.93   # 90% clean + 1/10 of the corrupted ones by chance
  assert result.contingency.sum() == labels.size


def test_greedy_would_be_wrong() -> None:
  # Cluster 0 is half label 0, half label 1; cluster 1 is all label 0. A per-cluster argmax (ties to the
  # lower label) maps both to 0; the one-to-one optimum maps 0 -> 1 and 1 -> 0.
  predicted = np.array([0] * 6 + [1] * 5)
  labels = np.array([0, 0, 0, 1, 1, 1] + [0] * 5)
  result = hungarian_match(predicted, labels)
  np.testing.assert_array_equal(result.mapping, [1, 0])
  assert result.accuracy == pytest.approx(8 / 11)


def test_more_clusters_than_labels_leaves_one_unmatched() -> None:
  predicted = np.array([0, 0, 1, 1, 2])
  labels = np.array([1, 1, 0, 0, 0])
  result = hungarian_match(predicted, labels, num_clusters=3, num_classes=2)
  np.testing.assert_array_equal(result.mapping, [1, 0, -1])
  assert result.accuracy == pytest.approx(4 / 5)


def test_rejects_mismatched_lengths() -> None:
  with pytest.raises(ValueError):
    hungarian_match(np.array([0, 1]), np.array([0]))
