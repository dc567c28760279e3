"""Writing in the style of a real word: inverting a word image to ScrabbleGAN's z (explain/inversion.py)
and the generate command's --style_image, on a tiny ScrabbleGAN trained through the CLI."""
import dataclasses
import json

import jax
import numpy as np
import pytest
from PIL import Image

from ganxai_jax import generation
from ganxai_jax import kinds
from ganxai_jax.data import handwriting
from ganxai_jax.explain import direction_files
from ganxai_jax.explain import inversion
from ganxai_jax.generators import words as word_generators
from ganxai_jax.run import workdir as workdir_lib
from tests.conftest import run_cli

WORD = "tide"
NEW_WORDS = ["Shalom", "ab"]
# The generate command's number of starts, so that it finds this file's compiled inversion step in the
# test session's compilation cache.
SETTINGS = inversion.InversionSettings(steps=40)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
  """A tiny ScrabbleGAN (4 steps, no evaluation recognizer) trained through the CLI, and one word it
  wrote from a known z, saved as a PNG: a 'real' word whose z exists."""
  root = tmp_path_factory.mktemp("inversion")
  workdir = root / "run"
  # One bucket (all lengths padded to 10 characters) and lax convolutions: fewer, smaller compiles.
  run_cli("experiments.train", "--config=configs/scrabble.py:tiny", f"--workdir={workdir}",
          f"--config.data_dir={root / 'tfds'}", "--config.bucket_size=10", "--config.conv_impl=lax",
          timeout=1500)  # Seconds on an idle CPU, but the machine may be shared with training jobs.
  config, state = kinds.restore(str(workdir))
  generator = kinds.kind_of(config).generator(config, workdir_lib.inference_variables(state), 4)
  true_z = np.asarray(generator.sample_latent(jax.random.key(123), 1))
  image = generator.render(true_z, {"chars": word_generators.encode_words([WORD])})[0]
  png = root / f"{WORD}.png"
  Image.fromarray(generation.to_uint8(image[None])[0], mode="L").save(png)
  return {"workdir": workdir, "root": root, "config": config, "state": state, "generator": generator,
          "true_z": true_z[0], "image": image, "png": png}


def test_inverting_a_word_the_generator_wrote_reconstructs_it_far_better_than_random_styles(trained_run):
  generator, image = trained_run["generator"], trained_run["image"]
  found = inversion.invert(generator, image, WORD, settings=SETTINGS)
  random_images = inversion.write_in_styles(generator, [WORD], inversion.random_styles(generator, 0, 16))[0]
  random_errors = inversion.pixel_error(random_images, image)
  assert found.pixel_error < 0.5 * random_errors.mean(), (found.pixel_error, random_errors)
  assert found.pixel_error < random_errors.min()
  assert found.losses.shape == (SETTINGS.steps,) and found.losses[-1] < found.losses[0]
  assert found.restart_losses.shape == (SETTINGS.restarts,) and found.z.shape == (generator.latent_dim,)
  np.testing.assert_allclose(found.pixel_error, np.mean(np.abs(found.reconstruction - image)), rtol=1e-5)
  # The same settings and seed find the same z: the starts come from the seed alone.
  again = inversion.invert(generator, image, WORD, settings=SETTINGS)
  np.testing.assert_allclose(again.z, found.z, rtol=1e-5, atol=1e-5)
  # With the GAN's R's features in the loss too (an option; pixels alone are the default).
  features = generation.run_recognizer(trained_run["config"], trained_run["state"])
  with_features = inversion.invert(generator, image, WORD, features, dataclasses.replace(SETTINGS, feature_weight=0.1))
  assert with_features.pixel_error < random_errors.min()
  assert not np.allclose(with_features.z, found.z)


def test_an_image_not_in_the_generators_format_for_the_word_is_refused(trained_run):
  with pytest.raises(ValueError, match=r"\(32, 64, 1\)"):
    inversion.invert(trained_run["generator"], np.zeros((32, 80, 1), np.float32), WORD)


def test_generate_writes_the_text_in_the_style_of_a_real_word_and_scores_it(trained_run):
  output = trained_run["root"] / "styled.png"
  proc = run_cli("experiments.generate", f"--workdir={trained_run['workdir']}",
                 f"--style_image={trained_run['png']}", f"--style_text={WORD}", f"--text={' '.join(NEW_WORDS)}",
                 f"--inversion_steps={SETTINGS.steps}", "--factor_reader=tiny", f"--output={output}")
  assert f"wrote {output}" in proc.stdout
  with Image.open(output) as figure:
    assert figure.size[0] > 100
  scores = json.loads(output.with_suffix(".json").read_text())
  assert scores["word"] == WORD and scores["new_words"] == NEW_WORDS
  assert scores["pixel_error"] < scores["random_pixel_error_best"] <= scores["random_pixel_error"]
  assert scores["num_random_styles"] == 16 and 0 <= scores["share_of_random_styles_closer"] <= 1
  for key in ("reader_distance", "random_reader_distance", "reconstruction_reader_distance"):
    assert scores[key] >= 0, key
  # The tiny reader was trained for this run and cached beside its data.
  reader = generation.load_factor_reader(trained_run["config"], "tiny")
  assert set(scores["reader_distance_per_factor"]) == set(reader.factor_names) == set(scores["real_factors"])
  assert len(scores["z"]) == trained_run["generator"].latent_dim
  assert scores["lower_is_better"] == ["pixel_error", "reader_distance"]


def test_style_words_take_each_writers_first_long_word_of_letters_in_writer_order():
  texts = ["ab", "abcdef", "hello!", "world", "x", "fghij"]
  writers = np.array([3, 3, 1, 1, 2, 3])
  source = [{"text": t.encode(), "image": np.full((32, 16 * len(t), 1), i, np.uint8)} for i, t in enumerate(texts)]
  chosen = handwriting.style_words(source, writers, num_writers=2, min_length=5)
  assert [(w, t) for w, t, _ in chosen] == [(1, "world"), (3, "abcdef")]  # Writer 2 wrote no long word.
  assert chosen[0][2].shape == (32, 80, 1) and chosen[0][2].max() == 3
  assert len(handwriting.style_words(source, writers, num_writers=5, min_length=5)) == 2


def test_show_data_exports_one_real_test_word_per_writer_that_generate_reads_as_a_style(trained_run):
  out = trained_run["root"] / "data"
  run_cli("experiments.show_data", "--config=configs/scrabble.py:tiny", f"--config.data_dir={trained_run['root'] / 'tfds'}",
          f"--workdir={out}", "--export_words=3", "--num_writers=1")
  rows = [line.split("\t") for line in (out / "words.tsv").read_text().splitlines()]
  source = handwriting.prepare(trained_run["config"]).as_data_source("test")
  lengths, writers = handwriting.scan_lengths_and_writers(source)
  def first_long_word(writer):  # Index of the writer's first word of at least 5 letters, or None.
    return next((int(i) for i in np.flatnonzero(writers == writer)
                 if lengths[i] >= 5 and handwriting.example_text(source[int(i)]).isalpha()), None)

  exported_writers = []
  for path, text in rows:
    writer = int(path.rsplit("/writer", 1)[1].split("_")[0])
    exported_writers.append(writer)
    first = first_long_word(writer)
    assert text == handwriting.example_text(source[int(first)]) and path.endswith(f"_{text}.png")
    with Image.open(path) as image:
      np.testing.assert_array_equal(np.asarray(image), np.asarray(source[int(first)]["image"])[..., 0])
    assert generation.read_style_image(path, text).shape == (32, 16 * len(text), 1)
  # The first three writers (by id) that wrote such a word, one word each (tiny's test split has fewer).
  eligible = [w for w in np.unique(writers) if first_long_word(w) is not None]
  assert eligible and exported_writers == eligible[:3]


def test_writers_are_placed_on_saved_directions_in_their_edit_units(tmp_path):
  directions = np.eye(4)[:, :2]  # Unit columns: the first two latent axes.
  scales = np.array([0.5, 2.0])
  np.testing.assert_allclose(inversion.direction_coordinates(np.array([[1.0, 2.0, 5.0, 0.0]]), directions, scales),
                             [[2.0, 1.0]])
  np.testing.assert_allclose(inversion.factor_distance(np.array([[1.0, 2.0], [1.0, 0.0]]), np.array([1.0, 2.0]),
                                                       np.array([1.0, 4.0])), [0.0, 0.25])
  explain_dir = tmp_path / "explain"
  explain_dir.mkdir()
  direction_files.save(str(explain_dir), [direction_files.SavedDirections("sefa", directions, scales, 3.0, ())])
  (explain_dir / "explain.json").write_text(json.dumps({"names": {"sefa": ["slant -", "width +"]}}))
  styles = []
  for name, z in (("a", [1.0, 0.0, 0.0, 0.0]), ("b", [0.0, -4.0, 1.0, 1.0])):
    styles.append(str(tmp_path / f"{name}.json"))
    (tmp_path / f"{name}.json").write_text(json.dumps({"word": "x", "z": z, "style_image": f"{name}.png"}))
  png, placed = generation.write_styles_on_directions(str(explain_dir), styles, str(tmp_path / "placed.png"))
  record = json.loads(open(placed, encoding="utf-8").read())
  assert record["set"] == "sefa" and record["directions"] == ["0: slant -", "1: width +"]
  assert record["writers"]["a"]["coordinates"] == [2.0, 0.0] and record["writers"]["b"]["coordinates"] == [0.0, -2.0]
  with Image.open(png) as figure:
    assert figure.size[0] > 100
  with pytest.raises(ValueError, match="--styles="):
    generation.write_styles_on_directions(str(explain_dir), [str(explain_dir / "explain.json")], png)
  # A folder stands for the style records in it; the placement's own JSON there is passed over, and the
  # writers' inversion scores are kept and averaged.
  folder = tmp_path / "styles"
  folder.mkdir()
  for name, z, error in (("a", [1.0, 0.0, 0.0, 0.0], 0.1), ("b", [0.0, -4.0, 1.0, 1.0], 0.3)):
    (folder / f"{name}.json").write_text(json.dumps({"word": "x", "z": z, "style_image": f"{name}.png",
                                                     "pixel_error": error, "random_pixel_error": 0.5}))
  generation.write_styles_on_directions(str(explain_dir), [str(folder)], str(folder / "placed.png"))
  _, again = generation.write_styles_on_directions(str(explain_dir), [str(folder)], str(folder / "placed.png"))
  record = json.loads(open(again, encoding="utf-8").read())
  assert sorted(record["writers"]) == ["a", "b"] and record["writers"]["b"]["pixel_error"] == 0.3
  assert record["inversion_mean"] == pytest.approx({"pixel_error": 0.2, "random_pixel_error": 0.5})
  # Without --set, learned directions (saved under their kind) come before the closed-form ones.
  direction_files.save(str(explain_dir), [direction_files.SavedDirections("sefa", directions, scales, 3.0, ()),
                                          direction_files.SavedDirections("learned_linear", directions, scales, 3.0, ())])
  _, placed = generation.write_styles_on_directions(str(explain_dir), [str(folder)], str(folder / "placed.png"))
  assert json.loads(open(placed, encoding="utf-8").read())["set"] == "learned_linear"
