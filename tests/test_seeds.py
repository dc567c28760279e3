"""Several seeds of an MNIST GAN as one vmapped program (`config.num_seeds`): each seed trains as its
plain run does, resumes, and leaves a plain run folder; the sweep's `seed=` axis groups seeds."""
import csv
import json
import os

import jax
import numpy as np
import pytest

from configs import mnist as mnist_configs
from configs import scrabble as scrabble_configs
from ganxai_jax import config_checks
from ganxai_jax import kinds
from ganxai_jax.data import pipeline
from ganxai_jax.errors import ConfigError
from ganxai_jax.run import parallel
from ganxai_jax.training import seeds, sweep, trainer
from tests.conftest import run_cli

# InfoGAN's Q head has a bias before its BatchNorm (`q_fc`, models/dcgan.py): its gradient is zero up to
# rounding, and Adam turns that rounding into steps of ±lr, so it (and the running mean of `q_bn` that
# follows it) differs between any two float orders of the same computation. BatchNorm cancels it in
# training, so nothing else depends on it.
ROUNDING_ONLY = ("['q_fc']['bias']", "['q_bn']['mean']")


def _mismatches(plain, vmapped, rtol=1e-5, atol=1e-5):
  """Paths of the leaves of two trees that differ beyond float tolerance."""
  found = []
  for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(jax.device_get(plain)),
                          jax.tree_util.tree_leaves(jax.device_get(vmapped))):
    if not np.allclose(a, b, rtol=rtol, atol=atol):
      found.append(jax.tree_util.keystr(path))
  return found


@pytest.mark.parametrize("variant", ["gan", "infogan"])
def test_each_seed_of_a_vmapped_step_trains_as_its_plain_run(variant, mnist_data_dir):
  config = mnist_configs.get_config(f"{variant},tiny")
  mesh = parallel.make_mesh(jax.devices()[:1])
  components = trainer.build_components(config, mesh)
  source = pipeline.prepare_builder(config.dataset, mnist_data_dir).as_data_source("train")
  seed_list = [1, 2]
  parts = trainer.seed_parts(config, components, source, eval_data=None)
  states = seeds.create_states(parts.init_fn, seed_list, mesh)
  data = seeds.SeedIterators([parts.data_iterator(seed) for seed in seed_list])
  step = seeds.make_train_step(parts.train_step, seed_list)
  for _ in range(3):
    states, metrics = step(states, seeds.global_batch(next(data), mesh))
  assert int(states.step) == 3 and {"d_loss", "seed_1/d_loss", "seed_2/g_loss"} <= set(metrics)
  np.testing.assert_allclose(metrics["d_loss"], (metrics["seed_1/d_loss"] + metrics["seed_2/d_loss"]) / 2,
                             rtol=1e-6)

  plain_step = trainer.make_train_step(components)
  for index, seed in enumerate(seed_list):
    config.seed = seed
    state = trainer.create_state(config, components, mesh)
    iterator = pipeline.train_iterator(source, config.batch_size, seed)
    for _ in range(3):
      state, _ = plain_step(state, parallel.global_batch(next(iterator), mesh))
    vmapped = seeds.seed_state(states, index)
    assert int(vmapped.step) == int(state.step)
    np.testing.assert_array_equal(jax.device_get(vmapped.rng), jax.device_get(state.rng))
    different = _mismatches(state.nets, vmapped.nets)
    assert all(any(name in path for name in ROUNDING_ONLY) for path in different), (seed, different)


def test_cli_trains_seeds_as_plain_runs_resumes_and_writes_plain_folders(tmp_path, mnist_data_dir):
  workdir, plain = str(tmp_path / "seeds"), str(tmp_path / "plain_seed_2")
  common = ["--config=configs/mnist.py:gan,tiny", f"--config.data_dir={mnist_data_dir}"]
  seeds_flags = [*common, f"--workdir={workdir}", "--config.num_seeds=2", "--config.seed=1"]
  # Stopped after 2 of 4 steps, then resumed by the same command with the full step count.
  run_cli("experiments.train", *seeds_flags, "--config.num_train_steps=2")
  run_cli("experiments.train", *seeds_flags)
  run_cli("experiments.train", *common, f"--workdir={plain}", "--config.seed=2")

  summary = json.load(open(os.path.join(workdir, "eval.json")))
  assert summary["seeds"] == [1, 2] and summary["step"] == 4 and len(summary["per_seed"]) == 2
  assert summary["median"]["fid"] == pytest.approx(np.median([s["fid"] for s in summary["per_seed"]]))
  assert summary["mean"]["fid"] == pytest.approx(np.mean([s["fid"] for s in summary["per_seed"]]))
  records = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  logged = [r for r in records if "g_loss" in r]
  assert [r["step"] for r in logged] == [2, 4]
  assert {"seed_1/g_loss", "seed_2/g_loss"} <= set(logged[-1])

  for seed in (1, 2):
    folder = os.path.join(workdir, f"seed_{seed}")
    run_config = json.load(open(os.path.join(folder, "config.json")))
    assert run_config["seed"] == seed and run_config["num_seeds"] == 1
    assert json.load(open(os.path.join(folder, "eval.json"))) == summary["per_seed"][seed - 1]
    assert {"samples.png", "samples_000002.png", "samples_000004.png"} <= set(os.listdir(
        os.path.join(folder, "figures")))
    generator = kinds.load_generator(folder)
    assert generator.step == 4

  # The folder of all seeds is not one run: the commands that take a run folder point to a seed's.
  with pytest.raises(ConfigError, match="2 seeds trained together.*seed_1"):
    config_checks.check_run_folder("--workdir", workdir, kinds.MODELS)
  config_checks.check_run_folder("--workdir", os.path.join(workdir, "seed_1"), kinds.MODELS)

  # Seed 2, resumed halfway, equals the uninterrupted plain run of seed 2: state and scores.
  _, vmapped_state = kinds.restore(os.path.join(workdir, "seed_2"))
  _, plain_state = kinds.restore(plain)
  assert not _mismatches(plain_state, vmapped_state)
  plain_scores = json.load(open(os.path.join(plain, "eval.json")))
  vmapped_scores = summary["per_seed"][1]
  assert set(plain_scores) == set(vmapped_scores)
  for name, value in plain_scores.items():
    assert vmapped_scores[name] == pytest.approx(value, rel=1e-4, abs=1e-5), name


def test_num_seeds_is_checked():
  config = mnist_configs.get_config("gan,tiny")
  config.num_seeds = 0
  with pytest.raises(ConfigError, match="config.num_seeds=0: must be an integer >= 1"):
    config_checks.check_mnist(config)


def _fake_train(calls):
  """A train function that records its calls and writes the eval.json a real run would write."""
  def train(config, workdir):
    calls.append((os.path.basename(workdir), config.seed, config.get("num_seeds", 1)))
    scores = [{"fid": 10.0 * seed + config.g_lr * 1e4 if "g_lr" in config else float(seed), "step": 4}
              for seed in range(config.seed, config.seed + config.get("num_seeds", 1))]
    os.makedirs(workdir, exist_ok=True)
    payload = (scores[0] if config.get("num_seeds", 1) == 1 else
               seeds.summarize_scores(list(range(config.seed, config.seed + config.num_seeds)), scores, 4))
    json.dump(payload, open(os.path.join(workdir, "eval.json"), "w"))
  return train


def test_sweep_runs_consecutive_seeds_as_one_run_and_keeps_a_row_per_seed(tmp_path):
  calls = []
  config = mnist_configs.get_config("gan,tiny")
  rows = sweep.run_sweep(config, "seed=0,1,2,5 g_lr=1e-4,2e-4", str(tmp_path), _fake_train(calls))
  assert calls == [("g_lr=0.0001,seeds=0-2", 0, 3), ("g_lr=0.0001,seeds=5-5", 5, 1),
                   ("g_lr=0.0002,seeds=0-2", 0, 3), ("g_lr=0.0002,seeds=5-5", 5, 1)]
  with open(tmp_path / "summary.csv") as fh:
    table = list(csv.DictReader(fh))
  assert [(r["run"], r["seed"], r["g_lr"]) for r in table] == [
      ("g_lr=0.0001,seeds=0-2/seed_0", "0", "0.0001"), ("g_lr=0.0001,seeds=0-2/seed_1", "1", "0.0001"),
      ("g_lr=0.0001,seeds=0-2/seed_2", "2", "0.0001"), ("g_lr=0.0001,seeds=5-5", "5", "0.0001"),
      ("g_lr=0.0002,seeds=0-2/seed_0", "0", "0.0002"), ("g_lr=0.0002,seeds=0-2/seed_1", "1", "0.0002"),
      ("g_lr=0.0002,seeds=0-2/seed_2", "2", "0.0002"), ("g_lr=0.0002,seeds=5-5", "5", "0.0002")]
  assert [float(r["fid"]) for r in table[:4]] == [1.0, 11.0, 21.0, 51.0]
  assert len(rows) == 8

  # Rerun: every run is done and skipped.
  sweep.run_sweep(config, "seed=0,1,2,5 g_lr=1e-4,2e-4", str(tmp_path), _fake_train(calls))
  assert len(calls) == 4


def test_sweep_of_a_model_without_num_seeds_runs_one_folder_per_seed(tmp_path):
  calls = []
  config = scrabble_configs.get_config("cpu")
  assert "num_seeds" not in config
  sweep.run_sweep(config, "seed=0,1", str(tmp_path), _fake_train(calls))
  assert calls == [("seed=0", 0, 1), ("seed=1", 1, 1)]
  with open(tmp_path / "summary.csv") as fh:
    assert [r["run"] for r in csv.DictReader(fh)] == ["seed=0", "seed=1"]
