"""Guards of a training loop: preemption signals and non-finite losses.

`PreemptionGuard` turns SIGTERM and SIGINT into a flag that the loop checks after each step: the run
finishes its step, saves a checkpoint and exits with `EXIT_PREEMPTED`, so a scheduler can tell
"preempted, resume me" from success and failure. On several processes the flag is agreed on by all, so
every process stops at the same step.

`check_finite` stops a run whose losses turned NaN or infinite before that state is checkpointed.
"""
from __future__ import annotations

import math
import signal
import threading
from typing import Any, Mapping, Sequence

import jax
import numpy as np

EXIT_PREEMPTED = 75    # EX_TEMPFAIL: the run saved its state and can be resumed with the same command.
EXIT_NON_FINITE = 3    # The losses diverged; the last good checkpoint was kept.


class Preempted(Exception):
  """Raised by the loop after the state was saved following SIGTERM/SIGINT."""

  def __init__(self, step: int, signal_name: str):
    super().__init__(f"{signal_name} received: saved the checkpoint of step {step}; run the same command "
                     "again to resume.")
    self.step = step


class NonFiniteLoss(Exception):
  """A loss turned NaN or infinite."""

  def __init__(self, step: int, name: str, value: float, last_good_step: int | None):
    kept = (f"the last good checkpoint (step {last_good_step}) is kept" if last_good_step is not None
            else "no checkpoint was written")
    super().__init__(f"non-finite loss at step {step}: {name}={value}; stopped, {kept}. Lower the learning "
                     "rates or check the data, then resume or start fresh.")
    self.step, self.name, self.value = step, name, value


class PreemptionGuard:
  """Context manager: records SIGTERM/SIGINT instead of dying, restores the old handlers on exit."""

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self._received: str | None = None
    self._previous: dict[int, Any] = {}

  def __enter__(self) -> "PreemptionGuard":
    if threading.current_thread() is threading.main_thread():
      for sig in self.SIGNALS:
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def __exit__(self, *exc) -> None:
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)

  def _handle(self, signum: int, frame: Any) -> None:
    del frame
    self._received = signal.Signals(signum).name

  @property
  def signal_name(self) -> str:
    return self._received or "a stop request"

  def should_stop(self) -> bool:
    """True once any process received a signal (an all-process agreement on several hosts)."""
    stop = self._received is not None
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
      stop = bool(np.any(multihost_utils.process_allgather(np.asarray(stop))))
    return stop


def check_finite(step: int, history: Sequence[Mapping[str, Any]], last_good_step: int | None) -> None:
  """Raises `NonFiniteLoss` naming the first step and metric that is NaN or infinite."""
  first = step - len(history) + 1
  for offset, metrics in enumerate(history):
    for name, value in sorted(metrics.items()):
      value = float(np.asarray(value))
      if not math.isfinite(value):
        raise NonFiniteLoss(first + offset, name, value, last_good_step)
