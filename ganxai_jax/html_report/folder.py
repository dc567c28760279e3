"""What the report reads of a run's folder (`Folder`), and what it says of the run itself: the commands
that made it (commands.jsonl), its kind, data set, steps, wall time and code version, its whole config,
and the files a finished run would hold that the folder lacks.

The wall time is read, in this order, from a clock the metrics log (ScrabbleGAN's `curve/minutes`,
summed over resumed commands) or from the first command's start in commands.jsonl (else config.json's
file time) to the last write of a result file; the page says which.
"""
from __future__ import annotations

import datetime
import json
import os
import shlex
from typing import Any, Mapping

from ganxai_jax.html_report import curves as curves_lib
from ganxai_jax.html_report import figures as figures_lib
from ganxai_jax.html_report import markup
from ganxai_jax.html_report import numbers
from ganxai_jax.html_report.markup import Html
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.run.metrics import format_duration

RESULT_FILES = ("eval.json", "explain.json", "recognizer.json")
# How many steps a config plans, by where its kind keeps the number.
PLANNED_STEPS = ("num_train_steps", "recognizer.num_steps")


def _read_json(path: str) -> tuple[Any, str]:
  """The JSON value in `path` and '', or None and why it cannot be read ('' when there is no file)."""
  if not os.path.exists(path):
    return None, ""
  try:
    return workdir_lib.read_json(path), ""
  except (OSError, ValueError) as e:
    return None, f"{os.path.basename(path)} cannot be read ({' '.join(str(e).split())})"


def utc(seconds: float) -> str:
  return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def command_line(record: Mapping[str, Any]) -> str:
  """The command of a commands.jsonl record as one would type it: `python -m experiments.NAME ARGS`."""
  argv = [str(a) for a in record.get("argv") or []]
  if record.get("command"):
    return f"python -m experiments.{record['command']} {shlex.join(argv[1:])}".strip()
  return shlex.join(argv)


class Folder:
  """What the report reads of a run's folder, read once."""

  def __init__(self, workdir: str):
    self.workdir = workdir
    self.problems: list[str] = []
    self.config, problem = _read_json(os.path.join(workdir, workdir_lib.CONFIG_FILE))
    self.problems += [problem] if problem else []
    if not isinstance(self.config, Mapping):
      self.config = {}
    self.results: dict[str, Mapping[str, Any]] = {}
    for name in RESULT_FILES:
      value, problem = _read_json(os.path.join(workdir, name))
      self.problems += [problem] if problem else []
      if isinstance(value, Mapping):
        self.results[name] = value
      elif value is not None:
        self.problems.append(f"{name} holds {type(value).__name__}, not the JSON object of a result file")
    self.commands = workdir_lib.read_commands(workdir)
    self.metrics = curves_lib.read_metrics(workdir)
    self.figures = figures_lib.figure_files(workdir)
    self.main = self.results.get("explain.json") or self.results.get("eval.json") or {}
    self.kind = numbers.result_kind(self.config, self.main, "recognizer.json" in self.results)

  def path(self, name: str) -> str:
    return os.path.join(self.workdir, name)

  def describe(self) -> str:
    """One line: what kind of run this is."""
    if self.kind == "recognizer":
      return "handwriting recognizer trained by experiments.train_recognizer"
    method = self.main.get("method") or self.config.get("method")
    if method:
      source = self.main.get("generator_workdir") or self.config.get("generator_workdir") or "?"
      return f"explanation by {method} of the generator trained in {source}"
    if self.config.get("model"):
      return f"training run of model {self.config['model']}"
    return "a folder of unknown kind"


def _data_set(folder: Folder) -> str:
  if folder.config.get("dataset"):
    return str(folder.config["dataset"])
  if folder.main.get("dataset"):
    return str(folder.main["dataset"])
  source = folder.config.get("generator_workdir") or folder.main.get("generator_workdir")
  if source:
    generator_config, _ = _read_json(os.path.join(source, workdir_lib.CONFIG_FILE))
    if isinstance(generator_config, Mapping) and generator_config.get("dataset"):
      return f"{generator_config['dataset']} (the generator's run)"
  return "not recorded"


def _steps(folder: Folder) -> str:
  done, where = None, ""
  for name in ("explain.json", "eval.json"):
    results = folder.results.get(name, {})
    for key in ("steps", "step"):
      if isinstance(results.get(key), (int, float)):
        done, where = int(results[key]), f"{name} {key}"
        break
    if done is not None:
      break
  if done is None and folder.metrics:
    done, where = int(max(r["step"] for r in folder.metrics)), "the last step of metrics.jsonl"
  planned = None
  method = folder.config.get("method")
  keys = PLANNED_STEPS + ((f"{method}.num_steps",) if method else ())
  for key in keys:
    value = numbers.lookup("config." + key, {}, folder.config)
    if isinstance(value, int) and not isinstance(value, bool):
      planned = (value, key)
      break
  parts = [f"{done} (from {where})" if done is not None else "none recorded"]
  if planned:
    parts.append(f"of {planned[0]} planned (config {planned[1]})")
  generator_step = folder.main.get("generator_step")
  if generator_step is not None:
    parts.append(f"on the generator at step {generator_step}")
  return ", ".join(parts)


def _wall_time(folder: Folder) -> str:
  clock = curves_lib.clock_minutes(folder.metrics)
  if clock is not None:
    return f"{format_duration(60 * clock[0])} of training (metrics.jsonl, {clock[1]} at its last record)"
  outputs = [folder.path(n) for n in RESULT_FILES + (curves_lib.METRICS_FILE,) if os.path.exists(folder.path(n))]
  if not outputs:
    return "unknown: no output written yet"
  end = max(os.path.getmtime(p) for p in outputs)
  newest = os.path.basename(max(outputs, key=os.path.getmtime))
  start, source = None, ""
  for record in folder.commands:
    try:
      start = datetime.datetime.fromisoformat(str(record.get("time"))).timestamp()
      source = "from the first command in commands.jsonl"
      break
    except ValueError:
      continue
  if start is None and os.path.exists(folder.path(workdir_lib.CONFIG_FILE)):
    start, source = os.path.getmtime(folder.path(workdir_lib.CONFIG_FILE)), "from config.json's file time"
  if start is None:
    return "unknown: no start recorded"
  span = format_duration(max(0.0, end - start))
  return (f"about {span}, {source} ({utc(start)}) to the last write of {newest} ({utc(end)}); every "
          "command in between and any pause between them are counted; metrics.jsonl records no clock")


def _code_version(folder: Folder) -> str:
  versions = list(dict.fromkeys(str(r.get("version")) for r in folder.commands if r.get("version")))
  if not versions:
    return "not recorded (no commands.jsonl: the run predates the recording of commands)"
  if len(versions) == 1:
    return versions[0]
  return f"{versions[-1]} (last command; earlier commands ran {', '.join(versions[:-1])})"


def run_body(folder: Folder) -> Html:
  """Commands, what the run is, and the folded config."""
  parts = []
  if folder.commands:
    items = [markup.tag("li", markup.join([markup.tag("code", command_line(r)), markup.tag(
        "span", f" — {r.get('time', '?')}, version {r.get('version', '?')}", class_="note")]))
        for r in folder.commands]
    parts.append(markup.tag("p", "Commands run on this folder, oldest first (commands.jsonl):"))
    parts.append(markup.tag("ol", markup.join(items), class_="commands"))
  else:
    parts.append(markup.tag("p", "No commands.jsonl: the commands that made this folder were not recorded.",
                            class_="note"))
  rows = [["folder", markup.tag("code", folder.workdir)], ["kind", folder.describe()],
          ["data set", _data_set(folder)], ["steps", _steps(folder)], ["wall time", _wall_time(folder)],
          ["code version", _code_version(folder)]]
  parts.append(markup.table(None, rows, class_="about"))
  if folder.config:
    rows = [[markup.tag("code", k), markup.tag("code", json.dumps(v, ensure_ascii=False))]
            for k, v in workdir_lib.flatten(folder.config)]
    parts.append(markup.details(f"config.json: {len(rows)} values", markup.table(["key", "value"], rows)))
  return markup.join(parts)


def missing(folder: Folder) -> list[str]:
  """The files a finished run of this kind would hold that the folder lacks, each with what writes it."""
  lacking = [*folder.problems]
  if not os.path.exists(folder.path(workdir_lib.CONFIG_FILE)):
    lacking.append("config.json (the run's config; every command that trains or explains writes it)")
  if not any(name in folder.results for name in ("eval.json", "explain.json")):
    lacking.append("results: no eval.json (experiments.train or experiments.evaluate writes it) and no "
                   "explain.json (experiments.explain writes it); the run has not finished, or failed")
  method = folder.main.get("method") or folder.config.get("method")
  if not folder.metrics and method in (None, "directions"):  # Only these train (the others measure).
    lacking.append("metrics.jsonl (written while a run trains)")
  if not folder.figures and folder.kind != "recognizer":
    lacking.append("figures/ (written by training and by explanations)")
  if not folder.commands:
    lacking.append("commands.jsonl (written by every command since it was introduced)")
  return lacking
