"""The learned factor reader: trained on rendered words, scored on other writers' words."""
import os

import numpy as np

from ganxai_jax.explain import factor_reader


def test_the_reader_learns_ink_intensity_from_the_pixels_and_scores_held_out_writers():
  reader = factor_reader.train_reader(word_length=3, num_train=256, num_test=64, steps=150, batch_size=32)
  assert set(reader.r2_dict()) == set(reader.factor_names) and "slant" in reader.factor_names
  # Ink intensity sets the grey level of every stroke: a short training already reads it on new writers.
  assert reader.r2_dict()["ink_intensity"] > 0.5
  images = np.full((2, 32, 48, 1), 1.0, np.float32)
  assert reader.predict(images).shape == (2, len(reader.factor_names))


def test_r_squared_is_one_for_a_perfect_prediction_and_zero_for_the_mean():
  true = np.random.default_rng(0).normal(size=(100, 2))
  np.testing.assert_allclose(factor_reader.r_squared(true, true), [1.0, 1.0])
  np.testing.assert_allclose(factor_reader.r_squared(np.broadcast_to(true.mean(0), true.shape), true), [0, 0],
                             atol=1e-12)


def test_a_cached_reader_is_the_one_trained_and_other_settings_train_another(tmp_path):
  cache = str(tmp_path / "readers")
  first, loaded = factor_reader.load_or_train_reader(cache, word_length=2, num_train=32, num_test=16, steps=3)
  assert not loaded
  again, loaded = factor_reader.load_or_train_reader(cache, word_length=2, num_train=32, num_test=16, steps=3)
  assert loaded and again.factor_names == first.factor_names
  for key in ("mean", "std", "r2", "train_r2"):
    np.testing.assert_array_equal(getattr(again, key), getattr(first, key))
  images = np.random.default_rng(1).uniform(-1, 1, (3, 32, 32, 1)).astype(np.float32)
  np.testing.assert_array_equal(again.predict(images), first.predict(images))
  _, loaded = factor_reader.load_or_train_reader(cache, word_length=2, num_train=32, num_test=16, steps=4)
  assert not loaded  # Another number of steps is another reader.
  assert len(os.listdir(cache)) == 2
