"""Real writers placed on a generator's discovered directions: arrays in, a matplotlib figure out.

No JAX here: the coordinates come from `explain.inversion.direction_coordinates`.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.figure  # noqa: E402
import numpy as np  # noqa: E402


def writers_on_directions_figure(coordinates: np.ndarray, writer_labels: Sequence[str],
                                 direction_names: Sequence[str], baseline: np.ndarray,
                                 title: str = "") -> matplotlib.figure.Figure:
  """One horizontal axis per direction (a row): random styles' coordinates `baseline [M, K]` as a grey
  strip, and each inverted writer's coordinate (`coordinates [N, K]`, in the directions' edit units)
  as a labelled marker, so that one sees where a real writer sits against the styles G draws."""
  coordinates, baseline = np.asarray(coordinates, np.float64), np.asarray(baseline, np.float64)
  num_directions = coordinates.shape[1]
  if len(direction_names) != num_directions or baseline.shape[1] != num_directions:
    raise ValueError(f"{num_directions} directions, {len(direction_names)} names, baseline {baseline.shape}.")
  fig = matplotlib.figure.Figure(figsize=(8.0, 0.7 * num_directions + 1.2), layout="constrained")
  ax = fig.add_subplot(1, 1, 1)
  jitter = np.random.default_rng(0).uniform(-0.15, 0.15, size=baseline.shape[0])
  colors = matplotlib.colormaps["tab10"]
  for k in range(num_directions):
    row = num_directions - 1 - k  # The first direction on top.
    ax.scatter(baseline[:, k], row + jitter, s=6, color="0.75", zorder=1,
               label="random styles" if k == 0 else None)
    for n, label in enumerate(writer_labels):
      ax.scatter(coordinates[n, k], row, s=40, marker="D", color=colors(n % 10), edgecolor="black",
                 linewidth=0.5, zorder=2, label=label if k == 0 else None)
  ax.set_yticks(np.arange(num_directions))
  ax.set_yticklabels(list(reversed(direction_names)), fontsize=8)
  ax.set_xlabel("position along the direction (edit units)")
  ax.grid(axis="x", alpha=0.3)
  ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
  if title:
    fig.suptitle(title)
  return fig
