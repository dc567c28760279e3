"""Data parallelism with `jax.jit` over a one-axis `Mesh` of every device of every process.

The batch is sharded along `data`; the training state is replicated. BatchNorm under jit then sees the
global batch, so 1 device and 8 devices compute the same step (up to float reassociation).
"""
from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def make_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
  """A 1-D mesh over `devices` (default: all devices of all processes)."""
  devices = jax.devices() if devices is None else list(devices)
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading axis split over the mesh."""
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  """Every device holds the whole value."""
  return NamedSharding(mesh, P())


def abstract_replicated(fn: Any, mesh: Mesh, *args: Any) -> Any:
  """The shapes and dtypes of `fn(*args)` as `ShapeDtypeStruct`s replicated on `mesh`, computing and
  compiling nothing: a restore target for orbax when only a checkpoint's values are wanted."""
  sharding = replicated(mesh)
  return jax.tree_util.tree_map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=sharding),
                                jax.eval_shape(fn, *args))


def global_batch(local: dict[str, np.ndarray], mesh: Mesh) -> dict[str, jax.Array]:
  """Assembles each process's local batch into one global array per key, sharded along `data`."""
  sharding = batch_sharding(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in local.items()}


def replicate(tree: Any, mesh: Mesh) -> Any:
  """Places a pytree of (host or device) arrays replicated on the mesh."""
  return jax.device_put(tree, replicated(mesh))


def fetch(tree: Any) -> Any:
  """A replicated or fully addressable pytree as host numpy arrays (works on every process)."""
  def _get(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      x = x.addressable_data(0)
    return np.asarray(jax.device_get(x))
  return jax.tree_util.tree_map(_get, tree)
