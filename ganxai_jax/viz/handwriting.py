"""Figures of handwritten-word data: a sample grid with one row per writer (or per style of generated
words, each column labelled with the text it was asked to write), and a length histogram.

Functions take numpy arrays and return matplotlib figures (Agg backend); no JAX here.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
import numpy as np

WORD_GAP = 12  # White pixels between the words of a row.


def writer_grid_image(rows: Sequence[Sequence[np.ndarray]], gap: int = WORD_GAP) -> np.ndarray:
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


def word_centers(row: Sequence[np.ndarray], gap: int = WORD_GAP) -> list[float]:
  """The x of each word's centre in a row that `writer_grid_image` laid out with the same `gap`."""
  centers, left = [], 0
  for image in row:
    width = np.asarray(image).shape[1]
    centers.append(left + width / 2)
    left += width + gap
  return centers


def sample_grid_figure(rows: Sequence[Sequence[np.ndarray]], row_labels: Sequence[str],
                       title: str = "", column_labels: Sequence[str] | None = None) -> plt.Figure:
  """A sample grid: one row of word images per writer or style, labelled on the left.

  `column_labels` (generated words: the text each column was asked to write) go above the columns;
  every row must then hold one image per label, of the same widths, so that the columns line up.
  """
  if len(rows) != len(row_labels):
    raise ValueError(f"{len(rows)} rows but {len(row_labels)} row labels.")
  if column_labels is not None:
    widths = [[np.asarray(image).shape[1] for image in row] for row in rows]
    if len(widths[0]) != len(column_labels) or any(w != widths[0] for w in widths):
      raise ValueError(f"{len(column_labels)} column labels for rows of word widths {widths}: every row "
                       "needs one word per label, of the same widths.")
  grid = writer_grid_image(rows)
  dpi = 100
  # Two screen pixels per image pixel keeps 32-pixel words readable; room on the left for labels.
  fig_width = 2 * grid.shape[1] / dpi + 1.6
  fig_height = 2 * grid.shape[0] / dpi + (0.5 if title else 0.1) + (0.3 if column_labels else 0.0)
  fig, ax = plt.subplots(figsize=(fig_width, fig_height), dpi=dpi)
  ax.imshow(grid, cmap="gray", vmin=0, vmax=255, interpolation="nearest", aspect="equal")
  row_height = grid.shape[0] / len(rows)
  ax.set_yticks((np.arange(len(rows)) + 0.5) * row_height)
  ax.set_yticklabels(row_labels, fontsize=8)
  ax.set_xticks([])
  if column_labels:
    ax.xaxis.tick_top()
    ax.set_xticks(word_centers(rows[0]))
    ax.set_xticklabels(column_labels, fontsize=8)
    ax.tick_params(axis="x", length=0)
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
