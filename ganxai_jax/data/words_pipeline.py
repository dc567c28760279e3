"""Input pipeline for variable-width word images: length buckets, white padding, process sharding.

Word images are 32 × 16·n pixels for n characters. Batches are grouped by word length into buckets
so that only a few batch shapes ever occur and `jax.jit` compiles once per bucket instead of once
per step. A bucket spans `bucket_size` consecutive lengths; every batch of a bucket is padded to the
bucket's largest length: images with white (+1 after scaling), labels with the CTC blank 0. The true
sizes travel along as `label_lengths` and `image_widths`.

Order: every epoch, each bucket's examples are shuffled and cut into global batches (the last,
incomplete batch of a bucket is dropped in training), then the batches of all buckets are shuffled
together; everything is seeded by `(seed, epoch)`. All processes compute the same global batches
and each takes its own contiguous slice of `batch_size // jax.process_count()` examples, so all
processes see the same bucket (hence the same shapes) at every step.

The pipeline is a `grain.MapDataset` of batch numbers turned into an `IterDataset`; its iterator's
`get_state()` is a few bytes (`{'next_index': k}`) and `set_state` resumes exactly, so trainers
save it with `grain.checkpoint.CheckpointSave`. No worker processes are used.

Each batch is a dict of numpy arrays:

  image          float32 [b, 32, W, 1] in [-1, 1], white = +1
  labels         int32   [b, L], padded with 0 (blank)
  label_lengths  int32   [b]
  image_widths   int32   [b]  (16 · label_lengths for both data sets)
  writer         int32   [b]  (-1 where unknown)
  valid          bool    [b]  (False only for the padding rows of an evaluation batch)
  style          float32 [b, F], only when the source has style factors (synthetic data)
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import grain
import jax
import numpy as np

from ganxai_jax.data import iam_words
from ganxai_jax.data import text
from ganxai_jax.errors import UsageError

IMAGE_HEIGHT = iam_words.IMAGE_HEIGHT
WIDTH_PER_CHAR = iam_words.WIDTH_PER_CHAR
_UNBOUNDED_EPOCHS = 1_000_000


def scale_image(image: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] to float32 [-1, 1]: white 255 becomes +1, black 0 becomes -1."""
  return image.astype(np.float32) / 127.5 - 1.0


def example_lengths(source: Sequence[Mapping[str, Any]]) -> np.ndarray:
  """Number of characters of every example of a random-access source (reads each once)."""
  return np.array([len(source[i]["labels"]) for i in range(len(source))], dtype=np.int32)


def bucket_of_length(lengths: np.ndarray, bucket_size: int) -> np.ndarray:
  """Bucket index of each length: lengths 1..bucket_size go to bucket 0, and so on."""
  if bucket_size < 1:
    raise ValueError(f"bucket_size must be at least 1, got {bucket_size}.")
  return (np.asarray(lengths) - 1) // bucket_size


def bucket_max_length(bucket: int, bucket_size: int) -> int:
  """The largest word length of a bucket, which sets the padded width of its batches."""
  return (bucket + 1) * bucket_size


def epoch_batches(lengths: np.ndarray, batch_size: int, bucket_size: int, seed: int, epoch: int,
                  shuffle: bool = True, drop_remainder: bool = True) -> list[np.ndarray]:
  """The global batches (arrays of example indices) of one epoch, grouped by length bucket.

  Without `drop_remainder`, a bucket's last batch may be shorter than `batch_size`.
  """
  buckets = bucket_of_length(lengths, bucket_size)
  rng = np.random.default_rng([seed, epoch])
  batches = []
  for bucket in np.unique(buckets):
    members = np.flatnonzero(buckets == bucket)
    if shuffle:
      members = rng.permutation(members)
    stop = len(members) - len(members) % batch_size if drop_remainder else len(members)
    batches.extend(members[i:i + batch_size] for i in range(0, stop, batch_size))
  if shuffle:
    batches = [batches[i] for i in rng.permutation(len(batches))]
  return batches


class _BatchIndices(Sequence):
  """Batch k of the whole run, as the example indices of this process's slice.

  A plain random-access sequence, so that grain's `MapDataset.source` can index it.
  """

  def __init__(self, lengths: np.ndarray, batch_size: int, bucket_size: int, seed: int,
               shuffle: bool, drop_remainder: bool, num_epochs: int | None, process_index: int,
               process_count: int):
    self._args = (lengths, batch_size, bucket_size, seed, shuffle, drop_remainder)
    self._batches_per_epoch = len(epoch_batches(lengths, batch_size, bucket_size, seed, 0,
                                                shuffle, drop_remainder))
    if self._batches_per_epoch == 0:
      # A data folder too small for the batch is bad input, not a bug: a one-line error.
      raise UsageError(f"batch size {batch_size}: no complete batch fits in any length bucket "
                       f"(bucket_size={bucket_size}) of the {len(lengths)} words of this split; "
                       f"lower the batch size or raise bucket_size.")
    self._num_epochs = _UNBOUNDED_EPOCHS if num_epochs is None else num_epochs
    self._batch_size = batch_size
    self._process_index = process_index
    self._process_count = process_count
    self._cached_epoch: tuple[int, list[np.ndarray]] | None = None

  def _epoch(self, epoch: int) -> list[np.ndarray]:
    # Batches are read in order, so keeping the current epoch's list avoids recomputing it per batch.
    cached = self._cached_epoch
    if cached is None or cached[0] != epoch:
      lengths, batch_size, bucket_size, seed, shuffle, drop_remainder = self._args
      cached = (epoch, epoch_batches(lengths, batch_size, bucket_size, seed, epoch, shuffle,
                                     drop_remainder))
      self._cached_epoch = cached
    return cached[1]

  def __len__(self) -> int:
    return self._batches_per_epoch * self._num_epochs

  def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
    if not 0 <= index < len(self):
      raise IndexError(index)
    epoch, position = divmod(int(index), self._batches_per_epoch)
    batch = self._epoch(epoch)[position]
    per_process = self._batch_size // self._process_count
    start = self._process_index * per_process
    lengths, bucket_size = self._args[0], self._args[2]
    # The bucket rides along so that a short (evaluation) slice still pads to the bucket's width.
    bucket = int(bucket_of_length(lengths[batch[0]], bucket_size))
    return batch[start:start + per_process], bucket


class _CollateBatch:
  """Loads a slice of example indices and pads them into one fixed-shape batch of the bucket."""

  def __init__(self, source: Sequence[Mapping[str, Any]], rows: int, bucket_size: int):
    self._source = source
    self._rows = rows
    self._bucket_size = bucket_size
    first = source[0]
    self._style_size = len(first["style"]) if "style" in first else None

  def __call__(self, indices_and_bucket: tuple[np.ndarray, int]) -> dict[str, np.ndarray]:
    indices, bucket = indices_and_bucket
    max_length = bucket_max_length(bucket, self._bucket_size)
    return collate([self._source[int(i)] for i in indices], rows=self._rows, max_length=max_length,
                   style_size=self._style_size)


def collate(examples: Sequence[Mapping[str, Any]], rows: int, max_length: int,
            style_size: int | None = None) -> dict[str, np.ndarray]:
  """Pads examples into a batch of `rows` rows, `max_length` characters and 16·max_length columns.

  Rows beyond `len(examples)` are white, blank-labelled and marked `valid = False`. With
  `style_size`, the batch carries the examples' `style` vectors (zeros in padding rows).
  """
  width = WIDTH_PER_CHAR * max_length
  images = np.full((rows, IMAGE_HEIGHT, width, 1), 255, dtype=np.uint8)
  labels = np.full((rows, max_length), text.BLANK_ID, dtype=np.int32)
  label_lengths = np.zeros((rows,), dtype=np.int32)
  image_widths = np.zeros((rows,), dtype=np.int32)
  writers = np.full((rows,), -1, dtype=np.int32)
  valid = np.zeros((rows,), dtype=bool)
  has_style = style_size is not None
  styles = np.zeros((rows, style_size), np.float32) if has_style else None
  for row, example in enumerate(examples):
    image, label = np.asarray(example["image"]), np.asarray(example["labels"])
    if len(label) > max_length or image.shape[1] > width:
      raise ValueError(f"Example of {len(label)} characters and width {image.shape[1]} does not fit "
                       f"a bucket of {max_length} characters.")
    images[row, :, :image.shape[1]] = image.reshape(IMAGE_HEIGHT, image.shape[1], 1)
    labels[row, :len(label)] = label
    label_lengths[row] = len(label)
    image_widths[row] = image.shape[1]
    writers[row] = int(example.get("writer", -1))
    valid[row] = True
    if has_style:
      styles[row] = example["style"]
  batch = {"image": scale_image(images), "labels": labels, "label_lengths": label_lengths,
           "image_widths": image_widths, "writer": writers, "valid": valid}
  if has_style:
    batch["style"] = styles
  return batch


def make_words_dataset(source: Sequence[Mapping[str, Any]], batch_size: int, bucket_size: int = 1,
                       seed: int = 0, shuffle: bool = True, drop_remainder: bool = True,
                       num_epochs: int | None = None, lengths: np.ndarray | None = None,
                       process_index: int | None = None, process_count: int | None = None,
                       num_threads: int = 1) -> grain.IterDataset:
  """A grain `IterDataset` of bucketed, padded, process-sharded word batches (see module doc).

  Args:
    source: random-access examples with `image` uint8 [32, w, 1], `labels` int32 [n] and `writer`
      (e.g. `builder.as_data_source('train')`); `style` is passed on when present.
    batch_size: the global batch size, a multiple of the process count.
    bucket_size: how many consecutive word lengths share one padded shape (1: exact lengths).
    seed: seeds the shuffles; the same seed gives the same batches.
    shuffle, drop_remainder: False, False for evaluation (every example exactly once; a bucket's last
      batch is padded with rows whose `valid` is False).
    num_epochs: None repeats without end.
    lengths: the examples' lengths if already known (saves reading the source once).
    process_index, process_count: default to `jax.process_index()` and `jax.process_count()`.
    num_threads: grain read threads (0 reads in the calling thread).
  """
  process_index = jax.process_index() if process_index is None else process_index
  process_count = jax.process_count() if process_count is None else process_count
  if batch_size % process_count:
    raise ValueError(f"batch_size {batch_size} is not a multiple of the {process_count} processes.")
  lengths = example_lengths(source) if lengths is None else np.asarray(lengths)
  batch_indices = _BatchIndices(lengths, batch_size, bucket_size, seed, shuffle, drop_remainder,
                                num_epochs, process_index, process_count)
  dataset = grain.MapDataset.source(batch_indices).map(
      _CollateBatch(source, batch_size // process_count, bucket_size))
  return dataset.to_iter_dataset(grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=2))
