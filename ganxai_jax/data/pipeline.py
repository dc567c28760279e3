"""Input pipelines over TFDS data sources, built with grain: deterministic, sharded by process, resumable.

A training iterator is a `grain` dataset iterator whose position (`get_state()`, a few bytes) is saved in
the checkpoint beside the model, so a resumed run sees exactly the batches an uninterrupted run would.
Each process reads its own shard of the examples and yields its local part of the global batch.
"""
from __future__ import annotations

import os
from typing import Any

import grain
import jax
import numpy as np
import tensorflow_datasets as tfds

from ganxai_jax.data import mnist  # noqa: F401  (registers the MNIST builders with TFDS)
from ganxai_jax.data import prepare

# Data sets this module can read, and whether each needs a folder the user downloaded by hand.
MNIST_DATASETS = {"mnist_embedded": False, "mnist_idx": True}


def default_data_dir() -> str:
  """Where prepared TFDS data sets live: `$GANXAI_DATA_DIR`, else `~/tensorflow_datasets`."""
  return os.environ.get("GANXAI_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")


def prepare_builder(name: str, data_dir: str | None, manual_dir: str | None = None,
                    config: str | None = None) -> tfds.core.DatasetBuilder:
  """Returns the TFDS builder of `name`, preparing it into `data_dir` the first time (offline).

  Only process 0 prepares; the others wait for it, so a multi-host run writes the files once.
  """
  data_dir = data_dir or default_data_dir()
  full_name = f"{name}/{config}" if config else name
  return prepare.prepare(lambda: tfds.builder(full_name, data_dir=data_dir, file_format="array_record"),
                         manual_dir)


def check_manual_dir(name: str, manual_dir: str | None) -> None:
  """Raises a clear error when a manual-download data set is asked for without its folder."""
  if name in MNIST_DATASETS and MNIST_DATASETS[name]:
    mnist.find_idx_files(manual_dir or "")


def scale_image(example: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """uint8 image [.., H, W, 1] to float32 in [-1, 1]; labels to int32."""
  out = dict(example)
  out["image"] = example["image"].astype(np.float32) / 127.5 - 1.0
  if "label" in example:
    out["label"] = np.asarray(example["label"], np.int32)
  return out


def local_batch_size(global_batch_size: int) -> int:
  """This process's share of a global batch; it must divide evenly over devices and processes."""
  num_devices = jax.device_count()
  if global_batch_size <= 0 or global_batch_size % num_devices:
    raise ValueError(f"batch_size={global_batch_size} must be a positive multiple of the "
                     f"{num_devices} devices in the run.")
  return global_batch_size // jax.process_count()


class ReadProcessSlice(grain.transforms.Map):
  """Global batch of example indices -> this process's slice of it, read and scaled."""

  def __init__(self, source: Any, start: int, stop: int):
    self._source, self._start, self._stop = source, start, stop

  def map(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    examples = [self._source[int(i)] for i in indices[self._start:self._stop]]
    return scale_image({k: np.stack([e[k] for e in examples]) for k in examples[0]})


def train_iterator(source: Any, global_batch_size: int, seed: int) -> grain.DatasetIterator:
  """An endless, reshuffled-every-epoch iterator yielding this process's part of each global batch.

  Every process shuffles the same indices the same way and reads only its slice of each global batch,
  so the global batch at each step does not depend on the number of processes. Deterministic for
  `seed`; its `get_state()` is the position to checkpoint (the same on every process).
  """
  local = local_batch_size(global_batch_size)
  if len(source) < global_batch_size:
    raise ValueError(f"The data set has {len(source)} examples, fewer than batch_size={global_batch_size}.")
  start = jax.process_index() * local
  ds = grain.MapDataset.range(len(source)).seed(seed).shuffle().repeat()
  ds = ds.batch(global_batch_size, drop_remainder=True).map(ReadProcessSlice(source, start, start + local))
  return iter(ds.to_iter_dataset())


def load_arrays(source: Any, limit: int | None = None) -> dict[str, np.ndarray]:
  """Reads (the first `limit` examples of) a data source into stacked, scaled numpy arrays."""
  count = len(source) if limit is None else min(limit, len(source))
  examples = [source[i] for i in range(count)]
  stacked = {k: np.stack([e[k] for e in examples]) for k in examples[0]}
  return scale_image(stacked)
