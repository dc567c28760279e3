"""Naming directions by measured attributes, and the ground-truth score against known factors."""
import jax
import numpy as np

from ganxai_jax.explain import naming
from tests.toy_generators import bar_generator


def test_a_width_direction_is_named_width():
  generator = bar_generator()
  spread = naming.population_spread(generator, jax.random.key(0), 256)
  latents = np.asarray(generator.sample_latent(jax.random.key(1), 6)) * 0.3
  shifts = np.linspace(-2.0, 2.0, 7)
  axes = np.eye(4)[:, :2]
  measured = naming.measure_traversals(generator, np.concatenate([axes, -axes[:, :1]], 1), np.ones(3),
                                       latents, {}, shifts)
  effects = naming.direction_effects(measured, shifts, spread)
  assert [e.name for e in effects] == ["width +", "unclear", "width -"]
  np.testing.assert_allclose(effects[0].slope["width"], 3.0, atol=0.3)  # 2 · 1.5 px per unit of z0.
  assert effects[0].consistency["width"] == 1.0


def test_name_needs_a_consistent_and_large_effect():
  assert naming.name_from_effects({"slant": 1.0, "width": 0.8}, {"slant": 1.0, "width": 1.0}) == "slant +"
  assert naming.name_from_effects({"slant": 1.0, "width": -0.8}, {"slant": 0.5, "width": 1.0}) == "width -"
  assert naming.name_from_effects({"slant": 0.2}, {"slant": 1.0}) == "unclear"


def test_ground_truth_picks_the_direction_that_moves_the_factor():
  shifts = np.linspace(-1, 1, 5)
  rng = np.random.default_rng(0)
  base = {a: rng.normal(size=(3, 4, 1)) * 0.1 + 1.0 for a in naming.ATTRIBUTES}
  measured = {a: np.broadcast_to(v, (3, 4, 5)).copy() for a, v in base.items()}
  measured["slant"][1] += 2.0 * shifts  # Direction 1 changes slant; 0 and 2 change nothing.
  measured["slant"][2] += rng.normal(size=(4, 5)) * 0.01
  coefficients = np.zeros((len(naming.ATTRIBUTES) + 1, 1))
  coefficients[naming.ATTRIBUTES.index("slant"), 0] = 0.5  # factor = 0.5 · standardised slant
  calibration = naming.Calibration(("slant",), np.zeros(5), np.ones(5), coefficients, np.ones(1))
  scores = naming.ground_truth_scores(measured, shifts, calibration)
  assert scores["slant"]["direction"] == 1
  assert scores["slant"]["best_abs_correlation"] > 0.95


def test_calibration_recovers_a_linear_factor_on_rendered_words():
  images, factors, names = naming.render_calibration_set(48, 4, seed=0)
  assert images.shape == (48, 32, 64, 1) and factors.shape == (48, len(names)) and "font" not in names
  calibration = naming.calibrate(images, factors, names)
  # Ink intensity is what the measured intensity measures: the regression must find it.
  assert calibration.r2[names.index("ink_intensity")] > 0.8


def test_coverage_counts_attributes_not_signs_or_unclear():
  found = naming.coverage(["slant +", "slant -", "width +", "unclear", "thickness -", "unclear"])
  assert found == {"distinct_attributes": 3, "attribute_counts": {"width": 1, "slant": 2, "thickness": 1},
                   "named": 4, "unclear": 2}
  assert naming.coverage(["unclear"] * 3)["distinct_attributes"] == 0
