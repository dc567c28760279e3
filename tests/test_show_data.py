"""End-to-end test of the data viewer CLI on the tiny synthetic data set."""
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_show_data_cli_writes_figures_and_prints_sizes(tmp_path):
  workdir = tmp_path / "out"
  result = subprocess.run(
      [sys.executable, "-m", "experiments.show_data", "--config=configs/scrabble.py:tiny",
       f"--workdir={workdir}", f"--config.data_dir={tmp_path / 'tfds'}"],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "train: 50 words by 5 writers" in result.stdout
  assert "test: 10 words by 1 writers" in result.stdout
  assert "words per length" in result.stdout
  for name in ("sample_grid.png", "length_histogram.png"):
    path = workdir / "figures" / name
    assert path.exists() and path.stat().st_size > 1000
  assert (tmp_path / "tfds" / "synthetic_handwriting" / "tiny").is_dir()  # Prepared where told.


def test_data_and_recognizer_clis_give_one_line_errors(tmp_path):
  for module in ("experiments.show_data", "experiments.train_recognizer"):
    result = subprocess.run(
        [sys.executable, "-m", module, "--config=configs/scrabble.py:tiny", f"--workdir={tmp_path / 'out'}",
         "--config.batch_siz=3"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 2, (module, result.stderr[-2000:])
    assert result.stderr.startswith("error:") and "batch_siz" in result.stderr, (module, result.stderr[-2000:])
    assert len(result.stderr.strip().splitlines()) == 1, (module, result.stderr[-2000:])
    assert not (tmp_path / "out").exists()
