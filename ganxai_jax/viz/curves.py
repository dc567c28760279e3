"""Curves of logged numbers against the step: arrays in, a matplotlib figure out. No JAX here."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.figure  # noqa: E402
import numpy as np  # noqa: E402

# One curve: (steps, values), both 1-D and of one length.
Curve = tuple[np.ndarray, np.ndarray]


def curves_figure(panels: Sequence[Mapping[str, Curve]], title: str = "", panel_inches: float = 4.2,
                  height_inches: float = 2.8) -> matplotlib.figure.Figure:
  """One panel per mapping of `panels`, side by side, each drawing its named curves against the step.

  Curves of very different sizes (a FID in the hundreds, an accuracy below 1) go in different panels,
  so that neither is flattened into a line along the axis; which go together is the caller's choice.
  A curve of one point is drawn as a marker.
  """
  fig = matplotlib.figure.Figure(figsize=(panel_inches * len(panels), height_inches), layout="constrained")
  for index, curves in enumerate(panels):
    ax = fig.add_subplot(1, len(panels), index + 1)
    for name, (steps, values) in curves.items():
      ax.plot(np.asarray(steps), np.asarray(values, np.float64), marker="o" if len(steps) < 2 else None,
              markersize=3, linewidth=1.2, label=name)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="best")
  if title:
    fig.suptitle(title)
  return fig
