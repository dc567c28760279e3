"""Tests of the synthetic handwriting renderer and its TFDS builder."""
import numpy as np
import pytest

from ganxai_jax.data import synthetic_handwriting as sh
from ganxai_jax.data import text


@pytest.fixture(scope="module")
def tiny_builder(tmp_path_factory):
  builder = sh.SyntheticHandwriting(config="tiny", data_dir=str(tmp_path_factory.mktemp("tfds")),
                                    file_format="array_record")
  builder.download_and_prepare()
  return builder


def test_render_word_shape_background_and_ink():
  style = sh.sample_writer_style(0, 3)
  image = sh.render_word("Handwriting", style, np.random.default_rng(0))
  assert image.dtype == np.uint8
  assert image.shape == (32, 16 * len("Handwriting"))
  # Mostly white paper, some dark ink; the corner pixels are paper.
  assert np.median(image) == 255
  assert image.min() < 255 * (1 - 0.5 * style.ink_intensity)
  assert (image == 255).mean() > 0.5


def test_rendering_is_deterministic_and_writers_differ():
  a = sh.render_example(0, 1, 4, "moon")
  b = sh.render_example(0, 1, 4, "moon")
  np.testing.assert_array_equal(a["image"], b["image"])
  np.testing.assert_array_equal(a["style"], b["style"])
  other_writer = sh.render_example(0, 2, 4, "moon")
  assert not np.array_equal(a["style"], other_writer["style"])
  assert not np.array_equal(a["image"], other_writer["image"])


def test_style_vector_follows_the_documented_order_and_ranges():
  for writer in range(20):
    style = sh.sample_writer_style(7, writer)
    vector = style.as_vector()
    assert vector.shape == (sh.NUM_STYLE_FACTORS,)
    assert vector[0] == style.font and 0 <= style.font < len(sh.FONTS)
    for i, name in enumerate(sh.STYLE_FACTOR_NAMES[1:], start=1):
      low, high = sh.STYLE_RANGES[name]
      assert low <= vector[i] <= high, name


def test_unknown_character_and_empty_word_are_rejected():
  style = sh.sample_writer_style(0, 0)
  with pytest.raises(ValueError, match="outside the alphabet"):
    sh.render_word("naïve", style, np.random.default_rng(0))
  with pytest.raises(ValueError, match="empty"):
    sh.render_word("", style, np.random.default_rng(0))


def test_split_is_writer_disjoint_and_seeded():
  splits = sh.split_writers(200, 0.1, seed=0)
  assert len(splits["test"]) == 20 and len(splits["train"]) == 180
  assert not set(splits["train"]) & set(splits["test"])
  np.testing.assert_array_equal(splits["test"], sh.split_writers(200, 0.1, seed=0)["test"])
  assert not np.array_equal(splits["test"], sh.split_writers(200, 0.1, seed=1)["test"])
  with pytest.raises(ValueError):
    sh.split_writers(1, 0.1, seed=0)


def test_tiny_builder_examples(tiny_builder):
  splits = tiny_builder.info.splits
  assert splits["train"].num_examples + splits["test"].num_examples == 6 * 10
  writers = {}
  for split in ("train", "test"):
    source = tiny_builder.as_data_source(split)
    for i in range(len(source)):
      example = source[i]
      word = example["text"].decode()
      assert example["image"].shape == (32, 16 * len(word), 1)
      np.testing.assert_array_equal(example["labels"], text.encode(word))
      assert example["style"].shape == (sh.NUM_STYLE_FACTORS,)
      writer = int(example["writer"])
      writers.setdefault(writer, set()).add(split)
      # The stored factors are the writer's.
      np.testing.assert_allclose(example["style"], sh.sample_writer_style(0, writer).as_vector())
  assert all(len(s) == 1 for s in writers.values())  # Writer-disjoint.
  assert len(writers) == 6
