"""Test-wide setup: 8 fake CPU devices (set before JAX starts), absl flags parsed, shared tiny data."""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

# Must happen before jax is imported anywhere: 8 fake devices for the data-parallel tests.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One persistent compilation cache for the whole session: the xdist workers and every CLI subprocess
# (they inherit this environment) compile the same tiny programs, and a cached one loads in milliseconds.
# The process that makes the folder removes it when it exits.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="ganxai-test-xla-cache-")
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
  atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)

import pytest  # noqa: E402
from absl import flags  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if not flags.FLAGS.is_parsed():
  flags.FLAGS.mark_as_parsed()


@pytest.fixture(scope="session")
def mnist_data_dir(tmp_path_factory) -> str:
  """A data_dir with the embedded MNIST prepared once per test session (worker)."""
  from ganxai_jax.data import pipeline  # pylint: disable=g-import-not-at-top
  data_dir = str(tmp_path_factory.mktemp("tfds"))
  pipeline.prepare_builder("mnist_embedded", data_dir)
  return data_dir


def run_cli(module: str, *args: str, check: bool = True, devices: int = 1,
            timeout: float = 600) -> subprocess.CompletedProcess:
  """Runs `python -m module args...` from the repository root; returns the completed process."""
  env = dict(os.environ)
  env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
  proc = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, env=env,
                        capture_output=True, text=True, timeout=timeout)
  if check and proc.returncode != 0:
    raise AssertionError(f"{module} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
  return proc


# One bucket (every length padded to 10 characters) and lax convolutions: fewer, smaller compiles.
TINY_WORDS_FLAGS = ("--config.bucket_size=10", "--config.conv_impl=lax")


def tiny_words_run_flags(root, options: str) -> list[str]:
  """Trains a 4-step tiny recognizer under `root` (data in root/tfds) through its CLI, and returns the flags
  of a tiny ScrabbleGAN run with `options` (e.g. 'info') in root/run that is scored by it."""
  data_dir, recognizer_dir = root / "tfds", root / "recognizer"
  run_cli("experiments.train_recognizer", "--config=configs/scrabble.py:tiny", f"--workdir={recognizer_dir}",
          f"--config.data_dir={data_dir}", "--config.recognizer.num_steps=4")
  return [f"--config=configs/scrabble.py:tiny,{options}", f"--workdir={root / 'run'}", f"--config.data_dir={data_dir}",
          f"--config.eval_recognizer_workdir={recognizer_dir}", *TINY_WORDS_FLAGS]
