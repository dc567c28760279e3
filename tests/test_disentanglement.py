"""MIG, SAP and DCI on toy codes with known answers."""
import numpy as np
import pytest

from ganxai_jax.evaluation import disentanglement


def _factors(n=8000, num_factors=3, seed=0):
  return np.random.default_rng(seed).uniform(-1, 1, (n, num_factors))


def _rotation(degrees, size=3):
  """Mixes the first two columns by `degrees`; the others stay."""
  angle = np.deg2rad(degrees)
  rotation = np.eye(size)
  rotation[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
  return rotation


def test_a_perfectly_disentangled_code_scores_one_on_every_metric():
  factors = _factors()
  # Each factor read by its own column, scaled, shifted or with its sign flipped.
  codes = np.stack([2 * factors[:, 0], -3 * factors[:, 1], factors[:, 2] + 1], axis=1)
  assert disentanglement.mig(codes, factors)["score"] > 0.95
  assert disentanglement.sap(codes, factors)["score"] == pytest.approx(1.0, abs=0.01)
  scores = disentanglement.dci(codes[:6000], factors[:6000], codes[6000:], factors[6000:])
  for key in ("disentanglement", "completeness", "informativeness"):
    assert scores[key] == pytest.approx(1.0, abs=0.01), key


def test_a_rotation_that_mixes_two_factors_scores_lower():
  factors = _factors()
  codes = factors @ _rotation(45).T
  assert disentanglement.mig(codes, factors)["score"] < 0.5
  # Each of the first two columns explains half of each of the first two factors: no gap for them.
  sap = disentanglement.sap(codes, factors)
  assert sap["per_factor"][0] < 0.05 and sap["per_factor"][1] < 0.05 and sap["per_factor"][2] > 0.95
  scores = disentanglement.dci(codes[:6000], factors[:6000], codes[6000:], factors[6000:])
  # Columns 0 and 1 spread their importance evenly over factors 0 and 1: 1 - log(2)/log(3) each, and
  # factor 2 is read by column 2 alone; weighted by importance shares: (2 * 0.369 * s + 1 * t).
  expected = (2 * (1 - np.log(2) / np.log(3)) * np.sqrt(2) + 1) / (2 * np.sqrt(2) + 1)
  assert scores["disentanglement"] == pytest.approx(expected, abs=0.02)
  assert scores["completeness"] == pytest.approx(expected, abs=0.02)
  assert scores["informativeness"] == pytest.approx(1.0, abs=0.01)  # Still a linear function of the code.
  # A smaller mix is in between.
  slight = factors @ _rotation(10).T
  assert disentanglement.mig(codes, factors)["score"] < disentanglement.mig(slight, factors)["score"] < 0.95


def test_columns_that_carry_nothing_and_column_order_change_no_score():
  factors = _factors(n=6000)
  noise = np.random.default_rng(1).normal(size=(6000, 2))
  codes = np.concatenate([noise[:, :1], factors[:, [2, 0, 1]], noise[:, 1:]], axis=1)
  assert disentanglement.mig(codes, factors)["score"] > 0.95
  assert disentanglement.sap(codes, factors)["score"] > 0.95
  scores = disentanglement.dci(codes[:5000], factors[:5000], codes[5000:], factors[5000:])
  assert scores["disentanglement"] > 0.95 and scores["completeness"] > 0.95
  assert np.argmax(np.asarray(scores["importance"]), axis=0).tolist() == [2, 3, 1]


def test_a_code_independent_of_the_factors_is_not_informative():
  factors = _factors(n=6000)
  codes = np.random.default_rng(2).normal(size=(6000, 3))
  assert disentanglement.mig(codes, factors)["score"] < 0.05
  assert disentanglement.sap(codes, factors)["score"] < 0.05
  assert disentanglement.dci(codes[:5000], factors[:5000], codes[5000:], factors[5000:])["informativeness"] < 0.02
  summary = disentanglement.all_metrics(codes, factors)
  assert set(summary) == {"mig", "sap", "dci_disentanglement", "dci_completeness", "dci_informativeness"}
  with pytest.raises(ValueError, match="at least 2 code columns"):
    disentanglement.mig(codes[:, :1], factors)
