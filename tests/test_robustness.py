"""Production guards: preemption and exact resume, non-finite losses, corrupt checkpoints, sweeps."""
import csv
import glob
import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from configs import mnist as mnist_configs
from ganxai_jax.errors import UsageError
from ganxai_jax.run import guards, parallel
from ganxai_jax.training import sweep, trainer
from ganxai_jax.run.checkpoints import Checkpointer
from tests.conftest import REPO_ROOT, run_cli


def _tiny(data_dir, **overrides):
  config = mnist_configs.get_config("gan,tiny")
  config.data_dir = data_dir
  config.classifier_steps = 2
  config.update(overrides)
  return config


def _saved_state(workdir, step):
  return ocp.StandardCheckpointer().restore(os.path.join(workdir, "checkpoints", str(step), "state"))


def test_sigterm_saves_exits_75_and_resume_is_bit_exact(tmp_path, mnist_data_dir):
  steps = 150
  args = ["--config=configs/mnist.py:gan,tiny", f"--config.data_dir={mnist_data_dir}",
          f"--config.num_train_steps={steps}", "--config.checkpoint_every_steps=100000",
          "--config.sample_every_steps=0", "--config.log_every_steps=10", "--config.classifier_steps=2"]
  interrupted = str(tmp_path / "interrupted")
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
  proc = subprocess.Popen([sys.executable, "-m", "experiments.train", *args, f"--workdir={interrupted}"],
                          cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  metrics = os.path.join(interrupted, "metrics.jsonl")
  deadline = time.time() + 300
  while not os.path.exists(metrics) and time.time() < deadline and proc.poll() is None:
    time.sleep(0.2)
  proc.send_signal(signal.SIGTERM)
  _, stderr = proc.communicate(timeout=300)
  assert proc.returncode == guards.EXIT_PREEMPTED, stderr[-3000:]
  assert "SIGTERM" in stderr
  saved = [int(s) for s in os.listdir(os.path.join(interrupted, "checkpoints"))]
  assert len(saved) == 1 and 0 < saved[0] < steps
  assert not os.path.exists(os.path.join(interrupted, "eval.json"))

  run_cli("experiments.train", *args, f"--workdir={interrupted}")
  straight = str(tmp_path / "straight")
  run_cli("experiments.train", *args, f"--workdir={straight}")
  resumed, uninterrupted = _saved_state(interrupted, steps), _saved_state(straight, steps)
  for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(resumed), jax.tree_util.tree_leaves(uninterrupted)):
    np.testing.assert_array_equal(a, b, err_msg=jax.tree_util.keystr(path))


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, mnist_data_dir, monkeypatch):
  real_make = trainer.make_train_step

  def poisoned(components):
    step_fn = real_make(components)

    def wrapped(state, batch):
      new_state, metrics = step_fn(state, batch)
      bad = new_state.step >= 3
      metrics = dict(metrics, g_loss=jax.numpy.where(bad, jax.numpy.nan, metrics["g_loss"]))
      return new_state, metrics
    return wrapped

  monkeypatch.setattr(trainer, "make_train_step", poisoned)
  workdir = str(tmp_path / "run")
  with pytest.raises(guards.NonFiniteLoss, match="step 3: g_loss=nan.*last good checkpoint \\(step 2\\)"):
    trainer.train_and_evaluate(_tiny(mnist_data_dir, num_train_steps=6, log_every_steps=3), workdir)
  assert Checkpointer(workdir).all_steps() == [2]
  assert not os.path.exists(os.path.join(workdir, "eval.json"))


def test_corrupt_latest_checkpoint_falls_back_to_the_previous(tmp_path, mnist_data_dir):
  workdir = str(tmp_path / "run")
  config = _tiny(mnist_data_dir, num_train_steps=4, sample_every_steps=0)
  trainer.train_and_evaluate(config, workdir)
  for path in glob.glob(os.path.join(workdir, "checkpoints", "4", "state", "**", "*"), recursive=True):
    if os.path.isfile(path):
      with open(path, "wb") as fh:
        fh.write(b"garbage")
  mesh = parallel.make_mesh()
  mesh_state = trainer.create_state(config, trainer.build_components(config, mesh), mesh)
  checkpointer = Checkpointer(workdir)
  state = checkpointer.restore_latest(mesh_state)
  assert int(state.step) == 2
  assert os.listdir(os.path.join(workdir, "checkpoints_unreadable")) == ["4"]
  assert checkpointer.all_steps() == [2]

  for path in glob.glob(os.path.join(workdir, "checkpoints", "2", "state", "**", "*"), recursive=True):
    if os.path.isfile(path):
      with open(path, "wb") as fh:
        fh.write(b"garbage")
  with pytest.raises(UsageError, match="no checkpoint .* could be read.*new workdir"):
    Checkpointer(workdir).restore_latest(mesh_state)
  assert Checkpointer(workdir).all_steps() == [2]  # Nothing is moved when nothing can be read.


def test_sweep_parses_typed_values_and_rejects_bad_ones():
  config = mnist_configs.get_config("cgan,tiny")
  axes = sweep.parse_sweep("seed=0,1,2 g_lr=1e-4,2e-4 loss=hinge", config)
  assert axes == [("seed", [0, 1, 2]), ("g_lr", [1e-4, 2e-4]), ("loss", ["hinge"])]
  assert isinstance(axes[0][1][0], int)
  with pytest.raises(UsageError, match="sweep key 'no_key' is not in the config"):
    sweep.parse_sweep("no_key=1", config)
  with pytest.raises(UsageError, match="seed='x' is not a int"):
    sweep.parse_sweep("seed=x", config)
  with pytest.raises(UsageError, match="not KEY=V1,V2"):
    sweep.parse_sweep("seed", config)


def test_sweep_cli_runs_the_grid_writes_a_summary_and_skips_finished_runs(tmp_path, mnist_data_dir):
  workdir = str(tmp_path / "sweep")
  args = ["--config=configs/mnist.py:gan,tiny", f"--config.data_dir={mnist_data_dir}", "--config.classifier_steps=2",
          "--config.sample_every_steps=0", "--sweep=seed=0,1 d_lr=1e-4", f"--workdir={workdir}"]
  run_cli("experiments.sweep", *args)
  with open(os.path.join(workdir, "summary.csv")) as fh:
    rows = list(csv.DictReader(fh))
  # An MNIST model's seeds train as one vmapped run; each seed keeps its row and its plain run folder.
  assert [r["run"] for r in rows] == ["d_lr=0.0001,seeds=0-1/seed_0", "d_lr=0.0001,seeds=0-1/seed_1"]
  assert all(float(r["fid"]) > 0 for r in rows) and rows[0]["fid"] != rows[1]["fid"]
  done = os.path.join(workdir, "d_lr=0.0001,seeds=0-1", "eval.json")
  before = os.path.getmtime(done)
  run_cli("experiments.sweep", *args)
  assert os.path.getmtime(done) == before


def test_multiprocess_flags_need_their_partners(tmp_path):
  proc = run_cli("experiments.train", "--config=configs/mnist.py:gan,tiny", f"--workdir={tmp_path / 'w'}",
                 "--coordinator_address=127.0.0.1:1234", check=False)
  assert proc.returncode == 2 and "needs --num_processes and --process_id" in proc.stderr
  assert not os.path.exists(tmp_path / "w")


def test_kill_9_loses_only_the_steps_since_the_last_checkpoint(tmp_path, mnist_data_dir):
  workdir = str(tmp_path / "killed")
  args = ["--config=configs/mnist.py:gan,tiny", f"--config.data_dir={mnist_data_dir}", "--config.classifier_steps=2",
          "--config.num_train_steps=100000", "--config.checkpoint_every_steps=5", "--config.sample_every_steps=0",
          "--config.log_every_steps=5", f"--workdir={workdir}"]
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
  proc = subprocess.Popen([sys.executable, "-m", "experiments.train", *args], cwd=REPO_ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  checkpoints = os.path.join(workdir, "checkpoints")
  deadline = time.time() + 300
  while time.time() < deadline and proc.poll() is None:
    if os.path.isdir(checkpoints) and len([d for d in os.listdir(checkpoints) if d.isdigit()]) >= 2:
      break
    time.sleep(0.1)
  proc.kill()
  proc.wait()
  saved = Checkpointer(workdir).latest_step()
  assert saved is not None and saved % 5 == 0
  run_cli("experiments.train", *args[:-4], f"--config.num_train_steps={saved + 2}", "--config.checkpoint_every_steps=5",
          "--config.sample_every_steps=0", "--config.log_every_steps=1", f"--workdir={workdir}")
  steps = [json.loads(line)["step"] for line in open(os.path.join(workdir, "metrics.jsonl"))
           if "g_loss" in line]
  assert steps[-2:] == [saved + 1, saved + 2]  # Resumed right after the last checkpoint.
