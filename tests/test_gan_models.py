"""MNIST generator/discriminator shapes and the losses."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganxai_jax.models import dcgan
from ganxai_jax.models import layers
from ganxai_jax.models.latent import LatentSpec
from ganxai_jax.training import losses


@pytest.mark.parametrize("num_classes,codes,attention", [(0, (0, 0), ()), (10, (0, 0), ()), (10, (0, 0), (14,)),
                                                         (0, (10, 2), ())])
def test_generator_and_discriminator_shapes(num_classes, codes, attention):
  spec = LatentSpec(noise_dim=8, num_classes=num_classes, num_categorical=codes[0], num_continuous=codes[1])
  latent = spec.sample(jax.random.key(0), 4)
  g = dcgan.Generator(latent_dim=8, num_classes=num_classes, channels=8, attention_resolutions=attention)
  variables = g.init(jax.random.key(1), spec.vector(latent), latent.get("labels"))
  images, aux = g.apply(variables, spec.vector(latent), latent.get("labels"))
  assert images.shape == (4, 28, 28, 1)
  assert float(jnp.max(jnp.abs(images))) <= 1.0
  d = dcgan.Discriminator(num_classes=num_classes, channels=8, spectral_norm=True, attention_resolutions=attention,
                          num_categorical=codes[0], num_continuous=codes[1])
  d_vars = d.init(jax.random.key(2), images, latent.get("labels"))
  assert "spectral" in d_vars and "batch_stats" not in d_vars.get("spectral", {})
  logits, d_aux = d.apply(d_vars, images, latent.get("labels"))
  assert logits.shape == (4,)
  if attention:
    assert aux["attention"]["attention_14"].shape == (4, 14 * 14, 7 * 7)
    assert d_aux["attention"]["attention_14"].shape == (4, 14 * 14, 7 * 7)
  if codes[0]:
    assert d_aux["q_logits"].shape == (4, 10) and d_aux["q_mean"].shape == (4, 2)


def test_conditional_models_require_labels():
  g = dcgan.Generator(latent_dim=4, num_classes=10, channels=4)
  with pytest.raises(ValueError, match="conditional"):
    g.init(jax.random.key(0), jnp.zeros((2, 4)))


def test_latent_vector_layout():
  spec = LatentSpec(noise_dim=3, num_categorical=4, num_continuous=2)
  latent = spec.sample(jax.random.key(0), 5)
  vector = spec.vector(latent)
  assert vector.shape == (5, spec.vector_dim) == (5, 9)
  np.testing.assert_array_equal(np.argmax(vector[:, 3:7], -1), latent["categorical"])
  assert float(jnp.max(jnp.abs(latent["continuous"]))) <= 1.0


def test_non_saturating_loss_values():
  d_loss, real, fake, g_loss = losses.non_saturating(jnp.array([0.0, 0.0]), jnp.array([0.0, 0.0]))
  np.testing.assert_allclose([real, fake, g_loss], [np.log(2)] * 3, rtol=1e-6)
  np.testing.assert_allclose(d_loss, 2 * np.log(2), rtol=1e-6)
  # A confident, correct D: small D loss, large G loss.
  d_loss, _, _, g_loss = losses.non_saturating(jnp.array([10.0]), jnp.array([-10.0]))
  assert float(d_loss) < 1e-3 and float(g_loss) > 9.9


def test_hinge_loss_values():
  d_loss, real, fake, g_loss = losses.hinge(jnp.array([2.0, 0.5]), jnp.array([-3.0, 0.0]))
  np.testing.assert_allclose([real, fake, g_loss], [0.25, 0.5, 1.5])
  np.testing.assert_allclose(d_loss, 0.75)


def test_unknown_loss_is_rejected():
  with pytest.raises(ValueError, match="loss='wasserstein' is not one of"):
    losses.get_loss("wasserstein")


def test_max_pool_2x2_equals_flax_max_pool_in_values_and_gradients():
  x = jax.random.normal(jax.random.key(0), (2, 7, 9, 3))  # Odd sizes: the last row and column are dropped.
  np.testing.assert_array_equal(layers.max_pool_2x2(x), nn.max_pool(x, (2, 2), (2, 2)))
  grad_new = jax.grad(lambda v: jnp.sum(jnp.sin(layers.max_pool_2x2(v))))(x)
  grad_old = jax.grad(lambda v: jnp.sum(jnp.sin(nn.max_pool(v, (2, 2), (2, 2)))))(x)
  np.testing.assert_allclose(grad_new, grad_old, rtol=1e-6, atol=1e-7)


def test_projection_embedding_is_spectrally_normalised():
  """With `projection_spectral_norm` the class table D projects on has spectral norm 1 after power
  iteration (its raw table is scaled up 50× to make the difference plain); without it the table is used
  as stored, under the parameter name that run folders saved before the option hold."""
  images, labels = jnp.zeros((4, 28, 28, 1)), jnp.arange(4)
  d_sn = dcgan.Discriminator(num_classes=10, channels=4, spectral_norm=True, projection_spectral_norm=True)
  variables = d_sn.init(jax.random.PRNGKey(0), images, labels)
  table = variables["params"]["label_projection"]["embed"]["embedding"]
  variables = {**variables, "params": {**variables["params"], "label_projection": {"embed": {"embedding": 50 * table}}}}
  for _ in range(30):  # Power iteration, one step per training call.
    _, updates = d_sn.apply(variables, images, labels, train=True, mutable=[layers.SPECTRAL])
    variables = {**variables, **updates}
  sigma = variables[layers.SPECTRAL]["label_projection"]["SpectralNorm_0"]["embed/embedding/sigma"]
  np.testing.assert_allclose(sigma, np.linalg.svd(np.asarray(50 * table), compute_uv=False)[0], rtol=1e-3)

  plain = dcgan.Discriminator(num_classes=10, channels=4, spectral_norm=True)
  assert "embedding" in plain.init(jax.random.PRNGKey(0), images, labels)["params"]["label_projection"]
