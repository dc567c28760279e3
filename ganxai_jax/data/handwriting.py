"""Handwritten-word data sets from a config: prepare the TFDS builder, read splits, make batches.

The config keys are those of `configs/scrabble.py`: `dataset` ('synthetic_handwriting' or
'iam_words'), `synthetic_size`, `data_dir`, `manual_dir`, `seed`, `batch_size`, `bucket_size` and
the `iam` preprocessing options.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import grain
import ml_collections
import numpy as np
import tensorflow_datasets as tfds

from ganxai_jax.data import iam_words
from ganxai_jax.data import prepare as prepare_lib
from ganxai_jax.data import synthetic_handwriting
from ganxai_jax.data import words_pipeline

DATASETS = ("synthetic_handwriting", "iam_words")


def make_builder(config: ml_collections.ConfigDict) -> tfds.core.DatasetBuilder:
  """The TFDS builder named by `config.dataset`, reading and writing `array_record` files."""
  data_dir = os.path.expanduser(config.data_dir)
  if config.dataset == "synthetic_handwriting":
    return synthetic_handwriting.SyntheticHandwriting(
        config=config.synthetic_size, data_dir=data_dir, file_format="array_record")
  if config.dataset == "iam_words":
    iam_config = iam_words.iam_config(
        keep_segmentation_errors=config.iam.keep_segmentation_errors,
        min_width_per_char=config.iam.min_width_per_char,
        max_width_per_char=config.iam.max_width_per_char,
        test_percent=config.iam.test_percent)
    # TFDS refuses a config object that shares a registered config's name: pass the name then.
    registered = {c.name for c in iam_words.IamWords.BUILDER_CONFIGS}
    return iam_words.IamWords(config=iam_config.name if iam_config.name in registered else iam_config,
                              data_dir=data_dir, file_format="array_record")
  raise ValueError(f"Unknown dataset {config.dataset!r}; choose one of {DATASETS}.")


def prepare(config: ml_collections.ConfigDict) -> tfds.core.DatasetBuilder:
  """Prepares the data set once into `data_dir` (a no-op when already there) and returns its builder."""
  manual_dir = None
  if config.dataset == "iam_words":
    if not config.manual_dir:
      raise FileNotFoundError("dataset=iam_words needs --config.manual_dir=FOLDER.\n"
                              + iam_words.IAM_WORDS_INSTRUCTIONS)
    manual_dir = os.path.expanduser(config.manual_dir)
    iam_words.check_manual_dir(manual_dir)  # A clear error before TFDS's own.
  return prepare_lib.prepare(lambda: make_builder(config), manual_dir)


def load_split(config: ml_collections.ConfigDict, split: str) -> Sequence[Mapping[str, Any]]:
  """A random-access source of one split's examples (prepares the data set first if needed)."""
  builder = prepare(config)
  if split not in builder.info.splits:
    raise ValueError(f"{config.dataset} has no split {split!r}; it has {list(builder.info.splits)}.")
  return builder.as_data_source(split)


def make_batches(config: ml_collections.ConfigDict, source: Sequence[Mapping[str, Any]],
                 batch_size: int, train: bool, lengths: np.ndarray | None = None) -> grain.IterDataset:
  """Bucketed batches of `source`: shuffled and endless for training, one padded pass otherwise."""
  return words_pipeline.make_words_dataset(
      source, batch_size=batch_size, bucket_size=config.bucket_size, seed=config.seed,
      shuffle=train, drop_remainder=train, num_epochs=None if train else 1, lengths=lengths)


def scan_lengths_and_writers(source: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
  """Word length and writer id of every example (one pass over the source)."""
  lengths = np.empty(len(source), np.int32)
  writers = np.empty(len(source), np.int32)
  for i in range(len(source)):
    example = source[i]
    lengths[i] = len(example["labels"])
    writers[i] = int(example["writer"])
  return lengths, writers


def writer_samples(source: Sequence[Mapping[str, Any]], writers: np.ndarray, num_writers: int,
                   words_per_writer: int) -> tuple[list[int], list[list[np.ndarray]], list[list[str]]]:
  """The first `words_per_writer` images and texts of each of the first `num_writers` writers.

  Writers are taken in increasing id order; returns (writer ids, images per writer, texts per writer).
  """
  chosen = [int(w) for w in np.unique(writers)[:num_writers]]
  images, texts = [], []
  for writer in chosen:
    members = np.flatnonzero(writers == writer)[:words_per_writer]
    examples = [source[int(i)] for i in members]
    images.append([np.asarray(e["image"]) for e in examples])
    texts.append([e["text"].decode("utf-8") if isinstance(e["text"], bytes) else str(e["text"])
                  for e in examples])
  return chosen, images, texts


def length_histogram(lengths: np.ndarray) -> dict[int, int]:
  """Number of words of each length, for the lengths that occur."""
  counts = np.bincount(np.asarray(lengths))
  return {int(n): int(c) for n, c in enumerate(counts) if c}
