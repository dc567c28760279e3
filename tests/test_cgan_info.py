"""The CGAN with a style code (`configs/mnist.py:cgan_info`): NMI and purity, the style-code scores on a
generator whose code is known, Q's independence of the label, and the tiny run through the train CLI."""
import json
import os

import jax
import numpy as np
import pytest

from configs import mnist as mnist_configs
from ganxai_jax import config_checks
from ganxai_jax.errors import ConfigError
from ganxai_jax.evaluation import clustering
from ganxai_jax.evaluation import infogan_eval
from ganxai_jax.evaluation import style_codes
from ganxai_jax.models.latent import LatentSpec
from ganxai_jax.training import trainer
from tests.conftest import run_cli


# ---- NMI and purity ------------------------------------------------------------------------------

def test_identical_partitions_score_one_whatever_their_names():
  labels = np.arange(300) % 10
  renamed = (7 * labels + 3) % 10  # The same partition, values renamed.
  assert clustering.normalized_mutual_information(renamed, labels) == pytest.approx(1.0)
  assert clustering.purity(renamed, labels) == 1.0


def test_independent_partitions_score_nmi_zero_and_the_largest_label_share():
  index = np.arange(7 * 10 * 6)
  clusters, labels = index % 7, (index // 7) % 10  # Every (cluster, label) pair equally often.
  assert clustering.normalized_mutual_information(clusters, labels) == pytest.approx(0.0, abs=1e-12)
  assert clustering.purity(clusters, labels) == pytest.approx(0.1)


def test_small_known_answers():
  clusters = np.array([0, 0, 0, 1, 1, 1])
  labels = np.array([0, 0, 1, 1, 1, 1])
  assert clustering.purity(clusters, labels) == pytest.approx(5 / 6)
  # I = H(L) - H(L|C) with H(L) = h(1/3), H(L|C) = h(1/3) / 2; H(C) = ln 2.
  h = -(1 / 3 * np.log(1 / 3) + 2 / 3 * np.log(2 / 3))
  expected = (h - h / 2) / ((np.log(2) + h) / 2)
  assert clustering.normalized_mutual_information(clusters, labels) == pytest.approx(expected)
  assert clustering.normalized_mutual_information(np.zeros(4), np.zeros(4)) == 1.0


def test_random_baseline_is_near_zero_for_a_code_that_knows_the_labels():
  labels = np.random.default_rng(0).integers(0, 10, 1000)
  baseline = clustering.random_baseline(labels, labels, seed=0)
  assert baseline["nmi"] < 0.05
  assert 0.1 <= baseline["purity"] < 0.2
  with pytest.raises(ValueError):
    clustering.purity(np.zeros(3), np.zeros(4))


# ---- Style-code scores on a generator whose code is known ------------------------------------------

def _bars(widths: np.ndarray, heights: np.ndarray) -> np.ndarray:
  """Upright bars, `widths` and `heights` in pixels, centred in 28×28 images in [-1, 1]."""
  images = -np.ones((len(widths), 28, 28, 1), np.float32)
  for index, (width, height) in enumerate(zip(widths, heights)):
    top, left = 14 - height // 2, 14 - width // 2
    images[index, top:top + height, left:left + width, 0] = 1.0
  return images


def _bar_generator(latent):
  """Code value v draws a bar 2 + 2v pixels wide; digit d makes it 10 + d pixels tall."""
  return _bars(2 + 2 * latent["categorical"], 10 + latent["labels"])


def _width_reader(images):
  """A Q that reads the code value back from a bar's width."""
  width = np.sum(images[:, 14, :, 0] > 0, axis=-1)
  return np.eye(10)[np.clip((width - 2) // 2, 0, 9)]


def test_style_code_scores_find_the_factor_the_code_moves():
  spec = LatentSpec(noise_dim=4, num_classes=10, num_categorical=10)
  digits = np.arange(200) % 10
  # Real "digits" drawn with the code value equal to the digit: this Q sorts them by digit.
  real = {"image": _bars(2 + 2 * digits, 10 + digits), "label": digits}
  scores = style_codes.evaluate_style_codes(_bar_generator, _width_reader, spec, real, num_samples=30)
  assert scores["style_code_width_eta_squared"] == pytest.approx(1.0)
  assert scores["style_code_height_eta_squared"] == 0.0  # The digit alone sets the height.
  assert scores["style_code0_width_mean"] == 2.0 and scores["style_code9_width_mean"] == 20.0
  assert scores["style_code0_width_d"] < -1.0 < 1.0 < scores["style_code9_width_d"]
  assert scores["style_code_q_generated_accuracy"] == 1.0
  assert scores["style_code_real_nmi"] == pytest.approx(1.0) and scores["style_code_real_purity"] == 1.0
  assert scores["style_code_real_random_nmi"] < 0.2 and scores["style_code_real_random_purity"] < 0.3
  assert scores["style_code_real_values_used"] == 10.0


def test_q_of_a_conditional_discriminator_ignores_the_label():
  discriminator = trainer.build_components(mnist_configs.get_config("cgan_info,tiny")).discriminator
  images = np.random.default_rng(0).uniform(-1, 1, (20, 28, 28, 1)).astype(np.float32)
  variables = jax.jit(discriminator.init)(jax.random.key(0), images, np.zeros(20, np.int32))
  apply = jax.jit(lambda v, x, y: discriminator.apply(v, x, y, train=False))
  outputs = [apply(variables, images, np.full(20, label, np.int32)) for label in (0, 7)]
  np.testing.assert_allclose(outputs[0][1]["q_logits"], outputs[1][1]["q_logits"])
  assert not np.allclose(outputs[0][0], outputs[1][0])  # D's logit does read the label.
  q_fn = infogan_eval.make_q_fn(discriminator, variables)
  np.testing.assert_allclose(q_fn(images), outputs[0][1]["q_logits"], rtol=1e-5, atol=1e-6)


def test_a_one_valued_code_is_a_config_error():
  config = mnist_configs.get_config("cgan_info,tiny")
  config.num_categorical = 1
  with pytest.raises(ConfigError, match=r"config.num_categorical=1: must be 0 .* or an integer >= 2"):
    config_checks.check_mnist(config)


# ---- The tiny run through the CLI ----------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mnist_data_dir) -> str:
  workdir = str(tmp_path_factory.mktemp("cgan_info") / "run")
  run_cli("experiments.train", "--config=configs/mnist.py:cgan_info,tiny", f"--workdir={workdir}",
          f"--config.data_dir={mnist_data_dir}")
  return workdir


def test_tiny_run_writes_the_style_code_scores(tiny_run):
  with open(os.path.join(tiny_run, "eval.json")) as fh:
    scores = json.load(fh)
  assert scores["step"] == 4
  assert 0.0 <= scores["label_accuracy"] <= 1.0 and scores["fid"] > 0
  for factor in style_codes.STYLE_FACTORS:
    assert 0.0 <= scores[f"style_code_{factor}_eta_squared"] <= 1.0
    for value in range(10):
      assert np.isfinite(scores[f"style_code{value}_{factor}_d"])
      assert np.isfinite(scores[f"style_code{value}_{factor}_mean"])
  for key in ("style_code_real_nmi", "style_code_real_purity", "style_code_real_random_nmi",
              "style_code_real_random_purity", "style_code_q_generated_accuracy"):
    assert 0.0 <= scores[key] <= 1.0, key
  assert scores["style_code_real_purity"] >= 0.1 - 1e-9  # At least the largest digit's share.
  assert "infogan_cont0_slant_slope" in scores
  assert "infogan_categorical_accuracy" not in scores  # The unconditional InfoGAN's digit scores.
  with open(os.path.join(tiny_run, "config.json")) as fh:
    assert json.load(fh)["model"] == "cgan"


def test_tiny_run_draws_the_style_code_grid(tiny_run):
  figures = os.listdir(os.path.join(tiny_run, "figures"))
  assert "style_code.png" in figures and "style_code_000002.png" in figures
