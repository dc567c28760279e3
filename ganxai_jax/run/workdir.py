"""A run's folder: `config.json`, JSON results written atomically, figures, and the trained weights.

Every command that writes into a workdir goes through these functions, and only process 0 writes.
What a run folder holds, whatever trained it:

  WORKDIR/config.json      the config the run was started with (`load_run_config` reads it back)
  WORKDIR/checkpoints/     orbax checkpoints of the whole train state (see `checkpoints.py`)
  WORKDIR/metrics.jsonl    one JSON object per logged step; WORKDIR/tensorboard/ the same for TensorBoard
  WORKDIR/figures/         PNG figures
  WORKDIR/eval.json        the final scores (explain runs: explain.json)
  WORKDIR/commands.jsonl   one line per command run on the folder: its argv, UTC time, code version
  WORKDIR/report.html      one self-contained page of all the above (`ganxai_jax/html_report`)
"""
from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import subprocess
from typing import Any, Mapping, Sequence

import flax.serialization
import jax
import matplotlib
import ml_collections

matplotlib.use("Agg")  # Figures go to files; no display is needed or assumed.
import matplotlib.pyplot as plt  # noqa: E402

from ganxai_jax.errors import UsageError  # noqa: E402

CONFIG_FILE = "config.json"
COMMANDS_FILE = "commands.jsonl"
PACKAGE = "ganxai_jax"


def is_writer() -> bool:
  """True on the one process that writes files (process 0)."""
  return jax.process_index() == 0


def write_file(path: str, payload: str | bytes) -> None:
  """Writes `payload` through a temporary file (process 0 only), so a reader never sees half a file;
  the folder is created when missing."""
  if not is_writer():
    return
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "wb") as fh:
    fh.write(payload.encode("utf-8") if isinstance(payload, str) else payload)
  os.replace(tmp, path)


def write_json(path: str, payload: Mapping[str, Any]) -> None:
  """Writes JSON atomically (process 0 only; see `write_file`)."""
  write_file(path, json.dumps(payload, indent=2, sort_keys=True, default=float))


def read_json(path: str) -> Any:
  """The JSON value in `path`."""
  with open(path, encoding="utf-8") as fh:
    return json.load(fh)


def flatten(tree: Any, prefix: str = "") -> list[tuple[str, Any]]:
  """`(dotted key, value)` of every leaf of a nested config, a `ConfigDict` or the dicts of a config.json,
  in its key order; a section is expanded, an empty one kept as a leaf."""
  items = []
  for key, value in tree.items():
    if isinstance(value, (Mapping, ml_collections.ConfigDict)) and len(value):
      items += flatten(value, f"{prefix}{key}.")
    else:
      items.append((f"{prefix}{key}", value))
  return items


def write_config(workdir: str, config: ml_collections.ConfigDict) -> None:
  """Creates `workdir` and writes the run's `config.json` (process 0 only)."""
  if is_writer():
    os.makedirs(workdir, exist_ok=True)
  write_json(os.path.join(workdir, CONFIG_FILE), config.to_dict())


def load_run_config(workdir: str) -> ml_collections.ConfigDict:
  """The config a run in `workdir` was trained with (its `config.json`)."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    raise UsageError(f"workdir {workdir!r} holds no {CONFIG_FILE}: it is not a training run's folder.")
  return ml_collections.ConfigDict(read_json(path))


def code_version() -> str:
  """The version of the code running: `git describe --always --dirty` when the package is imported from
  a git checkout, else the installed package's version (`unknown` when neither can be read)."""
  package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  checkout = os.path.dirname(package_dir)
  if os.path.exists(os.path.join(checkout, ".git")):
    try:
      described = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=checkout, capture_output=True,
                                 text=True, timeout=30, check=True).stdout.strip()
      if described:
        return described
    except (OSError, subprocess.SubprocessError):
      pass  # No git on this machine, or not a checkout git can read: fall back to the package version.
  try:
    return importlib.metadata.version(PACKAGE)
  except importlib.metadata.PackageNotFoundError:
    return "unknown"


def record_command(workdir: str, command: str, argv: Sequence[str]) -> None:
  """Appends one line to `workdir/commands.jsonl` (process 0 only; the folder is created when missing):
  the command's name (`train` for experiments.train), its argv, the working directory, the UTC time it
  started and the code version, so that a run's folder says how every part of it was made."""
  if not is_writer():
    return
  os.makedirs(workdir, exist_ok=True)
  record = {"command": command, "argv": list(argv), "cwd": os.getcwd(),
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "version": code_version()}
  with open(os.path.join(workdir, COMMANDS_FILE), "a", encoding="utf-8") as fh:
    fh.write(json.dumps(record) + "\n")


def read_jsonl(path: str) -> list[dict[str, Any]]:
  """The JSON objects of a JSON-lines file (metrics.jsonl, commands.jsonl) in file order; [] without the
  file. A line that is not a JSON object is skipped: a run stopped mid-write leaves its last one cut short,
  and the others still hold."""
  if not os.path.exists(path):
    return []
  records = []
  with open(path, encoding="utf-8") as fh:
    for line in fh:
      try:
        record = json.loads(line)
      except ValueError:
        continue
      if isinstance(record, dict):
        records.append(record)
  return records


def read_commands(workdir: str) -> list[dict[str, Any]]:
  """The records of `workdir/commands.jsonl` (`record_command`), oldest first."""
  return read_jsonl(os.path.join(workdir, COMMANDS_FILE))


def save_figure(figure: Any, path: str, dpi: int = 100) -> None:
  """Writes a matplotlib figure to `path` through a temporary file (process 0 only), so a reader never
  sees half a PNG, and frees it: pyplot keeps every figure alive until it is closed."""
  if is_writer():
    tmp = f"{path}.tmp{os.getpid()}.png"
    figure.savefig(tmp, dpi=dpi)
    os.replace(tmp, path)
  plt.close(figure)


def write_figures(workdir: str, figures: Mapping[str, Any], step: int | None = None) -> list[str]:
  """Saves figures as `workdir/figures/NAME[_STEP].png` (see `save_figure`); returns the file names."""
  folder = os.path.join(workdir, "figures")
  if is_writer():
    os.makedirs(folder, exist_ok=True)
  names = []
  for name, figure in figures.items():
    names.append(f"{name}{'' if step is None else f'_{step:06d}'}.png")
    save_figure(figure, os.path.join(folder, names[-1]))
  return names


def as_tree(state: Any) -> Any:
  """A train state (a flax struct) or a checkpoint restored without a target (nested dicts) as dicts."""
  return state if isinstance(state, Mapping) else flax.serialization.to_state_dict(state)


def inference_variables(state: Any, net: str = "generator") -> dict[str, Any]:
  """The variables of `net` for inference: its EMA parameters when the run keeps them (only G has
  them), else its trained parameters, with its other collections (batch statistics, spectral norms)."""
  tree = as_tree(state)
  net_state = tree["nets"][net]
  ema = tree.get("ema_params") if net == "generator" else None
  return {"params": net_state["params"] if ema is None else ema, **net_state["collections"]}


def describe_outputs(workdir: str) -> str:
  """One line naming what a run wrote into `workdir` (said at the end of every command)."""
  parts = []
  for name, what in (("checkpoints", "checkpoints"), ("metrics.jsonl", "metrics"),
                     ("tensorboard", "TensorBoard"), ("figures", "figures"), ("eval.json", "scores"),
                     ("explain.json", "explanation")):
    path = os.path.join(workdir, name)
    if os.path.exists(path):
      parts.append(f"{what} {path}")
  return "outputs: " + ("; ".join(parts) if parts else f"none in {workdir}")
