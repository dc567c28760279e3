"""Figures of handwritten-word data: a sample grid with one row per writer, and a length histogram.

Functions take numpy arrays and return matplotlib figures (Agg backend); no JAX here.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
import numpy as np


def writer_grid_image(rows: Sequence[Sequence[np.ndarray]], gap: int = 12) -> np.ndarray:
  """Lays word images (uint8 [32, w] or [32, w, 1], white background) out as one image, a row each.

  Rows are left-aligned and padded with white to the widest row; `gap` white pixels separate words.
  """
  if not rows or not any(len(r) for r in rows):
    raise ValueError("No word images to lay out.")
  height = next(np.asarray(im).shape[0] for r in rows for im in r)
  strips = []
  for row in rows:
    pieces = []
    for image in row:
      image = np.asarray(image).reshape(height, -1)
      pieces += [image, np.full((height, gap), 255, np.uint8)]
    strips.append(np.concatenate(pieces, axis=1) if pieces else np.full((height, gap), 255, np.uint8))
  width = max(s.shape[1] for s in strips)
  padded = [np.pad(s, ((gap // 2, gap // 2), (0, width - s.shape[1])), constant_values=255)
            for s in strips]
  return np.concatenate(padded, axis=0)


def sample_grid_figure(rows: Sequence[Sequence[np.ndarray]], row_labels: Sequence[str],
                       title: str = "") -> plt.Figure:
  """The data set's sample grid: one row of word images per writer, labelled on the left."""
  if len(rows) != len(row_labels):
    raise ValueError(f"{len(rows)} rows but {len(row_labels)} row labels.")
  grid = writer_grid_image(rows)
  dpi = 100
  # Two screen pixels per image pixel keeps 32-pixel words readable; room on the left for labels.
  fig_width = 2 * grid.shape[1] / dpi + 1.6
  fig_height = 2 * grid.shape[0] / dpi + (0.5 if title else 0.1)
  fig, ax = plt.subplots(figsize=(fig_width, fig_height), dpi=dpi)
  ax.imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest", aspect="equal")
  row_height = grid.shape[0] / len(rows)
  ax.set_yticks((np.arange(len(rows)) + 0.5) * row_height)
  ax.set_yticklabels(row_labels, fontsize=8)
  ax.set_xticks([])
  for side in ("top", "right", "bottom", "left"):
    ax.spines[side].set_visible(False)
  if title:
    ax.set_title(title, fontsize=9)
  fig.tight_layout()
  return fig


def length_histogram_figure(lengths: np.ndarray, title: str = "") -> plt.Figure:
  """Bar chart of how many words have each number of characters."""
  lengths = np.asarray(lengths)
  counts = np.bincount(lengths)
  fig, ax = plt.subplots(figsize=(5, 3), dpi=100)
  ax.bar(np.arange(len(counts))[1:], counts[1:], color="0.3")
  ax.set_xlabel("characters per word")
  ax.set_ylabel("words")
  if title:
    ax.set_title(title, fontsize=9)
  fig.tight_layout()
  return fig
