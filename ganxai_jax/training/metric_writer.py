"""Metrics to `metrics.jsonl` (one object per logged step), TensorBoard event files (tensorboardX, no
TensorFlow) and a progress line with steps/s and ETA. Only process 0 writes."""
from __future__ import annotations

import json
import os
import time
from typing import Any, Mapping

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


class Progress:
  """Logs `step/total, steps/s, ETA` and the given scalars."""

  def __init__(self, total_steps: int, first_step: int):
    self._total = total_steps
    self._last_step, self._last_time = first_step, time.time()

  def __call__(self, step: int, scalars: Mapping[str, Any]) -> None:
    now = time.time()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    eta = (self._total - step) / rate if rate > 0 else float("inf")
    shown = " ".join(f"{k}={float(np.asarray(v)):.4g}" for k, v in sorted(scalars.items()))
    logging.info("step %d/%d  %.2f steps/s  ETA %.0fs  %s", step, self._total, rate, eta, shown)
    self._last_step, self._last_time = step, now
