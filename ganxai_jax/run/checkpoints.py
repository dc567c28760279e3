"""Orbax checkpoints of a run: the `TrainState` and the input pipeline's position, saved together.

`DIR/checkpoints/<step>/` holds `state` (the whole TrainState) and `data` (grain iterator state, one
small file per process). Orbax writes to a temporary folder and renames it when complete, so a run
killed mid-save leaves the previous checkpoint intact.
"""
from __future__ import annotations

import os
import shutil
from typing import Any

import grain
import jax
import orbax.checkpoint as ocp
from absl import logging

from ganxai_jax.errors import UsageError


class Checkpointer:
  """Saves and restores `(state, data iterator)` under `workdir/checkpoints`, keeping the last few."""

  def __init__(self, workdir: str, max_to_keep: int = 3):
    self.directory = os.path.join(os.path.abspath(workdir), "checkpoints")
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
    self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "data"))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state: Any, data_iterator: Any | None = None) -> None:
    items = {"state": ocp.args.StandardSave(state)}
    if data_iterator is not None:
      items["data"] = grain.checkpoint.CheckpointSave(data_iterator)
    self._manager.save(step, args=ocp.args.Composite(**items), force=True)

  def restore(self, state_template: Any, data_iterator: Any | None = None, step: int | None = None) -> Any:
    """Restores the state (placed like `state_template`) and moves `data_iterator` to its saved position.

    With `state_template=None` the state comes back as nested dicts of arrays on this process's first
    device, read from the checkpoint's own metadata: inference needs neither the optimizers nor the
    config that shaped the training state (see `workdir.inference_variables`).
    """
    step = self.latest_step() if step is None else step
    if state_template is None:
      state_template = self._saved_structure(step)
    items = {"state": ocp.args.StandardRestore(state_template)}
    if data_iterator is not None:
      items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
    restored = self._manager.restore(step, args=ocp.args.Composite(**items))
    return restored["state"]

  def _saved_structure(self, step: int) -> Any:
    """The saved state's tree of shapes and dtypes, placed on this process's first device."""
    metadata = ocp.StandardCheckpointer().metadata(os.path.join(self.directory, str(step), "state"))
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    return jax.tree_util.tree_map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=device),
                                  metadata.item_metadata.tree)

  def restore_latest(self, state_template: Any, data_iterator: Any | None = None) -> Any | None:
    """Restores the newest readable checkpoint, or returns None when there is none.

    When the newest checkpoints cannot be read but an older one can, the unreadable ones are reported
    and moved aside to `checkpoints_unreadable/` (kept, not deleted) and the run goes on from the older
    one. When none can be read, nothing is moved (a changed model or config, rather than corruption, is
    the likely cause) and a one-line error says so; never a silent restart from step 0.
    """
    steps = sorted(self.all_steps(), reverse=True)
    failures = []
    for step in steps:
      try:
        state = self.restore(state_template, data_iterator, step)
      except Exception as e:  # pylint: disable=broad-except  (orbax raises many kinds)
        reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        logging.error("Checkpoint %d in %s is unreadable (%s); trying the previous one.",
                      step, self.directory, reason)
        failures.append((step, reason))
        continue
      for bad_step, _ in failures:
        self._set_aside(bad_step)
      return state
    if steps:
      newest, reason = failures[0]
      raise UsageError(f"no checkpoint in {self.directory} could be read (steps {sorted(steps)}; step {newest}: "
                       f"{reason[:300]}); if the model or config changed, use a new workdir.")
    return None

  def _set_aside(self, step: int) -> None:
    if jax.process_index() == 0:
      aside = f"{self.directory}_unreadable"
      os.makedirs(aside, exist_ok=True)
      shutil.move(os.path.join(self.directory, str(step)), os.path.join(aside, str(step)))
    self._manager.reload()

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
