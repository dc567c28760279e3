"""The MNIST GAN training step, data parallelism, and the training/evaluation CLIs end to end."""
import json
import os

import jax
import numpy as np
import pytest

from configs import mnist as mnist_configs
from ganxai_jax.run import parallel
from ganxai_jax.training import trainer
from tests.conftest import run_cli


def _setup(variant, devices, **overrides):
  config = mnist_configs.get_config(f"{variant},tiny")
  config.update(overrides)
  mesh = parallel.make_mesh(devices)
  components = trainer.build_components(config, mesh)
  state = trainer.create_state(config, components, mesh)
  return config, mesh, components, state


def _batch(batch_size, seed=0):
  rng = np.random.default_rng(seed)
  return {"image": rng.uniform(-1, 1, (batch_size, 28, 28, 1)).astype(np.float32),
          "label": (np.arange(batch_size) % 10).astype(np.int32)}


@pytest.mark.parametrize("variant", ["gan", "cgan", "sagan", "infogan"])
def test_one_step_changes_parameters_and_keeps_losses_finite(variant):
  config, mesh, components, state = _setup(variant, jax.devices()[:1])
  before = jax.device_get(state.nets)
  step_fn = trainer.make_train_step(components)
  state, metrics = step_fn(state, parallel.global_batch(_batch(config.batch_size), mesh))
  metrics = jax.device_get(metrics)
  assert all(np.isfinite(v) for v in metrics.values()), metrics
  assert int(state.step) == 1
  for net in ("generator", "discriminator"):
    changed = jax.tree_util.tree_map(lambda a, b: not np.allclose(a, b), before[net].params,
                                     jax.device_get(state.nets[net].params))
    assert any(jax.tree_util.tree_leaves(changed)), net
  if variant == "infogan":
    assert "info_loss" in metrics and "info_loss_d" in metrics
  if variant == "sagan":  # Spectral-norm statistics live in their own collection and move.
    assert "spectral" in state.nets["discriminator"].collections


def test_eight_devices_match_one_device():
  losses = {}
  for count in (1, 8):
    config, mesh, components, state = _setup("cgan", jax.devices()[:count])
    step_fn = trainer.make_train_step(components)
    history = []
    for i in range(3):
      state, metrics = step_fn(state, parallel.global_batch(_batch(config.batch_size, seed=i), mesh))
      history.append(jax.device_get(metrics))
    losses[count] = history
    assert state.nets["generator"].params["fc"]["dense"]["kernel"].sharding.is_fully_replicated
  for one, eight in zip(losses[1], losses[8]):
    for key in one:
      np.testing.assert_allclose(one[key], eight[key], rtol=2e-4, atol=2e-5, err_msg=key)


def test_same_seed_same_run_different_seed_different_run():
  config, mesh, components, _ = _setup("gan", jax.devices()[:1])
  step_fn = trainer.make_train_step(components)
  params = []
  for seed in (0, 0, 1):
    config.seed = seed
    state = trainer.create_state(config, components, mesh)
    state, _ = step_fn(state, parallel.global_batch(_batch(config.batch_size), mesh))
    params.append(jax.device_get(state.nets["generator"].params["fc"]["dense"]["kernel"]))
  np.testing.assert_array_equal(params[0], params[1])
  assert not np.allclose(params[0], params[2])


def test_cli_trains_evaluates_draws_and_resumes(tmp_path, mnist_data_dir):
  workdir = str(tmp_path / "run")
  common = ["--config=configs/mnist.py:cgan,tiny", f"--workdir={workdir}", f"--config.data_dir={mnist_data_dir}"]
  run_cli("experiments.train", *common, devices=2)
  with open(os.path.join(workdir, "eval.json")) as fh:
    scores = json.load(fh)
  assert {"fid", "fid_real_vs_real", "label_accuracy", "classifier_test_accuracy"} <= set(scores)
  assert scores["step"] == 4
  records = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  assert [r["step"] for r in records if "g_loss" in r] == [2, 4]
  figures = set(os.listdir(os.path.join(workdir, "figures")))
  assert {"samples.png", "style_content.png", "samples_000002.png"} <= figures
  assert os.listdir(os.path.join(workdir, "tensorboard"))
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["2", "4"]

  # The same command with more steps resumes at step 4 instead of starting again.
  run_cli("experiments.train", *common, "--config.num_train_steps=6", devices=2)
  records = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  assert [r["step"] for r in records if "g_loss" in r] == [2, 4, 6]
  assert "6" in os.listdir(os.path.join(workdir, "checkpoints"))

  os.remove(os.path.join(workdir, "eval.json"))
  run_cli("experiments.evaluate", f"--workdir={workdir}")
  with open(os.path.join(workdir, "eval.json")) as fh:
    assert json.load(fh)["step"] == 6


def test_cli_bad_input_is_one_line_with_exit_code_2(tmp_path, mnist_data_dir):
  empty = tmp_path / "empty"
  empty.mkdir()
  proc = run_cli("experiments.evaluate", f"--workdir={empty}", check=False)
  assert proc.returncode == 2
  assert proc.stderr.strip().startswith("error:") and "config.json" in proc.stderr
  assert len(proc.stderr.strip().splitlines()) == 1

  proc = run_cli("experiments.train", "--config=configs/mnist.py:cgan,tiny", f"--workdir={tmp_path / 'w'}",
                 f"--config.data_dir={mnist_data_dir}", "--config.batch_size=12", devices=8, check=False)
  assert proc.returncode == 2 and "batch_size=12" in proc.stderr, proc.stderr[-2000:]
  assert not os.path.exists(tmp_path / "w" / "checkpoints")

  proc = run_cli("experiments.train", "--config=configs/mnist.py:cgan,tiny", f"--workdir={tmp_path / 'w'}",
                 "--config.no_such_key=1", check=False)
  assert proc.returncode == 2 and proc.stderr.startswith("error:"), proc.stderr[-2000:]

  proc = run_cli("experiments.train", "--config=configs/mnist.py:wgan", f"--workdir={tmp_path / 'w'}",
                 check=False)
  assert proc.returncode == 2 and "wgan" in proc.stderr, proc.stderr[-2000:]

  proc = run_cli("experiments.train", "--config=configs/mnist.py:cgan,tiny", f"--workdir={tmp_path / 'w'}",
                 "--config.batch_size=abc", check=False)
  assert proc.returncode == 2 and "batch_size=abc" in proc.stderr, proc.stderr[-2000:]

  proc = run_cli("experiments.train", "--config=configs/mnist.py:cgan,tiny", f"--workdir={tmp_path / 'w'}",
                 f"--config.data_dir={tmp_path / 'data'}", "--config.dataset=mnist_idx",
                 f"--config.manual_dir={tmp_path / 'no_mnist'}", check=False)
  assert proc.returncode == 2 and "does not exist" in proc.stderr and "t10k-images" in proc.stderr
  assert not os.path.exists(tmp_path / "w") and not os.path.exists(tmp_path / "data" / "mnist_idx")
