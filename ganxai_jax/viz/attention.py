"""Figures of self-attention: per-query maps over a generated image, and aggregate views per image.

Every function takes numpy arrays already on the image grid (see `ganxai_jax.explain.attention`) and
returns a matplotlib Figure drawn with the Agg canvas; nothing here touches JAX or pyplot, so figures
can be made in tests and on machines without a display, and are not kept alive by a global registry.
The panel helpers (`new_figure`, `show_image`, `overlay_heat`, `label_text_columns`) are shared with the
other heat-map figures (`viz.influence`).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

INK_COLOUR = "#00d5ff"
BACKGROUND_COLOUR = "#ff8c00"


def _as_image(image: np.ndarray) -> np.ndarray:
  image = np.asarray(image)
  if image.ndim == 3 and image.shape[-1] == 1:
    image = image[..., 0]
  if image.ndim != 2:
    raise ValueError(f"expected an image [H, W] or [H, W, 1], got shape {image.shape}")
  return image


def _panel_width(image_hw: tuple[int, int], panel_height: float) -> float:
  # Panels keep the image's aspect, so 32 × 160 words come out wide, not squashed.
  return panel_height * image_hw[1] / image_hw[0]


def new_figure(rows: int, cols: int, image_hw: tuple[int, int], panel_height: float) -> Figure:
  """An empty Agg figure for `rows × cols` panels of images `image_hw`, `panel_height` inches high."""
  panel_width = _panel_width(image_hw, panel_height)
  figure = Figure(figsize=(cols * panel_width, rows * (panel_height + 0.35)), layout="constrained")
  FigureCanvasAgg(figure)
  return figure


def show_image(axes, image: np.ndarray, value_range: tuple[float, float]) -> None:
  """A grey image on `axes`, without ticks."""
  axes.imshow(image, cmap="gray", vmin=value_range[0], vmax=value_range[1], interpolation="nearest")
  axes.set_xticks([])
  axes.set_yticks([])


def overlay_heat(axes, heat: np.ndarray, alpha: float, cmap: str) -> None:
  """A heat map `[H, W]` over the image on `axes`, on its own scale from 0 to its maximum."""
  # Scaled per panel: a single map's values are tiny on a large key grid, and the shape is the message.
  # Opacity follows the value too, so unattended regions leave the image readable underneath.
  top = float(heat.max()) if heat.size and heat.max() > 0 else 1.0
  scaled = np.clip(np.asarray(heat, dtype=np.float64) / top, 0.0, 1.0)
  rgba = colormaps[cmap](scaled)
  rgba[..., 3] = alpha * scaled
  axes.imshow(rgba, interpolation="nearest")


def label_text_columns(axes, text: str, width: int) -> None:
  """Labels the columns of a word image `width` px wide with its `text`: each character under the
  centre of its slot (`width / len(text)` px, as ScrabbleGAN writes it), faint lines at the slot
  borders."""
  slot = width / len(text)
  axes.set_xticks((np.arange(len(text)) + 0.5) * slot - 0.5)
  axes.set_xticklabels(list(text), fontsize=8)
  axes.tick_params(axis="x", length=0, pad=1)
  for border in np.arange(1, len(text)) * slot - 0.5:
    axes.axvline(border, color="#888888", alpha=0.5, linewidth=0.6)


def query_attention_figure(image: np.ndarray, points: np.ndarray, is_ink: np.ndarray,
                           maps: np.ndarray, title: str | None = None, columns: int | None = None,
                           value_range: tuple[float, float] = (-1.0, 1.0), alpha: float = 0.6,
                           cmap: str = "turbo", panel_height: float = 1.8, text: str | None = None) -> Figure:
  """The report's figure: the image with K numbered query locations (`points` `[K, 2]` as row, col;
  ink queries as cyan circles, background queries as orange squares), then for each query its
  attention map `maps[k]` `[H, W]` (from `explain.attention.query_maps`) overlaid on the image, each
  map's colour and opacity running from 0 to its own maximum. `columns` defaults to what fits about
  12 inches. With a word's `text`, every panel's columns are labelled with its characters."""
  image = _as_image(image)
  points = np.asarray(points).reshape(-1, 2)
  is_ink = np.asarray(is_ink, dtype=bool)
  maps = np.asarray(maps)
  if not len(points) == len(is_ink) == len(maps):
    raise ValueError(f"{len(points)} points, {len(is_ink)} ink flags and {len(maps)} maps differ")
  panels = len(points) + 1
  if columns is None:
    # About 12 inches wide: six digit panels per row, two for a 32 × 96 word.
    columns = min(panels, max(1, int(12.0 // _panel_width(image.shape, panel_height))))
  rows = math.ceil(panels / columns)
  figure = new_figure(rows, columns, image.shape, panel_height)
  grid = figure.subplots(rows, columns, squeeze=False)
  for axes in grid.ravel()[panels:]:
    axes.axis("off")

  def mark(axes, index: int, label: bool) -> None:
    row, col = points[index]
    colour = INK_COLOUR if is_ink[index] else BACKGROUND_COLOUR
    axes.plot(col, row, marker="o" if is_ink[index] else "s", markersize=6, markerfacecolor="none",
              markeredgecolor=colour, markeredgewidth=1.5)
    if label:
      axes.annotate(str(index + 1), (col, row), xytext=(3, 3), textcoords="offset points",
                    color=colour, fontsize=8)

  first = grid[0, 0]
  show_image(first, image, value_range)
  for index in range(len(points)):
    mark(first, index, label=True)
  first.set_title("queries", fontsize=9)
  for index in range(len(points)):
    axes = grid.ravel()[index + 1]
    show_image(axes, image, value_range)
    overlay_heat(axes, maps[index], alpha, cmap)
    mark(axes, index, label=False)
    axes.set_title(f"{index + 1}: {'ink' if is_ink[index] else 'background'}", fontsize=9)
  if text:
    for axes in grid.ravel()[:panels]:
      label_text_columns(axes, text, image.shape[1])
  if title:
    figure.suptitle(title, fontsize=10)
  return figure


def aggregate_attention_figure(images: np.ndarray, views: Mapping[str, np.ndarray],
                               title: str | None = None,
                               value_range: tuple[float, float] = (-1.0, 1.0), alpha: float = 0.6,
                               cmap: str = "turbo", panel_height: float = 1.8,
                               texts: list[str] | None = None) -> Figure:
  """Aggregate views per image: one row per image `images` `[B, H, W(, 1)]`, the image first, then each
  named view `views[name]` `[B, H, W]` (e.g. the mean map over ink queries, the mean over background
  queries, rollout's received attention, upsampled by `explain.attention.upsample_to_image`) overlaid
  on it, each panel on its own colour scale. With `texts` (one word per image), every panel's columns
  are labelled with its word's characters."""
  images = np.asarray(images)
  if images.ndim == 4 and images.shape[-1] == 1:
    images = images[..., 0]
  for name, view in views.items():
    if np.shape(view) != images.shape:
      raise ValueError(f"view {name!r} has shape {np.shape(view)}, images {images.shape}")
  columns = 1 + len(views)
  figure = new_figure(len(images), columns, images.shape[1:3], panel_height)
  grid = figure.subplots(len(images), columns, squeeze=False)
  for row, image in enumerate(images):
    show_image(grid[row, 0], image, value_range)
    for column, (name, view) in enumerate(views.items(), start=1):
      show_image(grid[row, column], image, value_range)
      overlay_heat(grid[row, column], np.asarray(view[row]), alpha, cmap)
      if row == 0:
        grid[row, column].set_title(name, fontsize=9)
    if texts:
      for axes in grid[row]:
        label_text_columns(axes, texts[row], images.shape[2])
  grid[0, 0].set_title("image", fontsize=9)
  if title:
    figure.suptitle(title, fontsize=10)
  return figure
