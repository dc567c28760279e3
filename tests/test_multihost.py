"""Two processes on 127.0.0.1 with 2 CPU devices each train like one process with 4 devices."""
import os
import socket
import subprocess
import sys

import numpy as np

from tests.conftest import REPO_ROOT

WORKER = os.path.join(REPO_ROOT, "tests", "multihost_worker.py")


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _launch(num_processes, tmp_path, data_dir):
  port = _free_port()
  workdir = str(tmp_path / f"run{num_processes}")
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  procs = [subprocess.Popen([sys.executable, WORKER, str(port), str(num_processes), str(i), workdir, data_dir,
                             str(tmp_path)], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True) for i in range(num_processes)]
  outputs = [p.communicate(timeout=900)[0] for p in procs]
  for p, out in zip(procs, outputs):
    assert p.returncode == 0, out[-4000:]
  return workdir


def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path, mnist_data_dir):
  _launch(1, tmp_path, mnist_data_dir)
  workdir = _launch(2, tmp_path, mnist_data_dir)
  single = np.load(tmp_path / "params_1_0.npz")
  first, second = np.load(tmp_path / "params_2_0.npz"), np.load(tmp_path / "params_2_1.npz")
  assert set(single.files) == set(first.files) == set(second.files) and single.files
  for key in single.files:
    np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    np.testing.assert_allclose(first[key], single[key], rtol=1e-4, atol=1e-5, err_msg=key)
  # Only process 0 wrote the logs, figures and eval; orbax wrote one checkpoint per saved step.
  assert os.path.exists(os.path.join(workdir, "eval.json"))
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["2", "3"]
