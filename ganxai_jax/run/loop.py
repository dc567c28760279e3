"""The project's one training loop: start or resume a run, step, log, checkpoint, stop cleanly, finish.

Every trainer (the MNIST GANs, ScrabbleGAN, the recognizer, latent directions) brings only its parts:
an initial state, a `step_fn(state, step) -> (state, metrics)` that takes its own batch (a closure over
its data iterator around a pure jitted step), how to average a window of metrics, periodic `Hook`s
(sample figures, evaluation) and a `finish(state, step) -> scores` that becomes `WORKDIR/eval.json`.
With `Schedule.steps_per_call` > 1 the step function is `step_fn(state, step, n) -> (state, metrics)`:
it does n steps in one compiled call (a `jax.lax.scan`) and returns every metric stacked along a
leading axis of length n, which saves the per-call dispatch when a step is short.
The loop owns the rest, identically for all:

* `config.json` is written and the latest readable checkpoint restored (state and data position);
* the device, the plan and the resume point are said at the start, and a notice while the first step
  compiles;
* metrics go to `metrics.jsonl` and TensorBoard; a progress line shows steps/s, an ETA that honours
  both `num_steps` and `max_minutes`, and a few key metrics;
* losses are checked for NaN and infinity before a state is saved (`guards.NonFiniteLoss`);
* checkpoints every `checkpoint_every_steps` and at the end; SIGTERM/SIGINT saves and raises
  `guards.Preempted`; `max_minutes` saves and finishes early;
* with several steps per call, logs, checkpoints and hooks come after the first call that reaches or
  passes a multiple of their period (at the call's last step), signals and the deadline are heeded
  after each call, and NaN is still reported at the step that produced it;
* at the end, where the outputs are.
"""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import ml_collections
import numpy as np
from absl import logging

from ganxai_jax.run import guards
from ganxai_jax.run.checkpoints import Checkpointer
from ganxai_jax.run.metrics import MetricWriter, Progress, format_duration, format_scalars
from ganxai_jax.run import workdir as workdir_lib

# `step_fn(state, step)`, or `step_fn(state, step, n)` with `Schedule.steps_per_call` > 1.
StepFn = Callable[..., tuple[Any, Mapping[str, jax.Array]]]
Scores = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Schedule:
  """How long a run trains and how often it logs and saves. `max_minutes` > 0 stops it earlier (with
  a checkpoint, then `finish`); the same command resumes it. `steps_per_call` > 1 runs that many steps
  per call of the step function (the last call of a run may do fewer)."""
  num_steps: int
  log_every_steps: int = 100
  checkpoint_every_steps: int = 1000
  max_minutes: float = 0.0
  keep_checkpoints: int = 3
  steps_per_call: int = 1


@dataclasses.dataclass(frozen=True)
class Hook:
  """`fn(state, step)` every `every_steps` steps (0: never), except after the last step when
  `skip_last` (for work that `finish` does anyway). Scalars it returns are logged under `prefix`."""
  every_steps: int
  fn: Callable[[Any, int], Mapping[str, Any] | None]
  skip_last: bool = False
  prefix: str = ""


def mean_metrics(history: Sequence[Mapping[str, Any]]) -> dict[str, float]:
  """The mean of every metric over a window of steps (host values)."""
  return {k: float(np.mean([float(np.asarray(h[k])) for h in history])) for k in history[0]}


def crossed(previous: int, step: int, every: int) -> bool:
  """True when going from step `previous` to `step` reached or passed a multiple of `every` (0: never);
  with one step per call, `step % every == 0`."""
  return every > 0 and step // every > previous // every


def unstack(metrics: Mapping[str, Any], n: int) -> list[dict[str, Any]]:
  """The n per-step dicts of metrics stacked along a leading axis of length n (host values)."""
  return [{name: value[i] for name, value in metrics.items()} for i in range(n)]


def numeric(scores: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
  """The scalar numbers among `scores` (bools and the step excluded), keys prefixed."""
  return {f"{prefix}{k}": float(v) for k, v in scores.items()
          if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and k != "step"}


def describe_devices() -> str:
  """'8 × cpu on 1 process' and the device kind: the first thing a run says."""
  devices = jax.devices()
  kind = getattr(devices[0], "device_kind", devices[0].platform)
  return (f"{len(devices)} × {devices[0].platform} ({kind}) on {jax.process_count()} process(es), "
          f"jax {jax.__version__}")


def train(*, workdir: str, state: Any, step_fn: StepFn, schedule: Schedule,
          config: ml_collections.ConfigDict | None = None, data_iterator: Any = None,
          summarize: Callable[[Sequence[Mapping[str, Any]]], dict[str, float]] = mean_metrics,
          key_metrics: Sequence[str] = (), hooks: Sequence[Hook] = (),
          finish: Callable[[Any, int], Scores | None] | None = None, what: str = "training") -> Any:
  """Trains `state` in `workdir` for `schedule.num_steps` steps in all, resuming from its latest
  checkpoint, and returns the final state (see the module docstring).

  `state` is a fresh state, used as it is on a new run and as the restore target otherwise; it needs a
  `step` field. `step_fn(state, step)` does step `step + 1` (`step` steps are done), or with
  `schedule.steps_per_call` > 1 `step_fn(state, step, n)` steps `step + 1` to `step + n`. `data_iterator`,
  when given, is checkpointed with the state, so a resumed run reads the same batches as an
  uninterrupted one. Raises `guards.Preempted` after saving on SIGTERM/SIGINT and
  `guards.NonFiniteLoss` (the last good checkpoint kept) when a metric turns NaN or infinite.
  """
  if config is not None:
    workdir_lib.write_config(workdir, config)
  elif workdir_lib.is_writer():
    os.makedirs(workdir, exist_ok=True)
  checkpointer = Checkpointer(workdir, max_to_keep=schedule.keep_checkpoints)
  restored = checkpointer.restore_latest(state, data_iterator)
  state = state if restored is None else restored
  first_step = int(jax.device_get(state.step))
  last_saved = first_step if restored is not None else None
  if restored is not None:
    logging.info("Resumed from step %d of %s", first_step, checkpointer.directory)

  deadline = time.time() + 60 * schedule.max_minutes if schedule.max_minutes > 0 else None
  logging.info("%s on %s", what, describe_devices())
  logging.info("plan: %s from step %d to step %d%s; checkpoint every %d steps, log every %d; workdir %s", what,
               first_step, schedule.num_steps,
               f", or stop after {schedule.max_minutes:g} min" if deadline else "",
               schedule.checkpoint_every_steps, schedule.log_every_steps, os.path.abspath(workdir))
  writer = MetricWriter(workdir)
  progress = Progress(schedule.num_steps, first_step, deadline, key_metrics)
  # Metrics not yet logged, one entry per call: (steps it did, metrics; stacked when it did several).
  pending: list[tuple[int, Mapping[str, jax.Array]]] = []
  chunked = schedule.steps_per_call > 1
  step = first_step
  try:
    with guards.PreemptionGuard() as preemption:
      while step < schedule.num_steps:
        n = min(schedule.steps_per_call, schedule.num_steps - step)
        if step == first_step:
          logging.info("compiling the step (the first step waits for it; minutes for a large model on a CPU)")
          started = time.time()
        state, metrics = step_fn(state, step, n) if chunked else step_fn(state, step)
        if step == first_step:
          jax.block_until_ready(metrics)
          logging.info("compiled; the first %s took %s", f"call ({n} steps)" if chunked else "step",
                       format_duration(time.time() - started))
        previous, step = step, step + n
        pending.append((n, metrics))
        out_of_time = deadline is not None and time.time() > deadline
        is_last = step == schedule.num_steps or out_of_time
        save_now = crossed(previous, step, schedule.checkpoint_every_steps) or is_last
        stop_now = preemption.should_stop()
        log_now = crossed(previous, step, schedule.log_every_steps) or is_last or stop_now
        if log_now or save_now:
          history = [entry for count, values in jax.device_get(pending)
                     for entry in (unstack(values, count) if chunked else [values])]
          guards.check_finite(step, history, last_saved)  # Before this state can be saved.
          if log_now:
            scalars = summarize(history)
            pending = []
            writer.write(step, scalars)
            progress(step, scalars)
        for hook in hooks:
          if crossed(previous, step, hook.every_steps) and not (hook.skip_last and is_last):
            scalars = hook.fn(state, step)
            if scalars:
              writer.write(step, numeric(scalars, hook.prefix))
        if save_now or stop_now:
          checkpointer.save(step, state, data_iterator)
          last_saved = step
        if stop_now and not is_last:
          raise guards.Preempted(step, preemption.signal_name)
        if out_of_time:
          logging.info("stopping at step %d: the %g-minute limit is reached; the same command resumes.",
                       step, schedule.max_minutes)
          break
  finally:  # Also on errors and signals: finish writing the checkpoints already started.
    checkpointer.close()
    if finish is None:
      writer.close()

  if finish is not None:
    final_step = int(jax.device_get(state.step))
    scores = finish(state, final_step)
    if scores is not None:
      writer.write(final_step, numeric(scores, "eval/"))
      workdir_lib.write_json(os.path.join(workdir, "eval.json"), scores)
      logging.info("scores at step %d: %s (all in eval.json)", final_step,
                   format_scalars(numeric(scores), limit=8))
    writer.close()
  logging.info(workdir_lib.describe_outputs(workdir))
  return state
