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

def _mismatches(plain, vmapped, rtol=1e-5, atol=1e-5):
  """Paths of the leaves of two trees that differ beyond float tolerance."""
  found = []
  for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(jax.device_get(plain)),
                          jax.tree_util.tree_leaves(jax.device_get(vmapped))):
    if not np.allclose(a, b, rtol=rtol, atol=atol):
      found.append(jax.tree_util.keystr(path))
  return found


def _assert_same_training(plain, vmapped, config, steps):
  """The same run in two float orders: same tree, same rng, and parameters apart by rounding only.

  A vmapped convolution sums in another order than the plain one, and Adam's first steps move every
  parameter by about +-lr whatever its gradient's size, so a gradient that is zero up to rounding (a
  ReLU or BatchNorm at its kink) becomes a step of +-lr in one order and -+lr in the other. Parameters
  (and the running statistics of activations they give) therefore agree within 2 * lr per step, not
  1e-5; the losses, which a wrong batch, noise or rng would move by 1e-3, are compared tightly by the
  callers.
  """
  fields = lambda state: ((state["step"], state["rng"], state["nets"]) if isinstance(state, dict) else
                          (state.step, state.rng, state.nets))
  (plain_step, plain_rng, plain_nets), (step, rng, nets) = fields(plain), fields(vmapped)
  assert int(step) == int(plain_step) == steps
  np.testing.assert_array_equal(jax.device_get(rng), jax.device_get(plain_rng))
  assert jax.tree_util.tree_structure(plain_nets) == jax.tree_util.tree_structure(nets)
  # Adam's moments follow the gradients, which a flipped kink changes by their own size: the parameters
  # and running statistics they produced are compared instead.
  kept = lambda tree: {name: ((net["params"], net["collections"]) if isinstance(net, dict) else
                              (net.params, net.collections)) for name, net in tree.items()}
  bound = 2 * max(config.g_lr, config.d_lr) * steps
  assert not _mismatches(kept(plain_nets), kept(nets), rtol=0, atol=bound)


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
  vmapped_losses = []
  for _ in range(3):
    states, metrics = step(states, seeds.global_batch(next(data), mesh))
    vmapped_losses.append(jax.device_get(metrics))
  assert int(states.step) == 3 and {"d_loss", "seed_1/d_loss", "seed_2/g_loss"} <= set(metrics)
  np.testing.assert_allclose(metrics["d_loss"], (metrics["seed_1/d_loss"] + metrics["seed_2/d_loss"]) / 2,
                             rtol=1e-6)

  plain_step = trainer.make_train_step(components)
  for index, seed in enumerate(seed_list):
    config.seed = seed
    state = trainer.create_state(config, components, mesh)
    iterator = pipeline.train_iterator(source, config.batch_size, seed)
    for number in range(3):
      state, metrics = plain_step(state, parallel.global_batch(next(iterator), mesh))
      for name in ("d_loss", "g_loss"):
        np.testing.assert_allclose(vmapped_losses[number][f"seed_{seed}/{name}"], metrics[name], rtol=1e-5,
                                   err_msg=f"seed {seed}, step {number + 1}, {name}")
    _assert_same_training(state, seeds.seed_state(states, index), config, 3)


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
  run_config, plain_state = kinds.restore(plain)
  _assert_same_training(plain_state, vmapped_state, run_config, 4)
  plain_logged = [json.loads(line) for line in open(os.path.join(plain, "metrics.jsonl"))]
  plain_logged = [r for r in plain_logged if "g_loss" in r]
  assert [r["step"] for r in plain_logged] == [2, 4]
  for ours, theirs in zip(logged, plain_logged):
    for name in ("d_loss", "g_loss"):
      assert ours[f"seed_2/{name}"] == pytest.approx(theirs[name], rel=1e-5), (ours["step"], name)
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
