"""Grid sweeps over config values: every run in its own folder, resumable, summarised in one CSV.

  python -m experiments.sweep --config=configs/mnist.py:cgan --sweep="seed=0,1,2 g_lr=1e-4,2e-4" --workdir=DIR

Runs go to `DIR/<key>=<value>,...`; a run whose `eval.json` exists is done and skipped, a run with
checkpoints resumes. `DIR/summary.csv` has one row per run: its overrides and its final eval scores.

A config with a `num_seeds` key trains several seeds as one vmapped program (`training/seeds.py`): there
a `seed=` axis runs each stretch of consecutive seeds as one run per combination of the other axes, in
`DIR/<key>=<value>,...,seeds=FIRST-LAST/` with the plain run of each seed in its `seed_K/`; the CSV
still has one row per seed (`run` names its `seed_K` folder).
"""
from __future__ import annotations

import ast
import copy
import csv
import io
import itertools
import os
from typing import Any, Callable

import ml_collections
from absl import logging

from ganxai_jax.errors import UsageError
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.training import seeds as seeds_lib


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


def seed_stretches(seeds: list[int]) -> list[tuple[int, int]]:
  """(first seed, count) of each stretch of consecutive seeds, in order: [0, 1, 2, 5] -> [(0, 3), (5, 1)]."""
  stretches: list[tuple[int, int]] = []
  for seed in seeds:
    if stretches and seed == sum(stretches[-1]):
      stretches[-1] = (stretches[-1][0], stretches[-1][1] + 1)
    else:
      stretches.append((seed, 1))
  return stretches


def sweep_runs(config: ml_collections.ConfigDict, spec: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
  """(run name, overrides, the point of the grid shown in the CSV) of every run of the grid; a `seed=`
  axis of a config with `num_seeds` becomes one run per stretch of consecutive seeds (module docstring)."""
  axes = parse_sweep(spec, config)
  keys = [k for k, _ in axes]
  vmapped = "seed" in keys and "num_seeds" in config
  runs = []
  for values in itertools.product(*[v for k, v in axes if not (vmapped and k == "seed")]):
    others = dict(zip([k for k in keys if not (vmapped and k == "seed")], values))
    if not vmapped:
      runs.append((run_name(others), others, others))
      continue
    for first, count in seed_stretches(dict(axes)["seed"]):
      name = run_name({**others, "seeds": f"{first}-{first + count - 1}"})
      point = {k: first if k == "seed" else others[k] for k in keys}
      runs.append((name, {**others, "seed": first, "num_seeds": count}, point))
  return runs


def summary_rows(workdir: str, name: str, point: dict[str, Any]) -> list[dict[str, Any]]:
  """The CSV rows of the finished run `workdir/name`: one, or one per seed of a run of several seeds."""
  scores = workdir_lib.read_json(os.path.join(workdir, name, "eval.json"))
  if "per_seed" not in scores:
    return [{"run": name, **point, **scores}]
  return [{"run": f"{name}/{seeds_lib.seed_folder(seed)}",
           **{k: seed if k == "seed" else v for k, v in point.items()}, **seed_scores}
          for seed, seed_scores in zip(scores["seeds"], scores["per_seed"])]


def run_sweep(config: ml_collections.ConfigDict, spec: str, workdir: str,
              train_fn: Callable[[ml_collections.ConfigDict, str], Any]) -> list[dict[str, Any]]:
  """Runs (or resumes, or skips when done) every run of the grid (`sweep_runs`) with
  `train_fn(config, workdir)` (the command passes `kinds.train`); writes `workdir/summary.csv`."""
  rows = []
  for name, overrides, point in sweep_runs(config, spec):
    run_dir = os.path.join(workdir, name)
    if not os.path.exists(os.path.join(run_dir, "eval.json")):
      logging.info("sweep: training %s", run_dir)
      train_fn(with_overrides(config, overrides), run_dir)
    else:
      logging.info("sweep: %s is done; skipped", run_dir)
    rows.extend(summary_rows(workdir, name, point))
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
