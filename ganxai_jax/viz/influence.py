"""Figures of how much each character of a word influences each pixel (`explain.influence`).

Arrays in, a matplotlib Figure (Agg canvas) out; no JAX here. Word panels keep the image's aspect and
have the word's characters under their 16-px slots (`viz.attention.label_text_columns`).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ganxai_jax.viz.attention import label_text_columns, new_figure, overlay_heat, show_image

SLOT_COLOUR = "#00d5ff"


def character_influence_figure(images: Mapping[str, np.ndarray], influence: Mapping[str, np.ndarray],
                               text: str, title: str | None = None,
                               value_range: tuple[float, float] = (-1.0, 1.0), alpha: float = 0.7,
                               cmap: str = "turbo", panel_height: float = 0.9) -> Figure:
  """One column per model (`images[label]` `[H, W]`, `influence[label]` `[n, H, W]` for the n characters
  of `text`): the word first, then one row per character with its influence over the word image
  (each panel on its own scale, from 0 to its maximum) and its own slot outlined. Every panel's
  columns are labelled with the text."""
  labels = list(images)
  if set(influence) != set(labels):
    raise ValueError(f"images for {sorted(labels)} but influence for {sorted(influence)}")
  image_hw = np.shape(images[labels[0]])
  for label in labels:
    if np.shape(influence[label]) != (len(text),) + tuple(image_hw):
      raise ValueError(f"influence {label!r} has shape {np.shape(influence[label])}; expected "
                       f"{(len(text),) + tuple(image_hw)} for {text!r}")
  slot = image_hw[1] / len(text)
  figure = new_figure(len(text) + 1, len(labels), image_hw, panel_height)
  grid = figure.subplots(len(text) + 1, len(labels), squeeze=False)
  for column, label in enumerate(labels):
    show_image(grid[0, column], images[label], value_range)
    label_text_columns(grid[0, column], text, image_hw[1])
    grid[0, column].set_title(label, fontsize=9)
    for index, character in enumerate(text):
      axes = grid[index + 1, column]
      show_image(axes, images[label], value_range)
      overlay_heat(axes, influence[label][index], alpha, cmap)
      axes.add_patch(Rectangle((index * slot - 0.5, -0.5), slot, image_hw[0], fill=False,
                               edgecolor=SLOT_COLOUR, linewidth=1.2))
      label_text_columns(axes, text, image_hw[1])
      if column == 0:
        axes.set_ylabel(f"{character!r}", fontsize=9, rotation=0, labelpad=14, va="center")
  if title:
    figure.suptitle(title, fontsize=10)
  return figure


def influence_profile_figure(offsets: np.ndarray, profiles: Mapping[str, np.ndarray], slot_width: int,
                             title: str | None = None) -> Figure:
  """The mean share of a character's influence at each column offset from its slot's first column,
  one line per model (`profiles[label]` `[len(offsets)]`, NaN where no word reaches), the own slot
  shaded."""
  figure = Figure(figsize=(7.0, 3.0), layout="constrained")
  FigureCanvasAgg(figure)
  axes = figure.subplots()
  axes.axvspan(-0.5, slot_width - 0.5, color=SLOT_COLOUR, alpha=0.15, label="own slot")
  reached = np.zeros(len(offsets), bool)
  for label, shares in profiles.items():
    shares = np.asarray(shares, np.float64)
    if shares.shape != np.shape(offsets):
      raise ValueError(f"profile {label!r} has shape {shares.shape}, offsets {np.shape(offsets)}")
    axes.plot(offsets, shares, marker=".", markersize=3, linewidth=1.0, label=label)
    reached |= np.nan_to_num(shares) > 0
  if reached.any():
    span = np.asarray(offsets)[reached]
    axes.set_xlim(span.min() - 1, span.max() + 1)
  axes.set_xlabel("column offset from the character's slot (px)")
  axes.set_ylabel("share of its influence")
  axes.legend(fontsize=8)
  if title:
    axes.set_title(title, fontsize=10)
  return figure
