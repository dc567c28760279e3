"""Image grids: arrays in, a matplotlib figure out. No JAX here; models know nothing of files."""
from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.figure  # noqa: E402
import numpy as np  # noqa: E402


def tile(images: np.ndarray, rows: int, cols: int, pad: int = 1, background: float = 1.0) -> np.ndarray:
  """Lays `rows*cols` images [N, H, W(, 1)] out as one 2-D array, row-major, with `pad` pixels between."""
  images = np.asarray(images, np.float32)
  if images.ndim == 4:
    images = images[..., 0]
  n, h, w = images.shape
  if n != rows * cols:
    raise ValueError(f"tile() got {n} images for a {rows}×{cols} grid.")
  canvas = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), background, np.float32)
  for i, image in enumerate(images):
    r, c = divmod(i, cols)
    canvas[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = image
  return canvas


def image_grid(images: np.ndarray, rows: int, cols: int, *, title: str | None = None,
               row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
               cell_inches: float = 0.6, value_range: tuple[float, float] = (-1.0, 1.0),
               cmap: str = "gray") -> matplotlib.figure.Figure:
  """A grid of images (values in `value_range`) with optional row and column labels."""
  images = np.asarray(images, np.float32)
  h, w = images.shape[1:3]
  canvas = tile(images, rows, cols, background=value_range[0])
  aspect = w / h
  fig = matplotlib.figure.Figure(figsize=(cols * cell_inches * aspect + 1.0, rows * cell_inches + 0.8))
  ax = fig.add_subplot(1, 1, 1)
  ax.imshow(canvas, cmap=cmap, vmin=value_range[0], vmax=value_range[1], interpolation="nearest")
  ax.set_xticks([c * (w + 1) + w / 2 for c in range(cols)] if col_labels else [])
  ax.set_yticks([r * (h + 1) + h / 2 for r in range(rows)] if row_labels else [])
  if col_labels:
    ax.set_xticklabels(col_labels, fontsize=8)
    ax.xaxis.tick_top()
  if row_labels:
    ax.set_yticklabels(row_labels, fontsize=8)
  ax.tick_params(length=0)
  for spine in ax.spines.values():
    spine.set_visible(False)
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  return fig
