"""The attention explanation: layer geometry, query entropy, one-line errors, and the CLI end to end."""
import json
import os

import ml_collections
import numpy as np
import pytest

from configs import explain as explain_configs
from ganxai_jax import kinds
from ganxai_jax.errors import UsageError
from ganxai_jax.explain import attention_report
from tests.conftest import run_cli
from tests.toy_generators import bar_generator


def test_layer_geometry_of_square_and_wide_images():
  assert attention_report.layer_geometry(np.zeros((1, 196, 49)), (28, 28)) == ((14, 14), True)
  assert attention_report.layer_geometry(np.zeros((1, 196, 196)), (28, 28)) == ((14, 14), False)
  # A 32 × 128 word at height 8: an 8 × 32 query grid over 4 × 16 pooled keys.
  assert attention_report.layer_geometry(np.zeros((1, 256, 64)), (32, 128)) == ((8, 32), True)
  with pytest.raises(ValueError):
    attention_report.layer_geometry(np.zeros((1, 196, 50)), (28, 28))


def test_query_statistics_of_uniform_shared_and_query_dependent_maps():
  image = -np.ones((1, 8, 8))
  image[0, :, :4] = 1.0                        # left half ink: query columns 0-1 ink, 2-3 background
  maps = np.full((1, 16, 4), 0.25)             # 4 × 4 queries, 2 × 2 pooled keys: background uniform
  ink_queries = [0, 1, 4, 5, 8, 9, 12, 13]
  maps[0, ink_queries] = np.eye(4)[[0, 1] * 4]  # ink queries attend to one key, alternating two keys
  statistics = attention_report.query_statistics(maps, image, (4, 4), threshold=0.0, ink_polarity="bright",
                                                 ink_query_fraction=0.5)
  assert statistics["ink_query_entropy"] == pytest.approx(0.0, abs=1e-9)
  assert statistics["background_query_entropy"] == pytest.approx(1.0)
  assert statistics["background_query_spread"] == pytest.approx(0.0)  # all alike: silent
  assert statistics["ink_query_spread"] == pytest.approx(0.5)        # half on each key on average


def test_generator_without_attention_is_a_one_line_usage_error(tmp_path):
  config = explain_configs.get_config("attention,tiny")
  config.generator_workdir = str(tmp_path)
  with pytest.raises(UsageError, match="no self-attention layers") as error:
    attention_report.run(config, str(tmp_path / "out"), bar_generator())
  assert "\n" not in str(error.value)


def test_unknown_run_kind_is_a_usage_error(tmp_path):
  with open(tmp_path / "config.json", "w", encoding="utf-8") as fh:
    json.dump({"model": "vae"}, fh)
  with pytest.raises(UsageError, match="model='vae' is not one of"):
    kinds.load_generator(str(tmp_path))


def test_explain_cli_on_a_workdir_without_checkpoints_exits_2_in_one_line(tmp_path):
  proc = run_cli("experiments.explain", "--config=configs/explain.py:attention,tiny",
                 f"--config.generator_workdir={tmp_path}", f"--workdir={tmp_path / 'out'}", check=False)
  assert proc.returncode == 2, proc.stderr
  assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_attention_explanation_of_a_tiny_sagan_end_to_end(tmp_path, mnist_data_dir):
  run_dir, out_dir = tmp_path / "sagan", tmp_path / "explain"
  run_cli("experiments.train", "--config=configs/mnist.py:sagan,tiny", f"--workdir={run_dir}",
          f"--config.data_dir={mnist_data_dir}")
  run_cli("experiments.explain", "--config=configs/explain.py:attention,tiny",
          f"--config.generator_workdir={run_dir}", f"--workdir={out_dir}")
  with open(out_dir / "explain.json", encoding="utf-8") as fh:
    report = json.load(fh)
  layer = report["layers"]["attention_14"]
  config = explain_configs.get_config("attention,tiny").attention
  assert layer["num_images"] == report["num_score_images"] == config.num_score_images
  assert layer["query_grid"] == [14, 14] and layer["pooled_keys"]
  assert 0.0 < layer["uniform_baseline"] < 1.0
  for key in ("ink_to_ink", "background_to_ink"):  # tiny digits may lack one kind of query: NaN then
    assert np.isnan(layer[key]) or 0.0 <= layer[key] <= 1.0
  assert np.isfinite(layer["gamma"])
  figures = set(os.listdir(out_dir / "figures"))
  assert set(report["figures"]) == figures
  assert {"aggregate.png"} | {f"queries_attention_14_{i}.png" for i in range(config.num_images)} <= figures
