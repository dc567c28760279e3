"""Runs one explanation method on a trained generator: `run(config, workdir)`.

Each method lives in its own module with a function `run(config, workdir) -> dict` that writes
`workdir/figures/*.png` and returns the numbers, which land in `workdir/explain.json`.
"""
from __future__ import annotations

import importlib
import json
import os
from typing import Any

import jax
import ml_collections

from ganxai_jax.errors import UsageError

# method name -> module with `run(config, workdir) -> dict`.
METHODS = {
    "attention": "ganxai_jax.explain.attention_report",
    "directions": "ganxai_jax.explain.directions_report",
    "ganspace": "ganxai_jax.explain.directions_report",
    "sefa": "ganxai_jax.explain.directions_report",
}


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Checks the inputs, runs `config.method` and writes `workdir/explain.json`."""
  if config.method not in METHODS:
    raise UsageError(f"method={config.method!r} is not one of {sorted(METHODS)}.")
  source = config.generator_workdir
  if not source or not os.path.isdir(os.path.join(source, "checkpoints")):
    raise UsageError(f"generator_workdir={source!r} holds no checkpoints/; pass a training run's folder "
                     "with --config.generator_workdir=DIR.")
  results = importlib.import_module(METHODS[config.method]).run(config, workdir)
  if jax.process_index() == 0:
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "explain.json")
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
      json.dump({"method": config.method, "generator_workdir": source, **results}, fh, indent=2,
                sort_keys=True, default=float)
    os.replace(tmp, path)
  return results
