"""Explanations of ScrabbleGAN runs: attention with per-character shares, and each character's influence.

Known answers on hand-built maps and influence first (numpy, fast); then one tiny word run with
self-attention in G (`configs/scrabble.py:tiny,attention`), trained once for the module through the
CLI, explained in process by both methods.
"""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import explain as explain_configs
from configs import scrabble as scrabble_configs
from ganxai_jax import kinds
from ganxai_jax.errors import UsageError
from ganxai_jax.explain import attention as attention_lib
from ganxai_jax.explain import attention_report, influence, runner
from ganxai_jax.generators import words as word_generators
from ganxai_jax.models import scrabblegan
from tests.conftest import run_cli
from tests.toy_generators import bar_generator


# ---- Character slots of attention maps: known answers ------------------------------------------

def _maps_onto_slots(query_hw, pool_kv, image_hw, num_chars, target_of_slot):
  """Maps `[1, N_q, N_k]` whose query in slot s spreads its attention evenly over the keys of slot
  `target_of_slot(s)`."""
  key_h, key_w = attention_lib.key_grid_shape(*query_hw, pool_kv)
  key_slot = attention_lib.key_slot_fractions(image_hw, query_hw, pool_kv, num_chars).argmax(1)
  query_slot = attention_lib.query_column_slots(image_hw, query_hw, num_chars)
  maps = np.zeros((query_hw[0] * query_hw[1], key_h * key_w))
  for query in range(len(maps)):
    keys = np.tile(key_slot == target_of_slot(query_slot[query % query_hw[1]]), key_h)
    maps[query, keys] = 1.0 / keys.sum()
  return maps[None]


# A 4-character word (32 × 64) at heights 16 (pooled keys 8 × 32) and 8 (4 × 16).
@pytest.mark.parametrize("query_hw", [(16, 64), (8, 32)])
def test_character_shares_of_hand_built_maps(query_hw):
  image_hw, num_chars = (32, 64), 4
  own = _maps_onto_slots(query_hw, True, image_hw, num_chars, lambda s: s)
  shares = attention_lib.character_attention_shares(own, image_hw, query_hw, True, num_chars)
  assert (shares["own"], shares["neighbours"], shares["rest"]) == pytest.approx((1.0, 0.0, 0.0))
  # Baselines: each slot holds 1/4 of the keys; the first and last characters have one neighbour.
  assert shares["own_baseline"] == pytest.approx(0.25)
  assert shares["neighbours_baseline"] == pytest.approx((0.25 + 0.5 + 0.5 + 0.25) / 4)
  assert shares["rest_baseline"] == pytest.approx(1.0 - 0.25 - 0.375)
  assert shares["num_characters"] == 4 and shares["num_queries"] == query_hw[0] * query_hw[1]

  right_neighbour = _maps_onto_slots(query_hw, True, image_hw, num_chars, lambda s: s + 1 if s < 3 else 2)
  shares = attention_lib.character_attention_shares(right_neighbour, image_hw, query_hw, True, num_chars)
  assert (shares["own"], shares["neighbours"], shares["rest"]) == pytest.approx((0.0, 1.0, 0.0))
  far = _maps_onto_slots(query_hw, True, image_hw, num_chars, lambda s: 3 if s < 2 else 0)
  shares = attention_lib.character_attention_shares(far, image_hw, query_hw, True, num_chars)
  assert (shares["own"], shares["neighbours"], shares["rest"]) == pytest.approx((0.0, 0.0, 1.0))

  uniform = np.full_like(own, 1.0 / own.shape[-1])
  shares = attention_lib.character_attention_shares(uniform, image_hw, query_hw, True, num_chars)
  for region in ("own", "neighbours", "rest"):
    assert shares[region] == pytest.approx(shares[f"{region}_baseline"])


def test_key_slots_of_keys_that_straddle_two_characters():
  # 3 characters of 16 px; 4 query columns of 12 px pool to 2 key columns of 24 px: key 0 covers
  # slot 0 and half of slot 1, key 1 the other half of slot 1 and slot 2.
  fractions = attention_lib.key_slot_fractions((32, 48), (8, 4), True, 3)
  np.testing.assert_allclose(fractions, [[2 / 3, 1 / 3, 0.0], [0.0, 1 / 3, 2 / 3]])
  assert attention_lib.query_column_slots((32, 48), (8, 4), 3).tolist() == [0, 1, 1, 2]
  assert attention_lib.column_slots(96, 6).tolist() == [i // 16 for i in range(96)]
  with pytest.raises(ValueError, match="do not split"):
    attention_lib.column_slots(100, 6)


# ---- Influence scores: known answers ------------------------------------------------------------

def test_influence_spread_and_narrowest_width():
  assert influence.narrowest_width(np.array([0.0, 0.0, 1.0, 0.0]), 0.9) == 1
  assert influence.narrowest_width(np.ones(10), 0.9) == 9
  assert influence.narrowest_width(np.array([1.0, 0.0, 0.0, 1.0]), 0.9) == 4
  assert np.isnan(influence.narrowest_width(np.zeros(3), 0.9))

  # 3 characters of 16 px on 2 rows: character i is even over its own slot, character 2 also puts a
  # quarter of its influence 5 px left of its slot.
  maps = np.zeros((1, 3, 2, 48))
  for i in range(3):
    maps[0, i, :, 16 * i:16 * (i + 1)] = 1.0 / 32
  maps[0, 2] *= 0.75
  maps[0, 2, 0, 27] = 0.25
  spread = influence.influence_spread(maps, 0.9)
  assert spread["own_share"] + spread["outside_share"] == pytest.approx(1.0)
  assert spread["outside_share_by_position"] == pytest.approx([0.0, 0.0, 0.25])
  assert spread["outside_share"] == pytest.approx(0.25 / 3)
  assert spread["max_reach_px"] == 5 and spread["reach_px"] == pytest.approx(5 / 3)
  # ceil(0.9 · 16) = 15 columns for characters 0 and 1; character 2 needs column 27 and 14 of its own
  # (0.25 + 14 · 0.75/16 ≥ 0.9): columns 27..45.
  assert spread["width_px"] == pytest.approx((15 + 15 + 19) / 3)
  assert spread["num_characters"] == 3 and spread["num_silent_characters"] == 0

  offsets, shares = influence.offset_profile(maps)
  assert shares[offsets == -5] == pytest.approx(0.25 / 2)   # characters 1 and 2 have columns there
  assert np.nansum(shares[(offsets >= 0) & (offsets < 16)]) == pytest.approx(1 - 0.25 / 3)


def _fresh_word_generator(arg: str, word_length: int):
  config = scrabble_configs.get_config(arg)
  config.conv_impl = "lax"
  module = word_generators.build_generator(config)
  variables = module.init(jax.random.key(0), jnp.zeros((2, config.z_dim)), jnp.ones((2, 1), jnp.int32))
  return word_generators.wrap(module, variables, word_length=word_length)


def test_character_influence_equals_the_full_jacobian():
  """The chunked per-pixel backward passes give the squared Jacobian of the image with respect to the
  filter bank's output, summed over each character's 4 bank columns."""
  generator = _fresh_word_generator("tiny", 2)
  z, condition = generator.sample(jax.random.key(3), 1)
  chars = np.asarray(condition["chars"])
  images, measured = influence.character_influence(generator, np.asarray(z), chars, pixels_per_call=100)
  shape = word_generators.filter_bank_shape(generator, chars)
  assert shape[:3] == (1, scrabblegan.PATCH_SIZE, scrabblegan.PATCH_SIZE * 2)
  render = word_generators.filter_bank_render_fn(generator.module)
  jacobian = jax.jacrev(lambda offset: render(generator.variables, z, jnp.asarray(chars), offset)[0, ..., 0])(
      jnp.zeros(shape))                                                    # [H, W, 1, 4, 8, C]
  squared = np.asarray(jacobian, np.float64) ** 2
  expected = np.stack([squared[:, :, 0, :, 4 * i:4 * (i + 1)].sum((2, 3, 4)) for i in range(2)])
  assert images.shape == (1, 32, 32) and measured.shape == (1, 2, 32, 32)
  np.testing.assert_allclose(measured[0], expected, rtol=1e-4, atol=1e-12 * expected.max())
  np.testing.assert_allclose(images[0], generator.render(z, condition)[0, ..., 0], atol=1e-6)


def test_attention_query_grids_are_read_from_the_model():
  generator = _fresh_word_generator("tiny,attention", 6)
  latent, condition = attention_report.sample_inputs(generator, 0, 1)
  grids = attention_report.attention_query_grids(generator, latent, condition)
  assert grids == {"attention_16": (16, 96)}   # 16 × 16n for n = 6: not the image's 1:3 aspect
  maps = np.zeros((1, 16 * 96, 8 * 48))
  assert attention_report.layer_geometry(maps, (32, 96), grids["attention_16"]) == ((16, 96), True)
  with pytest.raises(ValueError):
    attention_report.layer_geometry(maps, (32, 96))


def test_methods_refuse_generators_they_cannot_explain_in_one_line(tmp_path):
  config = explain_configs.get_config("attention,tiny")
  config.generator_workdir = str(tmp_path / "words_run")
  with pytest.raises(UsageError, match="configs/scrabble.py:cpu,attention") as error:
    attention_report.run(config, str(tmp_path / "out"), _fresh_word_generator("tiny", 6))
  assert "words_run" in str(error.value) and "\n" not in str(error.value)
  config = explain_configs.get_config("influence,tiny")
  config.generator_workdir = str(tmp_path / "digits_run")
  with pytest.raises(UsageError, match="word generators") as error:
    influence.run(config, str(tmp_path / "out"), bar_generator())
  assert "digits_run" in str(error.value) and "\n" not in str(error.value)


# ---- A tiny word run with attention, explained --------------------------------------------------

@pytest.fixture(scope="module")
def word_run(tmp_path_factory):
  """A tiny ScrabbleGAN run (4 steps) with self-attention at height 16, through the training CLI."""
  root = tmp_path_factory.mktemp("words")
  workdir = root / "run"
  run_cli("experiments.train", "--config=configs/scrabble.py:tiny,attention", f"--workdir={workdir}",
          f"--config.data_dir={root / 'tfds'}", "--config.bucket_size=10", "--config.conv_impl=lax")
  return str(workdir)


def _explain(method: str, run: str, out) -> dict:
  config = explain_configs.get_config(f"{method},tiny")
  config.generator_workdir = run
  runner.run(config, str(out), kinds.load_generator)
  with open(out / "explain.json", encoding="utf-8") as fh:
    return json.load(fh)


def test_attention_explanation_of_a_word_run(word_run, tmp_path):
  report = _explain("attention", word_run, tmp_path)
  assert report["method"] == "attention" and report["word_length"] == 6
  layer = report["layers"]["attention_16"]
  assert layer["query_grid"] == [16, 96] and layer["pooled_keys"]
  assert 0.0 < layer["uniform_baseline"] < 1.0
  for key in ("ink_to_ink", "background_to_ink"):
    assert np.isnan(layer[key]) or 0.0 <= layer[key] <= 1.0
  shares = layer["character_shares"]
  assert shares["slot_width_px"] == 16 and shares["num_characters"] == 6
  assert shares["num_queries"] == report["num_score_images"] * 16 * 96
  regions = ("own", "neighbours", "rest")
  assert all(0.0 <= shares[r] <= 1.0 and 0.0 < shares[f"{r}_baseline"] < 1.0 for r in regions)
  assert sum(shares[r] for r in regions) == pytest.approx(1.0, abs=1e-5)
  assert sum(shares[f"{r}_baseline"] for r in regions) == pytest.approx(1.0)
  assert shares["own_baseline"] == pytest.approx(1 / 6)
  print("attention character shares:", {k: round(v, 4) for k, v in shares.items()})
  figures = set(os.listdir(tmp_path / "figures"))
  assert set(report["figures"]) == figures
  assert {"aggregate.png", "queries_attention_16_0.png", "queries_attention_16_1.png"} <= figures


def test_influence_explanation_of_a_word_run(word_run, tmp_path):
  report = _explain("influence", word_run, tmp_path)
  config = explain_configs.get_config("influence,tiny").influence
  assert report["method"] == "influence" and len(report["words"]) == config.num_words
  length = config.word_length
  assert report["word_length"] == length and report["slot_width_px"] == 16
  assert report["image_width_px"] == 16 * length and all(len(word) == length for word in report["words"])
  assert report["uniform_outside_share"] == pytest.approx(1 - 1 / length)
  for model in ("trained", "fresh"):
    spread = report[model]
    assert spread["num_characters"] + spread["num_silent_characters"] == length * config.num_words
    assert 0.0 <= spread["own_share"] <= 1.0 and 0.0 <= spread["outside_share"] <= 1.0
    assert spread["own_share"] + spread["outside_share"] == pytest.approx(1.0)
    assert 1.0 <= spread["width_px"] <= 16 * length and len(spread["outside_share_by_position"]) == length
    print(f"influence {model}:", {k: v for k, v in spread.items() if k != "outside_share_by_position"})
  # A fresh attention layer has γ = 0, so only the convolutions carry a character beyond its slot:
  # ±2 columns at height 8 (two 3×3 convolutions), upsampled to ±4, two more at 16 (±6), two at 32
  # (the last block upsamples height only: ±8) and the output convolution: 9 px.
  assert report["fresh"]["max_reach_px"] == 9
  # Trained, γ ≠ 0: attention carries some influence past the convolutions' reach.
  gamma = kinds.load_generator(word_run).attention_gammas()["attention_16"]
  if gamma != 0:
    assert report["trained"]["max_reach_px"] > 9
  figures = set(os.listdir(tmp_path / "figures"))
  assert set(report["figures"]) == figures == {"influence_0.png", "influence_profile.png"}
