"""Drawing digits in the style of a real digit: inverting a digit image to the MNIST CGAN's noise z
(explain/inversion.py), its scores, the generate command's --style_image on a CGAN run and show_data's
--export_digits, on a tiny CGAN trained through the CLI."""
import dataclasses
import json

import jax
import numpy as np
import pytest
from PIL import Image

from ganxai_jax import generation
from ganxai_jax import kinds
from ganxai_jax.data import pipeline
from ganxai_jax.explain import inversion
from ganxai_jax.run import workdir as workdir_lib
from tests.conftest import run_cli

DIGIT = 3
SETTINGS = inversion.InversionSettings(steps=60)


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory, mnist_data_dir):
  """A tiny CGAN (20 steps) trained through the CLI, and one digit it drew from a known z, saved as a PNG
  in MNIST's form (white on black) and as dark ink on light paper: 'real' digits whose z exists."""
  root = tmp_path_factory.mktemp("digit_inversion")
  workdir = root / "run"
  # 20 steps at a high learning rate: after tiny's 4 steps at 2e-4, G's images hardly depend on z (their
  # spread over z is 4e-4 of the [-1, 1] range), so there would be no style to find.
  run_cli("experiments.train", "--config=configs/mnist.py:cgan,tiny", f"--workdir={workdir}",
          f"--config.data_dir={mnist_data_dir}", "--config.num_train_steps=20", "--config.g_lr=0.01",
          "--config.d_lr=0.01")
  config, state = kinds.restore(str(workdir))
  generator = kinds.kind_of(config).generator(config, workdir_lib.inference_variables(state), 20)
  true_z = np.asarray(generator.sample_latent(jax.random.key(7), 1))
  image = generator.render(true_z, {"labels": np.array([DIGIT], np.int32)})[0]
  pixels = generation.to_uint8(image[None])[0]
  png, paper = root / "digit.png", root / "paper.png"
  Image.fromarray(pixels, mode="L").save(png)
  Image.fromarray(255 - pixels, mode="L").save(paper)
  return {"workdir": workdir, "root": root, "generator": generator, "true_z": true_z[0], "image": image,
          "png": png, "paper": paper, "data_dir": mnist_data_dir}


def test_inverting_a_digit_the_cgan_drew_reconstructs_it_far_better_than_random_styles(cgan_run):
  generator, image = cgan_run["generator"], cgan_run["image"]
  found = inversion.invert_digit(generator, image, DIGIT, SETTINGS)
  random_z = inversion.random_styles(generator, 0, 16)
  random_images = generator.render(random_z, inversion.digit_condition(generator, [DIGIT] * 16))
  random_errors = inversion.pixel_error(random_images, image)
  assert found.pixel_error < 0.5 * random_errors.mean(), (found.pixel_error, random_errors)
  assert found.pixel_error < random_errors.min()
  assert found.losses.shape == (SETTINGS.steps,) and found.losses[-1] < found.losses[0]
  assert found.z.shape == (generator.latent_dim,) and found.reconstruction.shape == image.shape
  np.testing.assert_allclose(found.pixel_error, np.mean(np.abs(found.reconstruction - image)), rtol=1e-5)
  again = inversion.invert_digit(generator, image, DIGIT, SETTINGS)
  np.testing.assert_allclose(again.z, found.z, rtol=1e-5, atol=1e-5)


def test_digit_inversion_refuses_other_shapes_labels_and_generators(cgan_run):
  generator = cgan_run["generator"]
  with pytest.raises(ValueError, match=r"\(28, 28, 1\)"):
    inversion.invert_digit(generator, np.zeros((32, 32, 1), np.float32), DIGIT)
  with pytest.raises(ValueError, match=r"classes 0-9"):
    inversion.invert_digit(generator, cgan_run["image"], 10)
  unconditional = dataclasses.replace(generator, num_classes=0, name="mnist_gan")
  with pytest.raises(ValueError, match="class-conditional"):
    inversion.digit_condition(unconditional, [1])
  with_codes = dataclasses.replace(generator, latent_layout={"noise": 8, "labels": 10, "categorical": 10})
  with pytest.raises(ValueError, match="style codes"):
    inversion.digit_condition(with_codes, [1])


def test_the_true_z_scores_zero_style_distance_and_the_judge_reads_the_asked_digits(cgan_run):
  generator, image, true_z = cgan_run["generator"], cgan_run["image"], cgan_run["true_z"]
  exact = inversion.Inversion(z=true_z, reconstruction=image, losses=np.zeros(0), restart_losses=np.zeros(1),
                              pixel_error=0.0)
  asked = []

  def judge(images, condition):  # Every image read as another digit: content error 1.
    asked.append((len(images), np.asarray(condition["labels"]).tolist()))
    return np.ones(len(images))

  # Drawn again with its own z and digit, the real digit's style agrees exactly with itself.
  scores = inversion.score_digit(generator, image, DIGIT, exact, [DIGIT, DIGIT], judge, num_random=8)
  assert scores["style_distance"] == pytest.approx(0.0, abs=1e-5)
  assert scores["reconstruction_style_distance"] == pytest.approx(0.0, abs=1e-5)
  assert scores["share_of_random_styles_closer"] == 0.0 and scores["random_style_distance"] > 0
  assert scores["pixel_error"] == 0.0 and scores["random_pixel_error_best"] <= scores["random_pixel_error"]
  assert scores["content_error"] == 1.0 and scores["random_content_error"] == 1.0
  assert asked == [(2, [DIGIT, DIGIT]), (16, [DIGIT] * 16)]  # The new digits, then the random styles'.
  assert set(scores["style_distance_per_attribute"]) == set(inversion.DIGIT_STYLE_ATTRIBUTES)
  # Each attribute is a standard score among random styles of the same digit: their own scores average 0.
  attributes = inversion.digit_attributes(generator.render(inversion.random_styles(generator, 0, 8),
                                                           inversion.digit_condition(generator, [1] * 8)))
  scored = inversion._standard_scores(attributes, attributes)  # pylint: disable=protected-access
  np.testing.assert_allclose(scored.mean(axis=0), 0.0, atol=1e-6)


def test_a_digit_on_light_paper_reads_as_the_same_white_on_black_digit(cgan_run):
  white, inverted = generation.read_style_digit(str(cgan_run["png"]))
  paper, paper_inverted = generation.read_style_digit(str(cgan_run["paper"]))
  assert not inverted and paper_inverted
  np.testing.assert_allclose(paper, white, atol=1e-6)
  np.testing.assert_allclose(white, cgan_run["image"], atol=1 / 127.5)  # The PNG's 8-bit rounding.
  big = cgan_run["root"] / "big.png"
  Image.open(cgan_run["png"]).resize((56, 84)).save(big)
  assert generation.read_style_digit(str(big))[0].shape == (28, 28, 1)


def test_generate_draws_digits_in_the_style_of_a_real_digit_and_scores_it(cgan_run):
  output = cgan_run["root"] / "styled.png"
  proc = run_cli("experiments.generate", f"--workdir={cgan_run['workdir']}", f"--style_image={cgan_run['paper']}",
                 f"--style_text={DIGIT}", "--text=0 1 7", f"--inversion_steps={SETTINGS.steps}",
                 f"--output={output}")
  assert f"wrote {output}" in proc.stdout
  with Image.open(output) as figure:
    assert figure.size[0] > 100
  scores = json.loads(output.with_suffix(".json").read_text())
  assert scores["digit"] == DIGIT and scores["new_digits"] == [0, 1, 7] and scores["colours_inverted"]
  assert scores["pixel_error"] < scores["random_pixel_error_best"] <= scores["random_pixel_error"]
  for key in ("style_distance", "random_style_distance", "content_error", "random_content_error"):
    assert 0 <= scores[key], key
  assert "evaluation classifier" in scores["content_judge"]
  assert len(scores["z"]) == cgan_run["generator"].latent_dim
  # Its record is a style the placement reads, as a word's is, and whose digit scores it averages.
  record = generation.read_style_record(str(output.with_suffix(".json")))
  assert record["digit"] == DIGIT
  other = {**record, "style_distance": record["style_distance"] + 1.0, "content_error": 1.0}
  summary = generation.inversion_summary([record, other])
  assert summary["style_distance"] == pytest.approx(record["style_distance"] + 0.5)
  assert summary["content_error"] == pytest.approx((record["content_error"] + 1.0) / 2)
  assert "reader_distance" not in summary  # A word score no digit record holds.


def test_show_data_exports_real_test_digits_class_by_class(cgan_run, tmp_path):
  run_cli("experiments.show_data", "--config=configs/mnist.py:cgan,tiny", f"--config.data_dir={cgan_run['data_dir']}",
          f"--workdir={tmp_path}", "--export_digits=12", "--words_per_writer=3")
  assert (tmp_path / "figures" / "sample_grid.png").is_file()
  rows = [line.split("\t") for line in (tmp_path / "digits.tsv").read_text().splitlines()]
  source = pipeline.prepare_builder("mnist_embedded", cgan_run["data_dir"]).as_data_source("test")
  labels = np.array([int(source[i]["label"]) for i in range(len(source))])
  expected = [int(np.flatnonzero(labels == i % 10)[i // 10]) for i in range(12)]
  assert [int(label) for _, label in rows] == [i % 10 for i in range(12)]
  for (path, label), index in zip(rows, expected):
    assert path.endswith(f"test{index}_digit{label}.png")
    with Image.open(path) as image:
      np.testing.assert_array_equal(np.asarray(image), np.asarray(source[index]["image"])[..., 0])
    assert generation.read_style_digit(path)[1] is False  # MNIST's own form: not inverted.


def test_a_generator_trained_on_uniform_noise_is_sampled_and_inverted_in_its_box(cgan_run):
  from configs import mnist as mnist_configs  # pylint: disable=g-import-not-at-top
  from ganxai_jax.generators import mnist as mnist_generators  # pylint: disable=g-import-not-at-top
  # InfoGAN's noise is U[-1, 1]: every explanation's samples must come from it, not from N(0, 1).
  infogan = mnist_generators.from_config(mnist_configs.get_config("infogan,tiny"), None)
  assert infogan.noise == "uniform" and cgan_run["generator"].noise == "normal"
  z = np.asarray(infogan.sample_latent(jax.random.key(0), 256))
  assert z.min() >= -1 and z.max() <= 1 and z.std() == pytest.approx(1 / np.sqrt(3), rel=0.05)
  uniform = dataclasses.replace(cgan_run["generator"], noise="uniform")
  true_z = np.asarray(uniform.sample_latent(jax.random.key(3), 1))
  image = uniform.render(true_z, {"labels": np.array([DIGIT], np.int32)})[0]
  found = inversion.invert_digit(uniform, image, DIGIT, SETTINGS)
  assert np.abs(found.z).max() <= 1.0
  random_images = uniform.render(inversion.random_styles(uniform, 0, 16),
                                 inversion.digit_condition(uniform, [DIGIT] * 16))
  assert found.pixel_error < inversion.pixel_error(random_images, image).min()
