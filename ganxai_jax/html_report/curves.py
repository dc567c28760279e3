"""The curves of `metrics.jsonl` for the report: its keys grouped into plots of related numbers, as PNGs.

Grouping, so that one plot compares like with like:
* `A/B` keys of variants, prefixes A that log the same set of B (`learned_orthonormal/accuracy` and
  `random/accuracy`, or `seed_0/d_loss` and `seed_1/d_loss`), go together under B, side by side;
* other `A/B` keys go together under A (`curve/cer` with `curve/wer`);
* plain keys: the losses together, the discriminator's logits together, keys that differ only after
  their last `_` together (`g_grad_std_adv`, `g_grad_std_ctc`), each other key alone;
* a clock (`minutes`, `seconds`) is no curve: the report reads it as the run's training time.
Curves whose sizes differ by more than `SCALE_RATIO` within a plot go to panels of their own (a FID in
the hundreds would flatten an accuracy into the axis). A key logged at one step only (the final `eval/`
scores) is no curve: its value is in the result file's tables.
"""
from __future__ import annotations

import io
import math
import os
from typing import Any, Mapping, Sequence

import numpy as np

from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.viz import curves as curves_viz

METRICS_FILE = "metrics.jsonl"
CLOCKS = {"minutes": 1.0, "seconds": 1 / 60}  # A clock key's last part -> minutes per unit.
SCALE_RATIO = 30.0
MAX_PANELS = 3
MAX_PLOTS = 12

Series = dict[str, tuple[np.ndarray, np.ndarray]]


def read_metrics(workdir: str) -> list[dict[str, Any]]:
  """The records of `workdir/metrics.jsonl` that have a step, in file order."""
  return [record for record in workdir_lib.read_jsonl(os.path.join(workdir, METRICS_FILE))
          if isinstance(record.get("step"), (int, float))]


def is_clock(key: str) -> bool:
  return key.rsplit("/", 1)[-1] in CLOCKS


def series(records: Sequence[Mapping[str, Any]]) -> Series:
  """key -> (steps, values), by step; a step logged twice (a resumed run logs it again) keeps its last
  value. Clocks and values that are not finite numbers are left out."""
  by_key: dict[str, dict[int, float]] = {}
  for record in records:
    for key, value in record.items():
      if key == "step" or is_clock(key) or isinstance(value, bool) or not isinstance(value, (int, float)):
        continue
      if math.isfinite(value):
        by_key.setdefault(key, {})[int(record["step"])] = float(value)
  return {key: (np.array(sorted(points)), np.array([points[s] for s in sorted(points)]))
          for key, points in by_key.items()}


def clock_minutes(records: Sequence[Mapping[str, Any]]) -> tuple[float, str] | None:
  """Minutes of training by a clock key of the metrics, and the key; None without one. A clock counts
  from the start of each command, so a resumed run's clock starts again: its stretches are added."""
  for key in dict.fromkeys(k for r in records for k in r):
    if not is_clock(key):
      continue
    total, last = 0.0, None
    for record in records:
      value = record.get(key)
      if not isinstance(value, (int, float)) or not math.isfinite(value):
        continue
      if last is not None and value < last:
        total += last  # The clock restarted: the stretch before it ended at `last`.
      last = value
    if last is not None:
      return (total + last) * CLOCKS[key.rsplit("/", 1)[-1]], key
  return None


def group_keys(keys: Sequence[str]) -> dict[str, list[str]]:
  """Plot title -> its keys (the rules of the module docstring), in the order the keys first appear."""
  last_parts: dict[str, set[str]] = {}
  stems: dict[str, int] = {}
  for key in keys:
    if "/" in key:
      prefix, last = key.rsplit("/", 1)
      last_parts.setdefault(prefix, set()).add(last)
    elif "_" in key:
      stems[key.rsplit("_", 1)[0]] = stems.get(key.rsplit("_", 1)[0], 0) + 1
  # Variants (direction sets, seeds) log the same numbers each; `curve/` and `eval/` log their own.
  variants = {prefix for prefix, parts in last_parts.items()
              if sum(other == parts for other in last_parts.values()) > 1}
  groups: dict[str, list[str]] = {}
  for key in keys:
    if "/" in key:
      prefix, last = key.rsplit("/", 1)
      title = last if prefix in variants else prefix
    elif "loss" in key:
      title = "losses"
    elif "logit" in key:
      title = "logits"
    elif "_" in key and stems[key.rsplit("_", 1)[0]] > 1:
      title = key.rsplit("_", 1)[0]  # g_grad_std_adv beside g_grad_std_ctc.
    else:
      title = key
    groups.setdefault(title, []).append(key)
  return groups


def panels(curves: Series) -> list[Series]:
  """`curves` split into panels of similar size (largest |value| within `SCALE_RATIO` of each other)."""
  def size(key: str) -> float:
    values = np.abs(curves[key][1])
    return max(float(values.max()), 1e-12) if len(values) else 1e-12

  ordered = sorted(curves, key=size)
  clusters: list[list[str]] = []
  for key in ordered:
    if (clusters and size(key) <= SCALE_RATIO * size(clusters[-1][0])) or len(clusters) == MAX_PANELS:
      clusters[-1].append(key)
    else:
      clusters.append([key])
  order = list(curves)
  return [{key: curves[key] for key in sorted(cluster, key=order.index)} for cluster in clusters]


def figure_png(figure: Any, dpi: int = 90) -> bytes:
  """A matplotlib figure as PNG bytes."""
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png", dpi=dpi)
  return buffer.getvalue()


def curve_plots(records: Sequence[Mapping[str, Any]]) -> tuple[list[tuple[str, list[str], bytes]], list[str]]:
  """(title, keys, PNG) of at most `MAX_PLOTS` plots of the metrics, and the titles left out beyond it."""
  found = {key: curve for key, curve in series(records).items() if len(curve[0]) > 1}
  plots, left_out = [], []
  for title, keys in group_keys(list(found)).items():
    if len(plots) == MAX_PLOTS:
      left_out.append(title)
      continue
    figure = curves_viz.curves_figure(panels({key: found[key] for key in keys}), title=title)
    plots.append((title, keys, figure_png(figure)))
  return plots, left_out
