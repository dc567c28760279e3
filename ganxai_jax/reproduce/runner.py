"""Reproduces a results table: trains or resumes every run its rows need, within a time budget.

  reproduce(table, workdir, max_minutes=M, tiny=False)

Each row of the table (`reproduce.table`) is one run of a project command (`COMMANDS`: the training of
`kinds.train`, the explanations of `explain.runner`) in `WORKDIR/<row>`, or one plain run per seed in
`WORKDIR/<row>/seed_K`. Rows go in order:

* a run whose result file (`eval.json`, `explain.json`) is at its planned step is done and skipped;
* a row whose input row is not done waits (an explanation needs its finished generator);
* any other run starts or resumes, with what is left of the budget as its own `max_minutes`: it trains
  until then, checkpoints and evaluates, so a run stopped by time has a result at its step, and the
  next invocation resumes it. The budget bounds training; the setup, the first compilation and the
  evaluation of the run that reaches it come on top.

`WORKDIR/progress.json` keeps the wall time each run took, summed over invocations. SIGTERM or SIGINT
stops the run in progress as the project's runs stop (checkpoint, `guards.Preempted`, exit code 75), and
between runs stops before the next one; rerunning the same command continues in every case.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import os
import time
from typing import Any, Callable

import jax
import ml_collections
from absl import logging

from ganxai_jax import config_checks
from ganxai_jax import kinds
from ganxai_jax.errors import UsageError
from ganxai_jax.explain import runner as explain_runner
from ganxai_jax.reproduce.table import Row, Table, combine_seeds
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
  """One run of a row: `name` is its folder inside the table's workdir (`gan`, `infogan/seed_0`)."""
  row: Row
  name: str
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


def _config_arg(row: Row, tiny: bool) -> str:
  return f"{row.config},tiny" if tiny else row.config


def runs_of(table: Table, workdir: str, tiny: bool = False) -> dict[str, list[Run]]:
  """Row name -> its runs: one, or one per seed for a row with `seeds`."""
  plan = {}
  for row in table.rows:
    overrides = {**row.overrides, **({} if tiny else row.full_size)}
    if row.depends_on:
      overrides = {COMMANDS[row.command].input_key: os.path.join(workdir, row.depends_on), **overrides}
    folder = os.path.join(workdir, row.name)
    if row.seeds:
      plan[row.name] = [Run(row, f"{row.name}/seed_{seed}", os.path.join(folder, f"seed_{seed}"),
                            _config_arg(row, tiny), {**overrides, "seed": seed}) for seed in row.seeds]
    else:
      plan[row.name] = [Run(row, row.name, folder, _config_arg(row, tiny), overrides)]
  return plan


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
  for runs in runs_of(table, workdir, tiny).values():
    for run in runs:
      config = build_config(run)
      if run.row.command == "train":  # An explanation's check reads its input run, not there yet.
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


def row_result(runs: list[Run], states: list[RunState]) -> dict[str, Any] | None:
  """The result a row's numbers are read from: its run's, or the seeds' combined (`combine_seeds`)."""
  if len(runs) == 1:
    return states[0].result
  if any(state.result is None for state in states):
    return None
  return combine_seeds([run.overrides["seed"] for run in runs], [state.result for state in states])


def _check_same_config(run: Run, config: ml_collections.ConfigDict) -> None:
  """A run folder started with other settings (a `--tiny` table, older defaults) cannot be resumed with
  these: a one-line UsageError naming the first key that differs."""
  path = os.path.join(run.folder, workdir_lib.CONFIG_FILE)
  if not os.path.exists(path):
    return
  before = workdir_lib.read_json(path)
  now = json.loads(json.dumps(config.to_dict(), default=float))  # As config.json holds it (lists, floats).
  for key in sorted(set(before) & set(now)):
    if key not in _PER_INVOCATION_KEYS and before[key] != now[key]:
      raise UsageError(f"run folder {run.folder!r} was started with {key}={before[key]!r}, this table has "
                       f"{key}={now[key]!r}; pass another --workdir (or delete that folder).")


# ---- Progress over invocations ---------------------------------------------------------------------

def load_progress(workdir: str) -> dict[str, Any]:
  """`WORKDIR/progress.json`: per run name, `wall_seconds` summed over invocations and `invocations`."""
  path = os.path.join(workdir, PROGRESS_FILE)
  return workdir_lib.read_json(path) if os.path.exists(path) else {"runs": {}}


def _record(progress: dict[str, Any], workdir: str, run: Run, seconds: float) -> None:
  entry = progress["runs"].setdefault(run.name, {"wall_seconds": 0.0, "invocations": 0})
  entry["wall_seconds"] += seconds
  entry["invocations"] += 1
  workdir_lib.write_json(os.path.join(workdir, PROGRESS_FILE), progress)


# ---- The table, row by row -------------------------------------------------------------------------

@dataclasses.dataclass
class RowOutcome:
  """Where a row stands after this invocation: `status` is 'done', 'incomplete', 'waiting' (for the row
  it depends on) or 'not started'; `note` says why it is not done."""
  row: Row
  runs: list[Run]
  states: list[RunState]
  status: str
  note: str = ""
  wall_seconds: float = 0.0

  @property
  def steps_done(self) -> int:
    return min(state.steps_done for state in self.states)

  @property
  def steps_planned(self) -> int | None:
    return self.states[0].steps_planned

  @property
  def result(self) -> dict[str, Any] | None:
    return row_result(self.runs, self.states)

  def command_line(self) -> str:
    return " && ".join(run.command_line() for run in self.runs)


def _status(states: list[RunState]) -> str:
  if all(state.done for state in states):
    return "done"
  return "incomplete" if any(state.started for state in states) else "not started"


def _outcome(row: Row, runs: list[Run], configs: list[ml_collections.ConfigDict], note: str,
             progress: dict[str, Any]) -> RowOutcome:
  """Where `row` stands now, read from its run folders; `note` says why it is not done."""
  states = [inspect(run, config) for run, config in zip(runs, configs)]
  status = _status(states)
  if status == "done":
    note = ""
  elif note.startswith("needs"):
    status = "waiting"
  wall = sum(progress["runs"].get(run.name, {}).get("wall_seconds", 0.0) for run in runs)
  return RowOutcome(row, runs, states, status, note, wall)


def reproduce(table: Table, workdir: str, max_minutes: float = 0.0, tiny: bool = False,
              dry_run: bool = False, on_row: Callable[[list[RowOutcome]], None] | None = None
              ) -> list[RowOutcome]:
  """Makes every run of `table` in `workdir` that is not done yet, within `max_minutes` (0: no limit),
  with each config's `tiny` option when `tiny`; with `dry_run` only reads where the runs stand.
  `on_row(outcomes)` gets every row's outcome after each row, also when a run is stopped by a signal
  or fails (the command writes the results files there). Returns every row's outcome (see the module
  docstring)."""
  deadline = time.time() + 60 * max_minutes if max_minutes > 0 else None
  plan = runs_of(table, workdir, tiny)
  configs = {row.name: [build_config(run) for run in plan[row.name]] for row in table.rows}
  progress = load_progress(workdir)
  outcomes = [_outcome(row, plan[row.name], configs[row.name], "", progress) for row in table.rows]
  row_status = {outcome.row.name: outcome.status for outcome in outcomes}
  with guards.PreemptionGuard() as preemption:  # Between runs; each run has its own while it trains.
    for index, row in enumerate(table.rows):
      note = ""
      try:
        for run, config in zip(plan[row.name], configs[row.name]):
          state = inspect(run, config)
          if state.done:
            logging.info("%s: done at step %s; skipped", run.name, state.steps_done)
            continue
          if row.depends_on and row_status[row.depends_on] != "done":
            note = f"needs {row.depends_on} done"
            break
          remaining = deadline - time.time() if deadline is not None else None
          if dry_run or (remaining is not None and remaining <= 0):
            note = "" if dry_run else "the time budget was spent"
            break
          if preemption.should_stop():
            raise guards.Preempted(state.steps_done, preemption.signal_name)
          note = _make(run, config, remaining, workdir, progress)
      finally:
        outcomes[index] = _outcome(row, plan[row.name], configs[row.name], note, progress)
        row_status[row.name] = outcomes[index].status
        if on_row is not None:
          on_row(outcomes)
  return outcomes


def _get(config: ml_collections.ConfigDict, key: str) -> Any:
  """The value at the dotted `key` of `config`."""
  for part in key.split("."):
    config = config[part]
  return config


def _make(run: Run, config: ml_collections.ConfigDict, remaining: float | None, workdir: str,
          progress: dict[str, Any]) -> str:
  """Starts or resumes `run` with `remaining` seconds (None: no limit) as its time limit; records its
  wall time even when it is stopped by a signal or fails. Returns why it is not done, if it is not."""
  minutes_key = run.command.minutes_key(config)
  if remaining is not None and minutes_key:
    limit = _get(config, minutes_key)
    config = with_overrides(config, {minutes_key: min(remaining / 60, limit) if limit else remaining / 60})
  run.command.check(config)
  _check_same_config(run, config)
  logging.info("%s: %s%s", run.name, run.command_line(),
               f" (time limit {remaining / 60:.1f} min)" if remaining is not None else "")
  started = time.time()
  try:
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
