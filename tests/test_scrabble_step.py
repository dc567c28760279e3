"""Tests of ScrabbleGAN's training step: CTC, gradient balancing, schedules, lexicon text, G updates."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import scrabble
from ganxai_jax.data import text
from ganxai_jax.models import recognizer as recognizer_lib
from ganxai_jax.run import parallel
from ganxai_jax.training import scrabble_step
from ganxai_jax.training import scrabble_trainer


def test_ctc_loss_on_a_case_computed_by_hand():
  # Two frames, label "a" (id 1): the paths a a, a -, - a all collapse to "a".
  probabilities = np.array([[0.2, 0.7, 0.1], [0.5, 0.3, 0.2]])  # [frame, class]; blank is class 0.
  logits = jnp.asarray(np.log(probabilities)[None], jnp.float32)
  loss, usable = recognizer_lib.ctc_loss(logits, jnp.asarray([[1]]), jnp.asarray([1]), jnp.asarray([4]))
  by_hand = 0.7 * 0.3 + 0.7 * 0.5 + 0.2 * 0.3
  assert float(loss) == pytest.approx(-np.log(by_hand), rel=1e-5)
  assert bool(usable[0])
  # "aa" needs a blank between the two a's: three frames, so two frames cannot align; masked out.
  loss, usable = recognizer_lib.ctc_loss(logits, jnp.asarray([[1, 1]]), jnp.asarray([2]), jnp.asarray([4]))
  assert not bool(usable[0]) and float(loss) == 0.0


def test_balance_coefficient_equals_the_formula():
  rng = np.random.default_rng(0)
  adv, ctc = rng.normal(0, 0.01, (2, 32, 16, 1)), rng.normal(0, 3.0, (2, 32, 16, 1))
  expected = 0.5 * np.std(adv) / (np.std(ctc) + 1e-7)
  got = scrabble_step.balance_coefficient(jnp.asarray(adv), jnp.asarray(ctc), alpha=0.5)
  assert float(got) == pytest.approx(expected, rel=1e-5)
  # With a zero CTC gradient the epsilon keeps it finite.
  assert np.isfinite(float(scrabble_step.balance_coefficient(jnp.asarray(adv), jnp.zeros_like(ctc), 1.0)))


def test_learning_rate_is_constant_then_decays_linearly_to_zero():
  schedule = scrabble_step.make_schedule(2e-4, num_updates=100, constant_fraction=0.5)
  assert float(schedule(0)) == pytest.approx(2e-4)
  assert float(schedule(49)) == pytest.approx(2e-4)
  assert float(schedule(75)) == pytest.approx(1e-4)
  assert float(schedule(100)) == pytest.approx(0.0, abs=1e-12)


def test_lexicon_text_fills_the_bucket_and_repeats_for_a_step():
  sampler = scrabble_trainer.LexiconText(seed=0, bucket_size=2, max_length=20)
  batch = sampler.sample(step=7, global_batch_size=16, bucket_max_length=6)
  assert batch["fake_labels"].shape == (16, 6)
  assert set(batch["fake_label_lengths"]) <= {5, 6}
  for row, length in zip(batch["fake_labels"], batch["fake_label_lengths"]):
    assert (row[:length] > 0).all() and (row[length:] == 0).all()
  again = sampler.sample(step=7, global_batch_size=16, bucket_max_length=6)
  np.testing.assert_array_equal(batch["fake_labels"], again["fake_labels"])
  other = sampler.sample(step=8, global_batch_size=16, bucket_max_length=6)
  assert not np.array_equal(batch["fake_labels"], other["fake_labels"])


def test_lexicon_text_capitalises_the_share_asked_for():
  def capitals(probability):
    sampler = scrabble_trainer.LexiconText(seed=0, bucket_size=4, max_length=8,
                                           capitalize_probability=probability)
    firsts = np.concatenate([sampler.sample(step, 64, 8)["fake_labels"][:, 0] for step in range(10)])
    return np.mean([text.decode([i]).isupper() for i in firsts])
  lexicon_own = capitals(0.0)  # The lexicon's proper nouns.
  assert 0 < lexicon_own < 0.3
  assert capitals(0.5) == pytest.approx(0.5 + 0.5 * lexicon_own, abs=0.06)
  assert capitals(1.0) == 1.0
  # The probability that gives a share asked for, given the proper nouns; none below their share.
  sampler = scrabble_trainer.LexiconText(seed=0, bucket_size=4, max_length=8)
  assert capitals(sampler.probability_for_share(0.4)) == pytest.approx(0.4, abs=0.06)
  assert sampler.probability_for_share(0.0) == 0.0


def tiny_batch(mesh):
  """A batch of 4 real 3-letter words (random pixels) and 4 fake texts, for the `tiny` config."""
  rng = np.random.default_rng(0)
  batch = {"image": rng.uniform(-1, 1, (4, 32, 48, 1)).astype(np.float32),
           "labels": rng.integers(1, 81, (4, 3)).astype(np.int32),
           "label_lengths": np.full((4,), 3, np.int32), "image_widths": np.full((4,), 48, np.int32),
           "valid": np.ones((4,), bool),
           "fake_labels": rng.integers(1, 81, (4, 3)).astype(np.int32),
           "fake_label_lengths": np.full((4,), 3, np.int32)}
  return parallel.global_batch(batch, mesh)


def _tiny_setup(g_schedule_steps=1):
  config = scrabble.get_config("tiny")
  config.conv_impl = "lax"
  mesh = parallel.make_mesh(jax.devices()[:1])
  components = scrabble_trainer.build_components(config, mesh)
  return config, mesh, components, tiny_batch(mesh)


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


# Adam with β1 = 0 moves every weight by about ±lr on its first step, so a gradient that is zero up to
# float noise can flip sign between two compilations: parameters agree to 2·lr, losses closely.
_ADAM_SIGN_TOLERANCE = 2.05 * 2e-4


def test_g_updates_every_g_every_steps_and_cond_equals_host_choice():
  config, mesh, components, batch = _tiny_setup()
  host_step = scrabble_step.make_train_step(components, "host")
  cond_step = scrabble_step.make_train_step(components, "cond")
  start = scrabble_trainer.create_state(config, components, mesh)
  before = jax.device_get(start)

  after_host, metrics = host_step(scrabble_trainer.create_state(config, components, mesh), batch, 0)
  after_cond, cond_metrics = cond_step(scrabble_trainer.create_state(config, components, mesh), batch, 0)
  assert float(metrics["g_updated"]) == 1.0 and float(cond_metrics["g_updated"]) == 1.0
  for key in ("d_loss", "r_ctc_loss", "g_loss_adv", "g_loss_ctc", "g_ctc_weight"):
    np.testing.assert_allclose(metrics[key], cond_metrics[key], rtol=1e-4, err_msg=key)
  for a, b in zip(_leaves(after_host.nets), _leaves(after_cond.nets)):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=_ADAM_SIGN_TOLERANCE)
  for name in ("generator", "discriminator", "recognizer"):
    changed = [not np.array_equal(a, b) for a, b in zip(_leaves(before.nets[name].params),
                                                       _leaves(after_host.nets[name].params))]
    assert any(changed), name
  # Step 1 is not a multiple of g_every = 4: D and R learn, G does not (in both schedules).
  g_params = _leaves(after_host.nets["generator"].params)
  after_host, metrics = host_step(after_host, batch, 1)
  after_cond, cond_metrics = cond_step(after_cond, batch, 1)
  assert float(metrics["g_updated"]) == 0.0 and float(cond_metrics["g_updated"]) == 0.0
  for a, b, c in zip(g_params, _leaves(after_host.nets["generator"].params),
                     _leaves(after_cond.nets["generator"].params)):
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(b, c, rtol=1e-3, atol=_ADAM_SIGN_TOLERANCE)
  assert int(after_host.step) == 2
  assert np.isfinite(float(metrics["d_loss"])) and np.isfinite(float(metrics["r_ctc_loss"]))


def test_recognizer_warmup_trains_only_r_then_the_gan_steps_follow():
  config, mesh, components, batch = _tiny_setup()
  config.r_warmup_steps, config.g_every = 2, 2
  components = scrabble_trainer.build_components(config, mesh)
  step_fn = scrabble_step.make_train_step(components, "host")
  state = scrabble_trainer.create_state(config, components, mesh)
  before = jax.device_get(state.nets)
  for step in range(2):
    state, metrics = step_fn(state, batch, step)
    assert float(metrics["d_updated"]) == 0.0 and float(metrics["g_updated"]) == 0.0
  after = jax.device_get(state.nets)
  for name in ("generator", "discriminator"):
    for a, b in zip(_leaves(before[name]), _leaves(after[name])):
      np.testing.assert_array_equal(a, b, err_msg=name)
  assert any(not np.array_equal(a, b) for a, b in zip(_leaves(before["recognizer"].params),
                                                     _leaves(after["recognizer"].params)))
  # Step 2 is the first GAN step, and a multiple of g_every: D and G learn.
  state, metrics = step_fn(state, batch, 2)
  assert float(metrics["d_updated"]) == 1.0 and float(metrics["g_updated"]) == 1.0
  assert int(state.step) == 3
  # The logged means leave the warm-up's zeros out of D's and G's entries.
  warm = {k: 0.0 for k in metrics} | {"r_ctc_loss": 5.0}
  gan = {k: float(v) for k, v in metrics.items()}
  means = scrabble_trainer._mean_metrics([warm, gan])
  assert means["d_loss"] == pytest.approx(gan["d_loss"]) and means["r_ctc_loss"] == pytest.approx(
      (5.0 + gan["r_ctc_loss"]) / 2)


def test_warmup_longer_than_the_run_is_a_clear_error():
  config, mesh, _, _ = _tiny_setup()
  config.r_warmup_steps = config.num_train_steps
  with pytest.raises(ValueError, match="r_warmup_steps"):
    scrabble_trainer.build_components(config, mesh)


def test_sample_figure_labels_each_column_with_the_word_asked():
  config, mesh, components, _ = _tiny_setup()
  config.sample_words = ("Shalom", "it")
  state = scrabble_trainer.create_state(config, components, mesh)
  figure = scrabble_trainer.sample_figures(config, components, state, step=3)["samples"]
  axes = figure.axes[0]
  assert [t.get_text() for t in axes.get_xticklabels()] == ["Shalom", "it"]
  assert [t.get_text() for t in axes.get_yticklabels()] == [f"style {s}" for s in range(config.sample_num_styles)]
  assert "step 3" in axes.get_title()
