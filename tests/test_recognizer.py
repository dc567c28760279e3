"""Tests of the ScrabbleGAN recognizer, its CTC loss, and its training and reloading."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import scrabble
from ganxai_jax.data import text
from ganxai_jax.models import recognizer as recognizer_lib
from ganxai_jax.evaluation import recognizer_eval
from ganxai_jax.training import recognizer_training


@pytest.mark.parametrize("num_chars", [1, 3, 10])
def test_output_has_4n_plus_1_frames_and_81_classes(num_chars):
  model = recognizer_lib.Recognizer(width_multiplier=0.125)
  images = jnp.ones((2, 32, 16 * num_chars, 1))
  variables = model.init(jax.random.key(0), images)
  logits = model.apply(variables, images)
  assert logits.shape == (2, 4 * num_chars + 1, 81)
  assert recognizer_lib.num_frames(16 * num_chars) == 4 * num_chars + 1


def test_full_width_matches_scrabblegan_parameter_count():
  model = recognizer_lib.Recognizer()
  shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.ones((1, 32, 160, 1)))
  # The official R has 5.6 M parameters (64,128,256,256,512,512,512 channels, linear to 81).
  num_params = sum(int(np.prod(p.shape)) for p in jax.tree_util.tree_leaves(shapes["params"]))
  assert num_params == pytest.approx(5.59e6, rel=0.01)
  assert set(shapes["batch_stats"]) == {"batch_norm2", "batch_norm4", "batch_norm6"}


def test_ctc_loss_masks_impossible_alignments_and_padding():
  rng = np.random.default_rng(0)
  logits = jnp.asarray(rng.normal(size=(3, 13, 81)), jnp.float32)  # Width 48: 13 frames.
  labels = jnp.asarray([[5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                        [5] * 15,          # 15 repeated symbols need 29 frames: impossible.
                        [8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], jnp.int32)
  label_lengths = jnp.asarray([3, 15, 2])
  widths = jnp.asarray([48, 48, 32])  # The third image is 32 px wide: only its first 9 frames count.
  loss, usable = recognizer_lib.ctc_loss(logits, labels, label_lengths, widths)
  np.testing.assert_array_equal(usable, [True, False, True])
  # The mean over usable examples equals optax on those examples with their own frames.
  log_probs = jax.nn.log_softmax(logits)
  first = optax.ctc_loss(log_probs[:1], jnp.zeros((1, 13)), labels[:1, :3], jnp.zeros((1, 3)))
  third = optax.ctc_loss(log_probs[2:, :9], jnp.zeros((1, 9)), labels[2:, :2], jnp.zeros((1, 2)))
  np.testing.assert_allclose(loss, (first[0] + third[0]) / 2, rtol=1e-5)
  assert np.isfinite(loss)
  _, usable_valid = recognizer_lib.ctc_loss(logits, labels, label_lengths, widths,
                                            valid=jnp.asarray([True, True, False]))
  np.testing.assert_array_equal(usable_valid, [True, False, False])


def test_train_step_learns_a_fixed_batch():
  model = recognizer_lib.Recognizer(width_multiplier=0.125)
  optimizer = recognizer_training.make_optimizer(3e-3)
  state = recognizer_training.init_state(model, optimizer, jax.random.key(0))
  rng = np.random.default_rng(0)
  words = ["ab", "ba", "aa", "bb"]
  batch = {
      "image": jnp.asarray(np.where(rng.random((4, 32, 48, 1)) > 0.5, 1.0, -1.0), jnp.float32),
      "labels": jnp.asarray([np.pad(text.encode(w), (0, 1)) for w in words]),
      "label_lengths": jnp.full((4,), 2, jnp.int32),
      "image_widths": jnp.full((4,), 48, jnp.int32),
      "valid": jnp.ones((4,), bool),
  }
  train_step = recognizer_training.make_train_step(model, optimizer)
  state, first = train_step(state, batch)
  for _ in range(40):
    state, metrics = train_step(state, batch)
  assert int(state.step) == 41
  assert float(metrics["ctc_loss"]) < 0.5 * float(first["ctc_loss"])


def test_train_recognizer_writes_eval_and_checkpoint_resumes_and_reloads(tmp_path):
  config = scrabble.get_config("tiny")
  config.data_dir = str(tmp_path / "tfds")
  config.bucket_size = 10  # One batch shape: one compilation.
  config.recognizer.width_multiplier = 0.125
  config.recognizer.num_steps = 3
  config.recognizer.checkpoint_every_steps = 2
  workdir = str(tmp_path / "work")
  first = recognizer_training.train_recognizer(config, workdir)
  assert first["step"] == 3
  with open(os.path.join(workdir, "eval.json"), encoding="utf-8") as fh:
    written = json.load(fh)
  assert 0.0 <= written["cer"] and 0.0 <= written["wer"] <= 1.0
  assert written["num_words"] == 10  # The tiny test split: one writer's 10 words.
  config.recognizer.num_steps = 5
  second = recognizer_training.train_recognizer(config, workdir)
  assert second["step"] == 5  # Resumed from step 3, not from scratch.

  model, variables = recognizer_eval.load_recognizer(workdir)
  assert model.width_multiplier == 0.125
  from ganxai_jax.data import handwriting  # pylint: disable=import-outside-toplevel
  test_source = handwriting.load_split(config, "test")
  again = recognizer_eval.evaluate(model, variables, config, test_source, 8)
  assert again["cer"] == pytest.approx(second["cer"])
