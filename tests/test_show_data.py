"""End-to-end test of the data viewer CLI on the tiny synthetic data set."""
import os
import subprocess
import sys

import numpy as np
import pytest

from ganxai_jax.viz import handwriting as handwriting_viz

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


def test_sample_grid_labels_each_column_above_its_word():
  # Two styles of "word" (64 px) and "it" (32 px): dark ink, so the words are findable in the grid.
  rows = [[np.zeros((32, 64, 1), np.uint8), np.zeros((32, 32, 1), np.uint8)] for _ in range(2)]
  figure = handwriting_viz.sample_grid_figure(rows, ["style 0", "style 1"], column_labels=["word", "it"])
  axes = figure.axes[0]
  assert [t.get_text() for t in axes.get_xticklabels()] == ["word", "it"]
  assert axes.xaxis.get_ticks_position() == "top"
  # Each label sits over the middle of its word's dark columns in the laid-out grid.
  grid = handwriting_viz.writer_grid_image(rows)
  dark = np.flatnonzero((grid < 128).any(axis=0))
  first, second = dark[dark < 64], dark[dark >= 64]
  np.testing.assert_allclose(axes.get_xticks(), [(first[0] + first[-1] + 1) / 2, (second[0] + second[-1] + 1) / 2])
  plain = handwriting_viz.sample_grid_figure(rows, ["style 0", "style 1"])
  assert [t.get_text() for t in plain.axes[0].get_xticklabels()] == []
  with pytest.raises(ValueError, match="column labels"):
    handwriting_viz.sample_grid_figure(rows, ["style 0", "style 1"], column_labels=["word"])
  with pytest.raises(ValueError, match="same widths"):
    handwriting_viz.sample_grid_figure([rows[0], rows[0][::-1]], ["style 0", "style 1"],
                                       column_labels=["word", "it"])
