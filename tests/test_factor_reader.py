"""The learned factor reader: trained on rendered words, scored on other writers' words."""
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
