"""InfoGAN: the information loss falls in training, and the code scores and traversals are right."""
import jax
import numpy as np
import pytest

from configs import mnist as mnist_configs
from ganxai_jax.evaluation import infogan_eval
from ganxai_jax.models.latent import LatentSpec
from ganxai_jax.run import parallel
from ganxai_jax.training import gan_step, trainer


def _tiny_infogan():
  config = mnist_configs.get_config("infogan,tiny")
  mesh = parallel.make_mesh(jax.devices()[:1])
  components = trainer.build_components(config, mesh)
  return config, mesh, components, trainer.create_state(config, components, mesh)


def _info_loss_on(components, state, latent) -> float:
  """The information loss of fixed latents under the current G and Q (batch statistics, no updates)."""
  g_net, d_net = state.nets["generator"], state.nets["discriminator"]
  (fake, _), _ = gan_step.generate(components, g_net.variables(), latent, train=True, mutable=g_net.mutable)
  (_, aux), _ = components.discriminator.apply(d_net.variables(), fake, train=True, mutable=d_net.mutable)
  return float(gan_step.info_loss(aux, latent, components.latent_spec))


def test_information_loss_falls_on_a_tiny_run():
  config, mesh, components, state = _tiny_infogan()
  latent = components.latent_spec.sample(jax.random.key(123), 512)
  before = _info_loss_on(components, state, latent)
  step_fn = trainer.make_train_step(components)
  rng = np.random.default_rng(0)
  for _ in range(150):
    # Random "real" images: the information loss is about fakes, and this keeps the test data-free.
    batch = {"image": rng.uniform(-1, 1, (config.batch_size, 28, 28, 1)).astype(np.float32),
             "label": np.zeros(config.batch_size, np.int32)}
    state, _ = step_fn(state, parallel.global_batch(batch, mesh))
  after = _info_loss_on(components, state, latent)
  # At initialisation Q knows nothing: ln(10) for the category plus about 1/3 per continuous code.
  assert before > 2.0, before
  assert after < 0.6 * before, (before, after)


def _bar_images(latent: dict[str, np.ndarray]) -> np.ndarray:
  """A fake generator: a bar whose width is 6 + 2·c1 pixels and whose top leans right with c0."""
  count = len(latent["noise"])
  images = -np.ones((count, 28, 28, 1), np.float32)
  for index in range(count):
    lean, width = latent["continuous"][index]
    bar = int(np.floor(6 + 2 * width + 0.5))  # Exact on the sweep's half-integer steps: 2 to 10 pixels.
    for row in range(4, 24):
      left = 14 - bar // 2 + int(round(lean * (14 - row) * 0.3))
      images[index, row, max(left, 0):left + bar, 0] = 1.0
  return images


def test_continuous_scores_find_the_codes_of_a_known_generator():
  spec = LatentSpec(noise_dim=4, num_categorical=10, num_continuous=2)
  scores = infogan_eval.continuous_scores(_bar_images, spec, seed=0, num_samples=12)
  assert scores["infogan_cont0_slant_slope"] > 5.0          # degrees per unit code
  assert scores["infogan_cont0_slant_sign_agreement"] == 1.0
  assert scores["infogan_cont1_width_slope"] == pytest.approx(2.0, abs=0.05)  # pixels per unit code
  assert scores["infogan_cont1_width_sign_agreement"] == 1.0
  assert abs(scores["infogan_cont1_slant_slope"]) < 0.5     # width does not tilt the bar


def test_categorical_scores_undo_a_permutation_of_the_categories():
  spec = LatentSpec(noise_dim=4, num_categorical=10)
  labels = np.arange(200) % 10
  permutation = np.random.default_rng(0).permutation(10)
  images = labels.astype(np.float32)[:, None, None, None] * np.ones((1, 28, 28, 1), np.float32)
  q_fn = lambda x: np.eye(10)[permutation[x[:, 0, 0, 0].astype(int)]]  # value permutation[d] draws digit d
  scores, mapping = infogan_eval.categorical_scores(q_fn, spec, {"image": images, "label": labels})
  assert scores["infogan_categorical_accuracy"] == 1.0
  assert mapping[permutation].tolist() == list(range(10))


def test_scores_and_traversals_of_a_tiny_model(mnist_data_dir):
  config, _, components, state = _tiny_infogan()
  config.data_dir = mnist_data_dir
  scores = trainer.evaluate(config, components, state)
  assert 0.0 <= scores["infogan_categorical_accuracy"] <= 1.0
  assert sorted(scores[f"infogan_code{v}_digit"] for v in range(10)) == list(range(10))
  for value in range(10):
    assert 0.0 <= scores[f"infogan_code{value}_generated_accuracy"] <= 1.0
  for code in range(2):
    for name in ("slant", "width"):
      assert np.isfinite(scores[f"infogan_cont{code}_{name}_slope"])
      assert 0.0 <= scores[f"infogan_cont{code}_{name}_sign_agreement"] <= 1.0
  figures = trainer.sample_figures(components, state, seed=0, step=0)
  assert {"samples", "infogan_categorical", "infogan_continuous0", "infogan_continuous1"} <= set(figures)
  # Rows are noise samples, columns the categorical value: ten labelled columns.
  assert [t.get_text() for t in figures["infogan_categorical"].axes[0].get_xticklabels()] == [
      str(v) for v in range(10)]


def test_sweep_latents_vary_one_code_and_keep_noise_and_category():
  spec = LatentSpec(noise_dim=4, num_categorical=10, num_continuous=2)
  latent = infogan_eval.sweep_latents(spec, code=1, seed=0, num_samples=3)
  values = latent["continuous"].reshape(3, -1, 2)
  assert np.allclose(values[:, :, 0], 0.0)
  assert np.allclose(values[:, :, 1], infogan_eval.SWEEP[None])
  noise = latent["noise"].reshape(3, len(infogan_eval.SWEEP), 4)
  assert np.allclose(noise, noise[:, :1])
  assert latent["categorical"].reshape(3, -1)[:, 0].tolist() == [0, 1, 2]


def test_batch_norm_in_d_sees_fakes_in_the_d_step_as_the_g_step_does():
  # With BatchNorm in D, one mixed real+fake batch would normalise fakes differently in D's step than
  # in G's step (fakes alone): D's step must compute its fake logits on a batch of fakes alone.
  config, mesh, components, state = _tiny_infogan()
  assert components.separate_d_batches
  d_net = state.nets["discriminator"]
  rng = np.random.default_rng(1)
  real = rng.uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
  fake = rng.uniform(-0.2, 0.2, (8, 28, 28, 1)).astype(np.float32)
  alone, _ = components.discriminator.apply(d_net.variables(), fake, train=True, mutable=d_net.mutable)
  mixed, _ = components.discriminator.apply(d_net.variables(), np.concatenate([real, fake]), train=True,
                                            mutable=d_net.mutable)
  assert not np.allclose(alone[0], mixed[0][8:], atol=1e-3)  # The problem is real for this D.
  # D's step: its mean fake logit is that of D on the step's fakes alone (regenerated here).
  config.batch_size = 8
  g_net = state.nets["generator"]
  d_key, _ = jax.random.split(jax.random.fold_in(state.rng, state.step))
  latent = components.latent_spec.sample(d_key, 8)
  (fakes, _), _ = gan_step.generate(components, g_net.variables(), latent, train=True, mutable=g_net.mutable)
  (expected, _), _ = components.discriminator.apply(d_net.variables(), fakes, train=True,
                                                    mutable=d_net.mutable)
  step_fn = trainer.make_train_step(components)
  batch = {"image": real, "label": np.zeros(8, np.int32)}
  _, metrics = step_fn(state, parallel.global_batch(batch, mesh))
  assert float(metrics["d_logit_fake"]) == pytest.approx(float(np.mean(expected)), rel=1e-4, abs=1e-5)


def test_categorical_and_continuous_codes_have_their_own_weights():
  import dataclasses
  _, _, components, _ = _tiny_infogan()
  spec = components.latent_spec
  latent = spec.sample(jax.random.key(0), 6)
  rng = np.random.default_rng(0)
  aux = {"q_logits": rng.normal(size=(6, spec.num_categorical)).astype(np.float32),
         "q_mean": rng.normal(size=(6, spec.num_continuous)).astype(np.float32)}
  categorical, continuous = (float(x) for x in gan_step.info_losses(aux, latent, spec))
  weighted = dataclasses.replace(components, info_weight=2.0, info_continuous_weight=0.1)
  total, metrics = gan_step._weighted_info(weighted, aux, latent, "info_loss")
  assert float(total) == pytest.approx(2.0 * categorical + 0.1 * continuous, rel=1e-5)
  assert float(metrics["info_loss"]) == pytest.approx(categorical + continuous, rel=1e-5)
