"""Reproduces a results table: trains or resumes every run its rows need, within a time budget.

  reproduce(table, workdir, max_minutes=M, tiny=False)

Each row of the table (`reproduce.table`) is one run of a project command (`COMMANDS`: the training of
`kinds.train`, the explanations of `explain.runner`) in `WORKDIR/<row>`. Rows go in order:

* a run whose result file (`eval.json`, `explain.json`) is at its planned step is done and skipped;
* a row whose input row is not done waits (an explanation needs its finished generator);
* any other run starts or resumes, with what is left of the budget as its own `max_minutes`: it trains
  until then, checkpoints and evaluates, so a run stopped by time has a result at its step, and the
  next invocation resumes it. The budget bounds training; the setup, the first compilation and the
  evaluation of the run that reaches it come on top.

`WORKDIR/progress.json` keeps the wall time each run took, summed over invocations. SIGTERM or SIGINT
stops a run that is training as the project's runs stop (checkpoint, `guards.Preempted`, exit code 75),
and stops at once anywhere else (setup, evaluation, between runs), where nothing unsaved is lost;
rerunning the same command continues in every case.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
import signal
import threading
import time
from typing import Any, Callable, Iterator, Sequence

import jax
import ml_collections
from absl import logging

from ganxai_jax import config_checks
from ganxai_jax import kinds
from ganxai_jax.errors import UsageError
from ganxai_jax.explain import runner as explain_runner
from ganxai_jax.reproduce.table import Row, Table
from ganxai_jax.run import guards
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.training.sweep import with_overrides

PROGRESS_FILE = "progress.json"
# Keys that may differ between the invocations that make one run: the time limit of each and where
# the data sets are kept.
_PER_INVOCATION_KEYS = ("max_minutes", "data_dir")


# ---- The commands that make runs -------------------------------------------------------------------

def _section(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict | None:
  """The section of an explanation config that holds its method's settings (`directions`, ...)."""
  section = config.get(config.get("method", ""))
  return section if isinstance(section, ml_collections.ConfigDict) else None


@dataclasses.dataclass(frozen=True)
class Command:
  """How one project command makes a row's run: the module a user runs (`python3 -m MODULE`), the run's
  result file and the key of its step there, how many steps a config plans (None: the run is done once
  its result file exists), where a config takes its time limit, the config key that takes the folder of
  the row it depends on, and the in-process `run(config, workdir)` and `check(config)`."""
  module: str
  result_file: str
  step_key: str
  planned_steps: Callable[[ml_collections.ConfigDict], int | None]
  minutes_key: Callable[[ml_collections.ConfigDict], str | None]
  input_key: str
  run: Callable[[ml_collections.ConfigDict, str], Any]
  check: Callable[[ml_collections.ConfigDict], None]


COMMANDS = {
    "train": Command(
        module="experiments.train", result_file="eval.json", step_key="step",
        planned_steps=lambda config: config.num_train_steps, minutes_key=lambda config: "max_minutes",
        input_key="", run=kinds.train, check=kinds.check_config),
    "explain": Command(
        module="experiments.explain", result_file="explain.json", step_key="steps",
        planned_steps=lambda config: (_section(config) or {}).get("num_steps"),
        minutes_key=lambda config: (f"{config.method}.max_minutes"
                                    if "max_minutes" in (_section(config) or {}) else None),
        input_key="generator_workdir",
        run=lambda config, workdir: explain_runner.run(config, workdir, kinds.load_generator),
        check=lambda config: config_checks.check_explain(config, kinds.MODELS)),
}


# ---- The runs of a table ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Run:
  """The run of a row, in `folder` (`WORKDIR/<row>`)."""
  row: Row
  folder: str
  config_arg: str
  overrides: dict[str, Any]

  @property
  def command(self) -> Command:
    return COMMANDS[self.row.command]

  def command_line(self) -> str:
    """The standalone command that makes this run (without a time limit: it trains to the end)."""
    overrides = " ".join(f"--config.{key}={value}" for key, value in self.overrides.items())
    return " ".join(filter(None, [f"python3 -m {self.command.module}", f"--config={self.config_arg}",
                                  f"--workdir={self.folder}", overrides]))


def run_of(row: Row, workdir: str, tiny: bool = False) -> Run:
  """The run that makes `row` in the table's `workdir`, with the `tiny` option or at full size."""
  overrides = {**row.overrides, **({} if tiny else row.full_size)}
  if row.depends_on:
    overrides = {COMMANDS[row.command].input_key: os.path.join(workdir, row.depends_on), **overrides}
  return Run(row, os.path.join(workdir, row.name), f"{row.config},tiny" if tiny else row.config, overrides)


def build_config(run: Run) -> ml_collections.ConfigDict:
  """The config of `run` as its command line builds it: `get_config` of its file, then its overrides."""
  path, _, arg = run.config_arg.partition(":")
  module = importlib.import_module(path[:-len(".py")].replace("/", "."))  # configs/mnist.py -> configs.mnist
  return with_overrides(module.get_config(arg), run.overrides)


def check_table(table: Table, workdir: str, tiny: bool) -> None:
  """Raises `UsageError` (one line) for a table whose rows do not fit the project: an unknown command,
  a row depending on a later or unknown row, a config that does not load or a training config with a
  value out of its range. An explanation's config is checked when its input run is done."""
  seen = set()
  for row in table.rows:
    if row.command not in COMMANDS:
      raise UsageError(f"table {table.name!r} row {row.name!r}: command {row.command!r} is not one of "
                       f"{sorted(COMMANDS)}.")
    if row.depends_on and row.depends_on not in seen:
      raise UsageError(f"table {table.name!r} row {row.name!r} depends on {row.depends_on!r}, which is "
                       "not a row above it.")
    seen.add(row.name)
  for row in table.rows:
    run = run_of(row, workdir, tiny)
    config = build_config(run)
    if row.command == "train":  # An explanation's check reads its input run, not there yet.
      run.command.check(config)


# ---- Where a run stands ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RunState:
  """What is in a run's folder: its result (None before the first one), the steps done (from the result
  or the latest checkpoint) and planned, and whether it is done."""
  result: dict[str, Any] | None
  steps_done: int
  steps_planned: int | None

  @property
  def done(self) -> bool:
    return self.result is not None and (self.steps_planned is None or self.steps_done >= self.steps_planned)

  @property
  def started(self) -> bool:
    return self.result is not None or self.steps_done > 0


def _checkpoint_step(folder: str) -> int:
  """The latest step saved in `folder/checkpoints` (orbax names each checkpoint by its step), or 0."""
  path = os.path.join(folder, "checkpoints")
  steps = [int(name) for name in os.listdir(path) if name.isdigit()] if os.path.isdir(path) else []
  return max(steps, default=0)


def inspect(run: Run, config: ml_collections.ConfigDict) -> RunState:
  """Where `run` stands, from its folder."""
  path = os.path.join(run.folder, run.command.result_file)
  result = workdir_lib.read_json(path) if os.path.exists(path) else None
  step = result.get(run.command.step_key) if result else None
  steps_done = int(step) if isinstance(step, (int, float)) else _checkpoint_step(run.folder)
  return RunState(result, steps_done, run.command.planned_steps(config))


def _plan_key(run: Run, config: ml_collections.ConfigDict) -> str | None:
  """The dotted config key that plans `run`'s steps (`num_train_steps`, `directions.num_steps`)."""
  if run.row.command == "train":
    return "num_train_steps"
  section = config.get("method", "")
  return f"{section}.num_steps" if "num_steps" in (_section(config) or {}) else None


def _check_same_config(run: Run, config: ml_collections.ConfigDict) -> None:
  """A run folder started with other settings (a `--tiny` table, older defaults) cannot be resumed with
  these: a one-line UsageError naming the first key that differs. The time limit and the data folder
  may differ between invocations (in any section), and the planned steps may grow: a longer plan
  continues the run from its last checkpoint."""
  path = os.path.join(run.folder, workdir_lib.CONFIG_FILE)
  if not os.path.exists(path):
    return
  before = dict(workdir_lib.flatten(workdir_lib.read_json(path)))
  now = dict(workdir_lib.flatten(json.loads(json.dumps(config.to_dict(), default=float))))  # As config.json holds it.
  plan = _plan_key(run, config)
  for key in sorted(set(before) & set(now)):
    if key.rsplit(".", 1)[-1] in _PER_INVOCATION_KEYS or before[key] == now[key]:
      continue
    if key == plan and isinstance(before[key], (int, float)) and now[key] > before[key]:
      continue
    raise UsageError(f"run folder {run.folder!r} was started with {key}={before[key]!r}, this table has "
                     f"{key}={now[key]!r}; pass another --workdir (or delete that folder).")


# ---- Progress over invocations ---------------------------------------------------------------------

def load_progress(workdir: str) -> dict[str, Any]:
  """`WORKDIR/progress.json`: per row, its run's `wall_seconds` summed over invocations and `invocations`."""
  path = os.path.join(workdir, PROGRESS_FILE)
  return workdir_lib.read_json(path) if os.path.exists(path) else {"runs": {}}


def _record(progress: dict[str, Any], workdir: str, run: Run, seconds: float) -> None:
  entry = progress["runs"].setdefault(run.row.name, {"wall_seconds": 0.0, "invocations": 0})
  entry["wall_seconds"] += seconds
  entry["invocations"] += 1
  workdir_lib.write_json(os.path.join(workdir, PROGRESS_FILE), progress)


# ---- The table, row by row -------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RowOutcome:
  """Where a row stands after this invocation: `status` is 'done', 'incomplete', 'waiting' (for the row
  it depends on) or 'not started'; `note` says why it is not done; `wall_seconds` is the time its run
  took over every invocation."""
  run: Run
  state: RunState
  status: str
  note: str = ""
  wall_seconds: float = 0.0

  @property
  def row(self) -> Row:
    return self.run.row


def _status(state: RunState) -> str:
  if state.done:
    return "done"
  return "incomplete" if state.started else "not started"


class StoppedOutsideTraining(guards.Preempted):
  """SIGTERM or SIGINT came while no run was training; the CLI exits as for a preempted run (75)."""

  def __init__(self, signal_name: str):
    super().__init__(step=-1, signal_name=signal_name)
    self.args = (f"{signal_name} received outside training: every run keeps its checkpoints; run the same "
                 "command again to continue.",)


class _Signal(BaseException):
  """Raised by the signal handler: a BaseException, as KeyboardInterrupt is, so that no `except
  Exception` on the way (logging's, a library's) swallows it."""

  def __init__(self, signal_name: str):
    super().__init__(signal_name)
    self.signal_name = signal_name


@contextlib.contextmanager
def _stop_outside_training() -> Iterator[None]:
  """Stops at once on SIGTERM or SIGINT outside a run's training loop (setup, compilation, evaluation,
  between runs), where nothing unsaved is lost, raising `StoppedOutsideTraining`; inside the loop its
  own `guards.PreemptionGuard` takes the signal, saves and raises `guards.Preempted`. The previous
  handlers are restored on exit."""
  def handle(signum, frame):
    del frame
    raise _Signal(signal.Signals(signum).name)

  if threading.current_thread() is not threading.main_thread():  # Only the main thread takes signals.
    yield
    return
  previous = {sig: signal.signal(sig, handle) for sig in guards.PreemptionGuard.SIGNALS}
  try:
    yield
  except _Signal as e:
    raise StoppedOutsideTraining(e.signal_name) from None
  finally:
    for sig, handler in previous.items():
      signal.signal(sig, handler)


def _outcome(run: Run, config: ml_collections.ConfigDict, note: str, progress: dict[str, Any]) -> RowOutcome:
  """Where `run`'s row stands now, read from its folder; `note` says why it is not done."""
  state = inspect(run, config)
  status = _status(state)
  if status == "done":
    note = ""
  elif note.startswith("needs"):
    status = "waiting"
  return RowOutcome(run, state, status, note, progress["runs"].get(run.row.name, {}).get("wall_seconds", 0.0))


def check_rows(table: Table, rows: Sequence[str]) -> None:
  """Raises `UsageError` (one line) for a row name that is not one of `table`'s."""
  names = [row.name for row in table.rows]
  for name in rows:
    if name not in names:
      raise UsageError(f"--rows: {name!r} is not a row of table {table.name!r}; its rows are "
                       f"{', '.join(names)}.")


def reproduce(table: Table, workdir: str, max_minutes: float = 0.0, tiny: bool = False,
              dry_run: bool = False, on_row: Callable[[list[RowOutcome]], None] | None = None,
              rows: Sequence[str] | None = None) -> list[RowOutcome]:
  """Makes every run of `table` in `workdir` that is not done yet, within `max_minutes` (0: no limit),
  with each config's `tiny` option when `tiny`; with `dry_run` only reads where the runs stand. With
  `rows`, only those rows' runs are made; the others are read as they stand.
  `on_row(outcomes)` gets every row's outcome after each row, also when a run is stopped by a signal
  or fails (the command writes the results files there). Returns every row's outcome (see the module
  docstring)."""
  deadline = time.time() + 60 * max_minutes if max_minutes > 0 else None
  runs = [run_of(row, workdir, tiny) for row in table.rows]
  configs = [build_config(run) for run in runs]
  progress = load_progress(workdir)
  outcomes = [_outcome(run, config, "", progress) for run, config in zip(runs, configs)]
  row_status = {outcome.row.name: outcome.status for outcome in outcomes}
  with _stop_outside_training():
    for index, (run, config) in enumerate(zip(runs, configs)):
      note = ""
      try:
        remaining = deadline - time.time() if deadline is not None else None
        if outcomes[index].state.done:
          logging.info("%s: done at step %s; skipped", run.row.name, outcomes[index].state.steps_done)
        elif run.row.depends_on and row_status[run.row.depends_on] != "done":
          note = f"needs {run.row.depends_on} done"
        elif remaining is not None and remaining <= 0:
          note = "the time budget was spent"
        elif rows is not None and run.row.name not in rows:
          note = "not among --rows"
        elif not dry_run:
          note = _make(run, config, remaining, progress, workdir)
      finally:
        outcomes[index] = _outcome(run, config, note, progress)
        row_status[run.row.name] = outcomes[index].status
        if on_row is not None:
          on_row(outcomes)
  return outcomes


def _get(config: ml_collections.ConfigDict, key: str) -> Any:
  """The value at the dotted `key` of `config`."""
  for part in key.split("."):
    config = config[part]
  return config


def _make(run: Run, config: ml_collections.ConfigDict, remaining: float | None, progress: dict[str, Any],
          workdir: str) -> str:
  """Starts or resumes `run` with `remaining` seconds (None: no limit) as its time limit; records its
  wall time even when it is stopped by a signal or fails. Returns why it is not done, if it is not."""
  minutes_key = run.command.minutes_key(config)
  if remaining is not None and minutes_key:
    limit = _get(config, minutes_key)
    config = with_overrides(config, {minutes_key: min(remaining / 60, limit) if limit else remaining / 60})
  run.command.check(config)
  _check_same_config(run, config)
  started = time.time()
  try:
    logging.info("%s: %s%s", run.row.name, run.command_line(),
                 f" (time limit {remaining / 60:.1f} min)" if remaining is not None else "")
    run.command.run(config, run.folder)
  finally:
    _record(progress, workdir, run, time.time() - started)
  state = inspect(run, config)
  return "" if state.done else "stopped by its time limit"


def use_compilation_cache(folder: str) -> None:
  """Keeps compiled XLA programs in `folder`, so that a resumed run, a rerun and every seed of a model
  skip the compilation they share with an earlier one (on a CPU most of a small run's time)."""
  jax.config.update("jax_compilation_cache_dir", folder)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
