"""ScrabbleGAN with InfoGAN's style codes (`configs/scrabble.py:info`): the code reaches G and Q reads D,
runs without codes keep their parameters, the step's information loss, the word style-code scores on a
generator whose code is known, the config's checks, and the tiny run through the CLIs (train,
checkpoint, resume, evaluate, generate)."""
import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import scrabble as scrabble_configs
from ganxai_jax import kinds
from ganxai_jax.errors import ConfigError
from ganxai_jax.evaluation import word_style_codes
from ganxai_jax.generators import words as word_generators
from ganxai_jax.models import layers
from ganxai_jax.models import scrabblegan
from ganxai_jax.run import parallel
from ganxai_jax.training import scrabble_step
from ganxai_jax.training import scrabble_trainer
from tests.conftest import run_cli, tiny_words_run_flags


def _config(arg: str):
  config = scrabble_configs.get_config(arg)
  config.conv_impl = "lax"  # Compiles in seconds on CPU (shifted matmuls take minutes).
  return config


def _components(arg: str):
  return scrabble_trainer.build_components(_config(arg))


def _init(components, seed: int = 0):
  return jax.jit(scrabble_trainer._init_fn(components))(jax.random.key(seed))  # pylint: disable=protected-access


def _shapes(tree):
  return jax.tree_util.tree_map(lambda x: tuple(x.shape), tree)


# ---- The models ----------------------------------------------------------------------------------

def test_a_run_without_codes_keeps_every_parameter_and_output_of_the_model_without_them():
  config = _config("tiny")
  assert config.num_categorical == 0 and config.num_continuous == 0
  components = scrabble_trainer.build_components(config)
  # The models as they were before the codes existed: no code fields at all.
  plain_g = scrabblegan.Generator(width_multiplier=config.width_multiplier, z_dim=config.z_dim)
  plain_d = scrabblegan.Discriminator(width_multiplier=config.width_multiplier)
  z, chars = jnp.ones((2, config.z_dim)), jnp.ones((2, 3), jnp.int32)
  images = jnp.zeros((2, 32, 48, 1))
  g_variables = jax.jit(plain_g.init)(jax.random.key(0), z, chars)
  d_variables = jax.jit(plain_d.init)(jax.random.key(0), images)
  assert _shapes(jax.eval_shape(components.generator.init, jax.random.key(0), z, chars)) == _shapes(g_variables)
  assert _shapes(jax.eval_shape(components.discriminator.init, jax.random.key(0), images)) == _shapes(d_variables)
  # The tiny models' sizes as counted before the codes existed (and their 107 and 48 arrays).
  count = lambda tree: sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(tree))
  assert (count(g_variables["params"]), count(d_variables["params"])) == (1_326_137, 142_245)
  assert (len(jax.tree_util.tree_leaves(g_variables)), len(jax.tree_util.tree_leaves(d_variables))) == (107, 48)
  # The same variables give the same images through the run's G and through the plain one.
  np.testing.assert_array_equal(jax.jit(components.generator.apply)(g_variables, z, chars)[0],
                                jax.jit(plain_g.apply)(g_variables, z, chars)[0])
  _, aux = plain_d.apply(d_variables, images)
  assert "q_logits" not in aux


def test_codes_add_q_to_d_and_widen_every_layer_that_reads_z():
  z, chars, images = jnp.ones((2, 128)), jnp.ones((2, 3), jnp.int32), jnp.zeros((2, 32, 48, 1))
  plain_g, plain_d, info_g, info_d = (
      _shapes(jax.eval_shape(module.init, jax.random.key(0), *inputs)["params"])
      for components in (_components("tiny"), _components("tiny,info"))
      for module, inputs in ((components.generator, (z, chars)), (components.discriminator, (images,))))
  assert set(info_d) - set(plain_d) == {"q_hidden", "q_categorical", "q_continuous"}
  chunk, codes = 128 // 4, 10 + 2
  symbols = scrabblegan.NUM_SYMBOLS
  assert layers.find_kernel(plain_g["char_filter_bank"])[0] == symbols * chunk
  assert layers.find_kernel(info_g["char_filter_bank"])[0] == symbols * (chunk + codes)
  for block in range(3):
    for norm in ("cbn1", "cbn2"):
      for part in ("gain", "bias"):
        assert layers.find_kernel(info_g[f"block{block}"][norm][part])[0] == chunk + codes
        assert layers.find_kernel(plain_g[f"block{block}"][norm][part])[0] == chunk


def test_the_code_changes_g_output_for_fixed_z_and_text():
  components = _components("tiny,info")
  state = _init(components)
  generator = scrabble_trainer.trained_generator(components, state)
  z = np.asarray(jax.random.normal(jax.random.key(1), (3, generator.latent_dim)))
  chars = word_generators.encode_words(["word"] * 3)
  zeros = np.zeros((3, 2), np.float32)
  by_value = [generator.render(z, {"chars": chars, "categorical": np.full(3, v), "continuous": zeros})
              for v in (0, 1)]
  assert np.abs(by_value[0] - by_value[1]).mean() > 1e-3
  moved = generator.render(z, {"chars": chars, "categorical": np.zeros(3, int), "continuous": zeros + 0.9})
  assert np.abs(moved - by_value[0]).mean() > 1e-3
  # Without codes the condition writes with value 0 and continuous 0 (what generate and explain get).
  np.testing.assert_allclose(generator.render(z, {"chars": chars}), by_value[0], atol=1e-6)
  # SeFa's weight reads only z's rows, with or without codes.
  assert generator.first_layer_weight().shape[1] == generator.latent_dim


def test_q_reads_d_over_the_valid_width_only():
  discriminator = _components("tiny,info").discriminator
  words = np.random.default_rng(0).uniform(-1, 1, (2, 32, 48, 1)).astype(np.float32)
  padded = np.concatenate([words, np.ones((2, 32, 32, 1), np.float32)], axis=2)  # White bucket padding.
  variables = discriminator.init(jax.random.key(0), words)
  _, alone = discriminator.apply(variables, words, jnp.array([48, 48]))
  _, in_bucket = discriminator.apply(variables, padded, jnp.array([48, 48]))
  _, unmasked = discriminator.apply(variables, padded)
  assert alone["q_logits"].shape == (2, 10) and alone["q_mean"].shape == (2, 2)
  # The masked mean reads the word's own columns (those at its right edge also see a little of the
  # padding through the convolutions): closer to the word alone than the mean over the whole bucket.
  masked_error = np.abs(alone["q_logits"] - in_bucket["q_logits"]).mean()
  assert masked_error < np.abs(alone["q_logits"] - unmasked["q_logits"]).mean()



def test_q_reads_d_features_normalised_per_word():
  """D's trunk, trained for its critic, gives Q features of about 0.01, through which Q learned nothing;
  Q's dense layers see them normalised per word."""
  discriminator = _components("tiny,info").discriminator
  words = np.random.default_rng(1).uniform(-1, 1, (3, 32, 48, 1)).astype(np.float32)
  variables = discriminator.init(jax.random.key(0), words)
  _, state = discriminator.apply(variables, words, jnp.array([48, 32, 16]), capture_intermediates=True,
                                 mutable=["intermediates"])
  (q_input,) = state["intermediates"]["q_norm"]["__call__"]
  np.testing.assert_allclose(np.asarray(q_input).mean(-1), 0.0, atol=1e-4)
  np.testing.assert_allclose(np.asarray(q_input).std(-1), 1.0, atol=1e-2)


# ---- The step ------------------------------------------------------------------------------------

def _batch(batch_size: int = 4, length: int = 3):
  rng = np.random.default_rng(0)
  return {"image": rng.uniform(-1, 1, (batch_size, 32, 16 * length, 1)).astype(np.float32),
          "labels": rng.integers(1, 50, (batch_size, length)).astype(np.int32),
          "label_lengths": np.full(batch_size, length, np.int32),
          "image_widths": np.full(batch_size, 16 * length, np.int32),
          "valid": np.ones(batch_size, bool),
          "fake_labels": rng.integers(1, 50, (batch_size, length)).astype(np.int32),
          "fake_label_lengths": np.full(batch_size, length, np.int32)}


def test_the_step_adds_the_information_loss_to_d_and_g_and_logs_it():
  components = _components("tiny,info")
  state = _init(components)
  step = jax.jit(lambda s, b: scrabble_step.train_step(s, b, components=components, update_generator=True))
  new_state, metrics = step(state, _batch())
  for key in scrabble_step.INFO_METRICS:
    assert np.isfinite(float(metrics[key])) and float(metrics[key]) > 0, key
  # Ten equally likely values: Q's cross-entropy starts near log 10.
  assert abs(float(metrics["info_loss_d_categorical"]) - np.log(10)) < 0.5
  # Q learns in D's update: its head's parameters move.
  moved = jax.tree_util.tree_map(lambda a, b: float(jnp.abs(a - b).max()),
                                 state.nets["discriminator"].params["q_categorical"],
                                 new_state.nets["discriminator"].params["q_categorical"])
  assert max(jax.tree_util.tree_leaves(moved)) > 0


def test_the_information_loss_reaches_g_outside_the_balancing():
  """λ changes G's update (Q's gradient enters it) but not the balancing coefficient of adversarial and CTC."""
  components = _components("tiny,info")
  state = _init(components)
  results = {}
  for weight in (0.0, 10.0):
    c = dataclasses.replace(components, info_weight=weight)
    results[weight] = jax.jit(lambda s, b, c=c: scrabble_step.generator_update(s, b, jax.random.key(3), c))(
        state, _batch())
  (plain, _, plain_metrics), (weighted, _, weighted_metrics) = results[0.0], results[10.0]
  assert float(plain_metrics["g_ctc_weight"]) == pytest.approx(float(weighted_metrics["g_ctc_weight"]), rel=1e-5)
  # The same draws: Q's loss on G's words is the same number, only its weight differs.
  assert float(plain_metrics["info_loss_categorical"]) == pytest.approx(
      float(weighted_metrics["info_loss_categorical"]), rel=1e-5)
  difference = jax.tree_util.tree_map(lambda a, b: float(jnp.abs(a - b).max()), plain.params, weighted.params)
  assert max(jax.tree_util.tree_leaves(difference)) > 0


def test_the_step_runs_sharded_over_devices():
  if jax.device_count() < 2:
    pytest.skip("one device")
  mesh = parallel.make_mesh()
  components = scrabble_trainer.build_components(_config("tiny,info"), mesh)
  state = scrabble_trainer.create_state(_config("tiny,info"), components, mesh)
  batch = parallel.global_batch(_batch(batch_size=jax.device_count()), mesh)
  _, metrics = scrabble_step.make_train_step(components)(state, batch, 0)
  assert np.isfinite(float(metrics["info_loss_categorical"]))


# ---- The scores on a generator whose code is known -------------------------------------------------

class _CodeBars:
  """A stand-in word generator: value v draws a black bar 2 + 2v px tall in the middle of the word."""

  class module:  # pylint: disable=invalid-name
    num_categorical, num_continuous = 4, 0

  latent_dim = 4

  def with_word_length(self, length):
    return self

  def condition_fn(self, rng, n):
    return {"chars": np.tile(np.arange(1, 7, dtype=np.int32), (n, 1))}

  def render(self, z, condition):
    heights = 2 + 2 * np.asarray(condition["categorical"])
    images = np.ones((len(z), 32, 96, 1), np.float32)
    for i, height in enumerate(heights):
      images[i, 16 - height // 2:16 - height // 2 + height, 20:60] = -1.0
    return images


class _HeightReader:
  factor_names = ("height", "noise")

  def predict(self, images):
    ink = (np.asarray(images)[..., 0] < 0).sum(axis=1).max(axis=1).astype(np.float64)
    return np.stack([ink, np.zeros_like(ink)], axis=-1)


def _height_q(images):
  height = (np.asarray(images)[..., 0] < 0).sum(axis=1).max(axis=1)
  return np.eye(4)[np.clip((height - 2) // 2, 0, 3)], np.zeros((len(images), 1))


def test_word_style_code_scores_find_the_factor_the_code_moves(monkeypatch):
  monkeypatch.setattr(word_generators, "condition_texts", lambda condition, generator=None: [
      "abcdef"] * len(condition["chars"]))
  # Real words of 4 writers, each writer's words drawn with the value of its id: Q sorts them by writer.
  writers = np.arange(40) % 4
  real = [{"image": np.asarray((_CodeBars().render(np.zeros((1, 4)), {"categorical": [w]}) + 1) * 127.5,
                               np.uint8)[0], "labels": np.arange(6), "writer": w} for w in writers]
  real.append({"image": real[0]["image"], "labels": np.arange(6), "writer": -1})  # Unknown: skipped.
  one_writer = word_style_codes.real_word_scores(_height_q, [r for r in real if r["writer"] == 0], 100)
  assert one_writer == {"style_code_real_num_words": 10.0, "style_code_real_num_writers": 1.0}
  scores = word_style_codes.evaluate_style_codes(
      _CodeBars(), _height_q, _HeightReader(), real, num_samples=12, num_words=3, num_real_words=100)
  assert scores["style_code_factor_source"] == "factor_reader"
  assert scores["style_code_height_eta_squared"] == pytest.approx(1.0)
  assert scores["style_code_noise_eta_squared"] == 0.0
  assert scores["style_code0_height_mean"] == 2.0 and scores["style_code3_height_mean"] == 8.0
  assert scores["style_code0_height_d"] < -1.0 < 1.0 < scores["style_code3_height_d"]
  assert scores["style_code_q_generated_accuracy"] == 1.0
  assert scores["style_code_real_nmi"] == pytest.approx(1.0) and scores["style_code_real_purity"] == 1.0
  assert scores["style_code_real_random_nmi"] < 0.3 and scores["style_code_real_random_purity"] < 0.5
  assert scores["style_code_real_num_words"] == 40.0 and scores["style_code_real_num_writers"] == 4.0
  # Without a reader the hand measurements read the same words: the bar's height is theirs too.
  hand = word_style_codes.evaluate_style_codes(
      _CodeBars(), _height_q, None, real, num_samples=12, num_words=3, num_real_words=100)
  assert hand["style_code_factor_source"] == "hand_measurements"
  assert hand["style_code_height_eta_squared"] == pytest.approx(1.0)


# ---- The config ----------------------------------------------------------------------------------

def test_info_composes_with_the_other_options():
  for arg in ("info", "cpu,info", "tiny,info", "tiny,attention,info"):
    config = scrabble_configs.get_config(arg)
    assert (config.num_categorical, config.num_continuous) == (10, 2), arg
  assert scrabble_configs.get_config("cpu,info").width_multiplier == 0.25
  assert scrabble_configs.get_config("tiny,attention,info").g_attention == (16,)


@pytest.mark.parametrize("key, value, allowed", [
    ("num_categorical", 1, "must be 0 (no categorical code) or an integer >= 2"),
    ("num_categorical", -2, "an integer >= 0"),
    ("num_continuous", -1, "an integer >= 0"),
    ("info_weight", -1.0, "a number >= 0"),
    ("info_continuous_weight", float("nan"), "a number >= 0"),
    ("style_code_samples", 0, "an integer >= 1"),
])
def test_bad_code_settings_are_one_line_config_errors(key, value, allowed, monkeypatch):
  monkeypatch.setattr(jax, "device_count", lambda: 1)
  config = scrabble_configs.get_config("tiny,info")
  kinds.check_config(config)
  config[key] = value
  with pytest.raises(ConfigError) as error:
    kinds.check_config(config)
  assert str(error.value).startswith(f"config.{key}={value!r}: ") and allowed in str(error.value)
  assert "\n" not in str(error.value)


# ---- The tiny run through the CLIs ----------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  """A tiny recognizer, a tiny ScrabbleGAN with codes (4 steps), then the same run resumed to 6 steps."""
  root = tmp_path_factory.mktemp("scrabble_info")
  workdir = root / "run"
  common = tiny_words_run_flags(root, "info")
  run_cli("experiments.train", *common)
  first = json.loads((workdir / "eval.json").read_text())
  resumed = run_cli("experiments.train", *common, "--config.num_train_steps=6")
  return {"workdir": workdir, "first": first, "resumed": resumed, "root": root}


def test_tiny_run_trains_checkpoints_resumes_and_logs_the_information_loss(tiny_run):
  workdir = tiny_run["workdir"]
  assert tiny_run["first"]["step"] == 4
  scores = json.loads((workdir / "eval.json").read_text())
  assert scores["step"] == 6
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  # D's information loss in every window; G's only in windows with a G update (g_every=4: steps 1 and 5).
  assert [r["step"] for r in records if "info_loss_d_categorical" in r] == [2, 4, 6]
  logged = [r for r in records if "info_loss_categorical" in r]
  assert [r["step"] for r in logged] == [2, 6]
  for record in logged:
    for key in scrabble_step.INFO_METRICS:
      assert 0 < record[key] < 20, (key, record)
  config = json.loads((workdir / "config.json").read_text())
  assert (config["num_categorical"], config["num_continuous"]) == (10, 2)


def test_tiny_run_writes_the_style_code_scores(tiny_run):
  scores = json.loads((tiny_run["workdir"] / "eval.json").read_text())
  assert scores["style_code_factor_source"] == "factor_reader"
  factors = [key[len("style_code_"):-len("_eta_squared")] for key in scores
             if key.startswith("style_code_") and key.endswith("_eta_squared")]
  assert "slant" in factors and len(factors) >= 4, factors
  for factor in factors:
    assert 0.0 <= scores[f"style_code_{factor}_eta_squared"] <= 1.0
    assert np.isfinite(scores[f"style_code_reader_r2_{factor}"])
    for value in range(10):
      assert np.isfinite(scores[f"style_code{value}_{factor}_d"])
      assert np.isfinite(scores[f"style_code{value}_{factor}_mean"])
  assert 0.0 <= scores["style_code_q_generated_accuracy"] <= 1.0
  # The tiny data set's test split has one writer: no NMI or purity then (every partition "follows" one
  # writer), only the counts.
  assert scores["style_code_real_num_words"] >= 2
  if scores["style_code_real_num_writers"] < 2:
    assert "style_code_real_nmi" not in scores
  else:
    for key in ("style_code_real_nmi", "style_code_real_purity", "style_code_real_random_nmi",
                "style_code_real_random_purity"):
      assert 0.0 <= scores[key] <= 1.0, key
    assert 1 <= scores["style_code_real_values_used"] <= 10
  for value in range(10):
    assert scores[f"style_code{value}_cer"] >= 0
  assert scores["style_code_cer"] == pytest.approx(np.mean([scores[f"style_code{v}_cer"] for v in range(10)]),
                                                   rel=1e-6)
  assert scores["style_code_q_continuous_mse"] >= 0
  assert scores["cer"] >= 0 and scores["fid"] >= 0  # The run's other scores are still there.


def test_tiny_run_draws_the_style_code_grid(tiny_run):
  figures = os.listdir(tiny_run["workdir"] / "figures")
  assert "style_code.png" in figures and "samples.png" in figures


def test_a_run_with_codes_loads_and_generates(tiny_run, tmp_path):
  generator = kinds.load_generator(str(tiny_run["workdir"]))
  assert generator.module.num_categorical == 10 and generator.step == 6
  out = tmp_path / "out.png"
  proc = run_cli("experiments.generate", f"--workdir={tiny_run['workdir']}", "--text=Shalom world",
                 "--num_styles=2", f"--output={out}")
  assert out.exists() and "categorical value 0" in proc.stderr, proc.stderr[-2000:]
