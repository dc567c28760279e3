"""Naming directions by measured attributes, and the ground-truth score against known factors."""
import jax
import jax.numpy as jnp
import numpy as np

from ganxai_jax.explain import naming
from ganxai_jax.generators.interface import TrainedGenerator
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


def _box_generator():
  """28×28 bright boxes: z[0] sets the half-width, z[1] the half-height; nothing else matters."""
  def apply_fn(variables, z, condition):
    del variables, condition
    half_width = jnp.clip(6.0 + 2.0 * z[:, 0], 1.0, 13.0)[:, None, None]
    half_height = jnp.clip(6.0 + 2.0 * z[:, 1], 1.0, 13.0)[:, None, None]
    cols, rows = jnp.arange(28)[None, None, :] + 0.5, jnp.arange(28)[None, :, None] + 0.5
    box = (jnp.abs(cols - 14.0) < half_width) & (jnp.abs(rows - 14.0) < half_height)
    return jnp.where(box, 1.0, -1.0)[..., None]
  return TrainedGenerator(name="toy_box", kind="digits", latent_dim=2, ink_polarity="bright", variables={},
                          apply_fn=apply_fn, features_fn=lambda v, z, c: z, condition_fn=lambda rng, n: {},
                          weight_fn=lambda v: np.eye(2))


def test_disentanglement_of_directions_that_each_move_one_factor_beats_mixed_ones():
  generator = _box_generator()
  # Factors: the measured width and height themselves (a calibration that reads them off).
  coefficients = np.zeros((len(naming.ATTRIBUTES) + 1, 2))
  coefficients[naming.ATTRIBUTES.index("width"), 0] = 1.0
  coefficients[naming.ATTRIBUTES.index("height"), 1] = 1.0
  calibration = naming.Calibration(("width", "height"), np.zeros(5), np.ones(5), coefficients, np.ones(2))
  latents = np.zeros((600, 2))
  read = lambda images: calibration.read(images, "bright")
  score = lambda directions: naming.disentanglement_scores(generator, directions, np.ones(2), latents, {},
                                                           radius=2.0, read=read)
  axes = score(np.eye(2))
  mixed = score(np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2))
  assert axes["mig"] > 0.8 and axes["sap"] > 0.9 and axes["dci_disentanglement"] > 0.9
  for metric in ("mig", "sap", "dci_disentanglement", "dci_completeness"):
    assert mixed[metric] < axes[metric] - 0.3, metric
  assert mixed["dci_informativeness"] > 0.9  # The mixed code still says everything, only not apart.
