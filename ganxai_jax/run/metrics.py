"""Metrics to `metrics.jsonl` (one object per logged step), TensorBoard event files (tensorboardX, no
TensorFlow) and a progress line with steps/s, the ETA and a few key scalars. Only process 0 writes."""
from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Mapping, Sequence

import jax
import numpy as np
from absl import logging


class MetricWriter:
  """Appends scalars to `workdir/metrics.jsonl` and TensorBoard; silent on processes other than 0."""

  def __init__(self, workdir: str):
    self._enabled = jax.process_index() == 0
    self._path = os.path.join(workdir, "metrics.jsonl")
    self._tb = None
    if self._enabled:
      from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
      self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))

  def write(self, step: int, scalars: Mapping[str, Any]) -> None:
    if not self._enabled:
      return
    record = {"step": int(step), **{k: float(np.asarray(v)) for k, v in scalars.items()}}
    with open(self._path, "a", encoding="utf-8") as fh:
      fh.write(json.dumps(record) + "\n")
    for key, value in record.items():
      if key != "step":
        self._tb.add_scalar(key, value, step)
    self._tb.flush()

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()


def format_duration(seconds: float) -> str:
  """'42s', '7m05s' or '3h12m': short enough for a progress line."""
  if not math.isfinite(seconds):
    return "?"
  seconds = max(0, int(round(seconds)))
  if seconds < 60:
    return f"{seconds}s"
  if seconds < 3600:
    return f"{seconds // 60}m{seconds % 60:02d}s"
  return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_scalars(scalars: Mapping[str, Any], keys: Sequence[str] = (), limit: int = 5) -> str:
  """`name=value` pairs of `keys` (those present), or of the first `limit` names in sorted order."""
  shown = [k for k in keys if k in scalars] or sorted(scalars)[:limit]
  return " ".join(f"{k}={float(np.asarray(scalars[k])):.4g}" for k in shown)


class Progress:
  """Logs `step/total, steps/s, ETA` and a few key scalars; the ETA honours both the step count and a
  wall-clock deadline, whichever comes first."""

  def __init__(self, total_steps: int, first_step: int, deadline: float | None = None,
               key_metrics: Sequence[str] = ()):
    self._total = total_steps
    self._deadline = deadline
    self._keys = tuple(key_metrics)
    self._last_step, self._last_time = first_step, time.time()

  def eta_seconds(self, step: int, rate: float, now: float) -> float:
    """Seconds until the run stops: the remaining steps at `rate`, or the deadline if sooner."""
    remaining = (self._total - step) / rate if rate > 0 else float("inf")
    if self._deadline is not None:
      remaining = min(remaining, max(0.0, self._deadline - now))
    return remaining

  def __call__(self, step: int, scalars: Mapping[str, Any]) -> None:
    now = time.time()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    eta = self.eta_seconds(step, rate, now)
    logging.info("step %d/%d  %.2f steps/s  ETA %s  %s", step, self._total, rate, format_duration(eta),
                 format_scalars(scalars, self._keys))
    self._last_step, self._last_time = step, now
