"""Grid sweeps over config values: every run in its own folder, resumable, summarised in one CSV.

  python -m experiments.sweep --config=configs/mnist.py:cgan --sweep="seed=0,1,2 g_lr=1e-4,2e-4" --workdir=DIR

Runs go to `DIR/<key>=<value>,...`; a run whose `eval.json` exists is done and skipped, a run with
checkpoints resumes. `DIR/summary.csv` has one row per run: its overrides and its final eval scores.
"""
from __future__ import annotations

import ast
import copy
import csv
import io
import itertools
import json
import os
from typing import Any, Callable

import ml_collections
from absl import logging

from ganxai_jax.errors import UsageError
from ganxai_jax.run import workdir as workdir_lib


def _convert(key: str, text: str, current: Any) -> Any:
  if isinstance(current, bool):
    if text.lower() not in ("true", "false", "1", "0"):
      raise UsageError(f"sweep value {key}={text!r} is not a bool (true/false).")
    return text.lower() in ("true", "1")
  if isinstance(current, (int, float)):
    try:
      value = type(current)(ast.literal_eval(text)) if isinstance(current, int) else float(text)
    except (ValueError, SyntaxError) as e:
      raise UsageError(f"sweep value {key}={text!r} is not a {type(current).__name__}.") from e
    return value
  if isinstance(current, str):
    return text
  raise UsageError(f"sweep key {key!r} holds a {type(current).__name__}; only numbers, bools and strings "
                   "can be swept.")


def parse_sweep(spec: str, config: ml_collections.ConfigDict) -> list[tuple[str, list[Any]]]:
  """'seed=0,1,2 g_lr=1e-4,2e-4' -> [('seed', [0, 1, 2]), ('g_lr', [1e-4, 2e-4])], typed like the config."""
  axes = []
  for item in spec.split():
    key, sep, values = item.partition("=")
    if not sep or not values:
      raise UsageError(f"sweep item {item!r} is not KEY=V1,V2,...")
    try:
      current = config[key] if "." not in key else config.get_ref(key).get()
    except (KeyError, AttributeError) as e:
      raise UsageError(f"sweep key {key!r} is not in the config.") from e
    axes.append((key, [_convert(key, v, current) for v in values.split(",")]))
  if not axes:
    raise UsageError("--sweep is empty; give KEY=V1,V2,... items separated by spaces.")
  return axes


def run_name(overrides: dict[str, Any]) -> str:
  """Folder name of a run, e.g. 'g_lr=0.0001,seed=0'."""
  return ",".join(f"{k}={v}" for k, v in sorted(overrides.items()))


def with_overrides(config: ml_collections.ConfigDict, overrides: dict[str, Any]) -> ml_collections.ConfigDict:
  """A copy of `config` with `overrides` set; a dotted key `a.b` sets `b` in section `a` (ConfigDict
  takes no dotted keys)."""
  point = copy.deepcopy(config)
  with point.unlocked():
    for key, value in overrides.items():
      *sections, last = key.split(".")
      node = point
      for section in sections:
        node = node[section]
      node[last] = value
  return point


def run_sweep(config: ml_collections.ConfigDict, spec: str, workdir: str,
              train_fn: Callable[[ml_collections.ConfigDict, str], Any]) -> list[dict[str, Any]]:
  """Runs (or resumes, or skips when done) every point of the grid with `train_fn(config, workdir)`
  (the command passes `kinds.train`); writes `workdir/summary.csv`."""
  axes = parse_sweep(spec, config)
  rows = []
  for values in itertools.product(*[v for _, v in axes]):
    overrides = dict(zip([k for k, _ in axes], values))
    run_dir = os.path.join(workdir, run_name(overrides))
    eval_path = os.path.join(run_dir, "eval.json")
    if not os.path.exists(eval_path):
      run_config = with_overrides(config, overrides)
      logging.info("sweep: training %s", run_dir)
      train_fn(run_config, run_dir)
    else:
      logging.info("sweep: %s is done; skipped", run_dir)
    with open(eval_path, encoding="utf-8") as fh:
      rows.append({"run": run_name(overrides), **overrides, **json.load(fh)})
    write_summary(os.path.join(workdir, "summary.csv"), rows)
  return rows


def write_summary(path: str, rows: list[dict[str, Any]]) -> None:
  """One CSV row per run (process 0 only), written atomically."""
  if not rows:
    return
  columns = list(dict.fromkeys(k for row in rows for k in row))
  buffer = io.StringIO()
  writer = csv.DictWriter(buffer, fieldnames=columns)
  writer.writeheader()
  writer.writerows(rows)
  workdir_lib.write_file(path, buffer.getvalue())
