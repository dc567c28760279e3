"""GANSpace and SeFa on weights and features with known principal directions."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ganxai_jax.explain import closed_form
from ganxai_jax.generators.interface import TrainedGenerator
from tests.toy_generators import linear_generator


def _orthogonal(rng, n):
  q, _ = np.linalg.qr(rng.normal(size=(n, n)))
  return q


def test_sefa_recovers_top_singular_vectors_of_a_known_weight():
  rng = np.random.default_rng(0)
  left, right = _orthogonal(rng, 40)[:, :10], _orthogonal(rng, 10)
  singular = np.array([9.0, 7.0, 5.0, 3.0, 2.0, 1.5, 1.0, 0.7, 0.5, 0.2])
  weight = left @ np.diag(singular) @ right.T  # [out 40, latent 10]
  found = closed_form.sefa_directions(weight, 3, normalize_rows=False)
  for k in range(3):
    assert abs(found.directions[:, k] @ right[:, k]) > 0.999
  np.testing.assert_allclose(found.importance, singular[:3] ** 2, rtol=1e-6)
  np.testing.assert_allclose(np.linalg.norm(found.directions, axis=0), 1.0)


def test_sefa_row_normalisation_ignores_row_scales():
  rng = np.random.default_rng(1)
  weight = rng.normal(size=(30, 6))
  scaled = weight * rng.uniform(0.1, 10.0, size=(30, 1))
  a = closed_form.sefa_directions(weight, 6).directions
  b = closed_form.sefa_directions(scaled, 6).directions
  np.testing.assert_allclose(np.abs(a.T @ b), np.eye(6), atol=1e-6)


def test_ganspace_recovers_a_planted_principal_direction():
  rng = np.random.default_rng(2)
  latents = rng.normal(size=(2000, 8))
  planted = _orthogonal(rng, 8)[:, 0]
  loud, quiet = rng.normal(size=50), 0.1 * rng.normal(size=(8, 50))
  features = np.outer(latents @ planted, 10.0 * loud) + latents @ quiet
  found = closed_form.ganspace_from_samples(latents, features, 3)
  assert abs(found.directions[:, 0] @ planted) > 0.99
  # One standard deviation of the component is one standard deviation of z along the planted direction.
  np.testing.assert_allclose(found.scales[0], 1.0, rtol=0.05)
  assert found.importance[0] > 50 * found.importance[1]


def test_ganspace_through_the_generator_interface():
  # Features scale z's axes by 1, 1/2, 1/4, ...: the components are the axes in that order.
  generator = dataclasses.replace(linear_generator(), features_fn=lambda v, z, c: z * 2.0 ** -jnp.arange(16.0))
  found = closed_form.ganspace_directions(generator, jax.random.key(0), 2048, 3)
  assert found.directions.shape == (16, 3)
  np.testing.assert_allclose(np.abs(found.directions[:3, :3]), np.eye(3), atol=0.05)


def test_ganspace_finds_style_not_the_condition():
  """Features = a large offset set by the condition (as a word's letters set ScrabbleGAN's features) plus
  z's effect, strongest along axis 2. PCA across conditions would find the offset; per condition it finds
  the axis z moves."""
  gains = jnp.array([1.0, 1.0, 4.0, 1.0])
  offset_axis = jnp.array([1.0, -1.0, 0.0, 1.0]) / jnp.sqrt(3.0)

  def features_fn(variables, z, condition):
    del variables
    return 20.0 * condition["labels"][:, None].astype(jnp.float32) * offset_axis + z * gains

  generator = TrainedGenerator(
      name="toy_conditional", kind="digits", latent_dim=4, ink_polarity="bright", variables={},
      apply_fn=lambda v, z, c: z, features_fn=features_fn,
      condition_fn=lambda rng, n: {"labels": jax.random.randint(rng, (n,), 0, 10)},
      weight_fn=lambda v: np.eye(4))
  found = closed_form.ganspace_directions(generator, jax.random.key(0), 4096, 2)
  assert abs(found.directions[2, 0]) > 0.99
