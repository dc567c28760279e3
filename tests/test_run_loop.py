"""The one training loop (`run.loop`) on a toy state: resume, hooks, finish, guards, and what it says."""
import functools
import json
import os

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl import logging as absl_logging

from ganxai_jax.run import guards, loop
from ganxai_jax.run.checkpoints import Checkpointer
from ganxai_jax.run.metrics import Progress, format_duration


@flax.struct.dataclass
class ToyState:
  step: jax.Array
  total: jax.Array


def _toy_step(state, value, poison_at):
  """Adds `value` (step k adds k); the loss is the running total, NaN at step `poison_at`."""
  new = ToyState(step=state.step + 1, total=state.total + value)
  return new, {"loss": jnp.where(new.step == (poison_at or -1), jnp.nan, new.total)}


def _step_fn(poison_at: int | None = None):
  step = jax.jit(functools.partial(_toy_step, poison_at=poison_at))
  return lambda state, step_index: step(state, jnp.float32(step_index + 1))


def _chunk_fn(poison_at: int | None = None):
  """`step_fn(state, step, n)`: n toy steps in one scan, the metrics stacked."""
  @functools.partial(jax.jit, static_argnums=2)
  def steps(state, first_value, n):
    return jax.lax.scan(functools.partial(_toy_step, poison_at=poison_at), state,
                        first_value + jnp.arange(n, dtype=jnp.float32))
  return lambda state, step_index, n: steps(state, jnp.float32(step_index + 1), n)


def _fresh():
  return ToyState(step=jnp.zeros((), jnp.int32), total=jnp.zeros((), jnp.float32))


def _train(workdir, num_steps, **kwargs):
  schedule = loop.Schedule(num_steps=num_steps, log_every_steps=2, checkpoint_every_steps=2)
  return loop.train(workdir=str(workdir), state=_fresh(), step_fn=kwargs.pop("step_fn", _step_fn()),
                    schedule=schedule, **kwargs)


def test_trains_resumes_and_equals_an_uninterrupted_run(tmp_path):
  first = _train(tmp_path / "a", 3)
  assert int(first.step) == 3 and float(first.total) == 1 + 2 + 3
  resumed = _train(tmp_path / "a", 5)  # The same command with more steps goes on from step 3.
  straight = _train(tmp_path / "b", 5)
  assert int(resumed.step) == 5 and float(resumed.total) == float(straight.total) == 15
  steps = [json.loads(line)["step"] for line in open(tmp_path / "a" / "metrics.jsonl")]
  assert steps == [2, 3, 4, 5]
  assert Checkpointer(str(tmp_path / "a")).latest_step() == 5


def test_hooks_run_on_their_steps_and_finish_writes_eval_json(tmp_path):
  calls = []
  hooks = [loop.Hook(2, lambda state, step: calls.append(("every2", step))),
           loop.Hook(3, lambda state, step: {"score": float(state.total)}, skip_last=True, prefix="eval/"),
           loop.Hook(0, lambda state, step: calls.append(("never", step)))]
  _train(tmp_path, 6, hooks=hooks, finish=lambda state, step: {"final": float(state.total), "step": step})
  assert calls == [("every2", 2), ("every2", 4), ("every2", 6)]
  records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  assert [r for r in records if "eval/score" in r] == [{"step": 3, "eval/score": 6.0}]  # Not again at 6.
  assert {"step": 6, "eval/final": 21.0} in records
  assert json.load(open(tmp_path / "eval.json")) == {"final": 21.0, "step": 6}


def test_a_non_finite_metric_stops_before_the_state_is_saved(tmp_path):
  with pytest.raises(guards.NonFiniteLoss, match="step 3: loss=nan.*last good checkpoint \\(step 2\\)"):
    _train(tmp_path, 6, step_fn=_step_fn(poison_at=3))
  assert Checkpointer(str(tmp_path)).all_steps() == [2]
  assert not os.path.exists(tmp_path / "eval.json")


def _chunked(workdir, num_steps, steps_per_call=3, log_every=2, checkpoint_every=3, **kwargs):
  schedule = loop.Schedule(num_steps=num_steps, log_every_steps=log_every, checkpoint_every_steps=checkpoint_every,
                           steps_per_call=steps_per_call)
  return loop.train(workdir=str(workdir), state=_fresh(), step_fn=kwargs.pop("step_fn", _chunk_fn()),
                    schedule=schedule, **kwargs)


def test_crossed_is_a_multiple_reached_or_passed():
  assert [s for s in range(1, 9) if loop.crossed(s - 1, s, 3)] == [3, 6]  # One step per call: s % 3 == 0.
  assert loop.crossed(0, 3, 2) and loop.crossed(3, 6, 2) and not loop.crossed(6, 7, 2)
  assert not loop.crossed(0, 10, 0)  # 0: never.


def test_several_steps_per_call_log_save_and_hook_when_a_period_is_crossed(tmp_path):
  histories, calls = [], []

  def summarize(history):
    histories.append([float(h["loss"]) for h in history])
    return loop.mean_metrics(history)

  state = _chunked(tmp_path, 7, summarize=summarize,
                   hooks=[loop.Hook(2, lambda state, step: calls.append((step, int(state.step))))])
  assert int(state.step) == 7 and float(state.total) == 28
  # Calls end at steps 3, 6 and 7: logs after those crossing 2, 4 or 6, and at the end, each with
  # one entry per step (the running totals), unstacked from the calls' metrics.
  assert histories == [[1, 3, 6], [10, 15, 21], [28]]
  assert [json.loads(line)["step"] for line in open(tmp_path / "metrics.jsonl")] == [3, 6, 7]
  assert calls == [(3, 3), (6, 6)]  # 4 and 6 both fall in the second call: one hook call.
  assert Checkpointer(str(tmp_path)).all_steps() == [3, 6, 7]


def test_several_steps_per_call_resume_and_equal_one_step_per_call(tmp_path):
  _chunked(tmp_path / "a", 5)  # Calls of 3 and 2 steps.
  resumed = _chunked(tmp_path / "a", 9)  # From step 5: calls end at 8 and 9.
  straight = _train(tmp_path / "b", 9)
  assert int(resumed.step) == 9 and float(resumed.total) == float(straight.total) == 45
  assert Checkpointer(str(tmp_path / "a")).all_steps()[-1] == 9


def test_several_steps_per_call_name_the_step_that_turned_non_finite(tmp_path):
  # The second call (steps 4-6) holds the NaN of step 5; the checkpoint of step 3 is the last good one.
  with pytest.raises(guards.NonFiniteLoss, match="step 5: loss=nan.*last good checkpoint \\(step 3\\)"):
    _chunked(tmp_path, 9, log_every=100, step_fn=_chunk_fn(poison_at=5))
  assert Checkpointer(str(tmp_path)).all_steps() == [3]


def test_several_steps_per_call_heed_the_deadline_after_each_call(tmp_path):
  schedule = loop.Schedule(num_steps=1000, steps_per_call=3, max_minutes=1e-9)
  state = loop.train(workdir=str(tmp_path), state=_fresh(), step_fn=_chunk_fn(), schedule=schedule)
  assert int(state.step) == 3 and Checkpointer(str(tmp_path)).latest_step() == 3


def test_max_minutes_stops_with_a_checkpoint_and_says_where_the_outputs_are(tmp_path, monkeypatch):
  lines = []
  monkeypatch.setattr(absl_logging, "info", lambda fmt, *args: lines.append(str(fmt) % args if args else str(fmt)))
  schedule = loop.Schedule(num_steps=1000, log_every_steps=100, checkpoint_every_steps=100,
                           max_minutes=1e-9)
  state = loop.train(workdir=str(tmp_path), state=_fresh(), step_fn=_step_fn(), schedule=schedule,
                     finish=lambda state, step: {"steps": step})
  assert int(state.step) == 1
  assert Checkpointer(str(tmp_path)).latest_step() == 1
  text = "\n".join(lines)
  assert "compiling" in text and "the first step took" in text
  assert " cpu " in text or "× cpu" in text  # The device is named.
  assert "the 1e-09-minute limit is reached" in text
  outputs = [line for line in lines if line.startswith("outputs: ")]
  assert len(outputs) == 1 and f"checkpoints {tmp_path / 'checkpoints'}" in outputs[0] and "eval.json" in outputs[0]


def test_eta_honours_the_deadline_and_the_step_count():
  progress = Progress(total_steps=1000, first_step=0, deadline=1000.0 + 60)
  assert progress.eta_seconds(step=100, rate=10.0, now=1000.0) == 60.0  # 90 s of steps, 60 s of time
  assert progress.eta_seconds(step=990, rate=10.0, now=1000.0) == 1.0
  assert Progress(1000, 0).eta_seconds(step=0, rate=0.0, now=0.0) == float("inf")
  assert [format_duration(s) for s in (42, 425, 11520, float("inf"))] == ["42s", "7m05s", "3h12m", "?"]
  assert np.isfinite(progress.eta_seconds(step=0, rate=1e-3, now=0.0))
