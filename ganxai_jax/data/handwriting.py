"""Handwritten-word data sets from a config: prepare the TFDS builder, read splits, make batches.

The config keys are those of `configs/scrabble.py`: `dataset` ('synthetic_handwriting',
'iam_words', 'rimes_words' or 'cvl_words'), `synthetic_size`, `data_dir`, `manual_dir`, `seed`,
`batch_size`, `bucket_size` and the `iam`, `rimes` and `cvl` preprocessing options.

The models read and write the 80-symbol IAM alphabet (`text.ALPHABET`) unless `config.alphabet`
names an alphabet file (`text.alphabet_of`). With IAM's alphabet, RIMES and CVL keep by default
only the words written in it (their option `alphabet` 'iam': other words dropped and counted, labels
in IAM's ids); their own alphabet only serves to look at the data, and `check_model_alphabet` and
`load_split`, which feeds the models, refuse it. With a custom alphabet, `load_split` gives the words
written in it, labels re-encoded from their text (`AlphabetWords`): IAM is prepared in that alphabet,
RIMES and CVL in their own, the synthetic words as they are, and the words with other characters
are dropped, counted and logged.
"""
from __future__ import annotations

import collections
import json
import os
from typing import Any, Mapping, Sequence

from absl import logging

import grain
import ml_collections
import numpy as np
import tensorflow_datasets as tfds

from ganxai_jax.data import cvl_words
from ganxai_jax.data import iam_words
from ganxai_jax.data import prepare as prepare_lib
from ganxai_jax.data import rimes_words
from ganxai_jax.data import synthetic_handwriting
from ganxai_jax.data import text
from ganxai_jax.data import unlabeled
from ganxai_jax.data import words_pipeline
from ganxai_jax.errors import ConfigError

DATASETS = ("synthetic_handwriting", "iam_words", "rimes_words", "cvl_words")
# Where semi-supervised training finds D's unlabeled words (config.unlabeled.source): none, a folder of
# word images, or the labeled data set's own train split read without its labels.
UNLABELED_SOURCES = ("", "folder", "train_split")
# The data sets read from a folder the user downloaded: what checks the folder, what it must hold.
MANUAL_DATASETS = {
    "iam_words": (iam_words.check_manual_dir, iam_words.IAM_WORDS_INSTRUCTIONS),
    "rimes_words": (rimes_words.check_manual_dir, rimes_words.RIMES_WORDS_INSTRUCTIONS),
    "cvl_words": (cvl_words.check_manual_dir, cvl_words.CVL_WORDS_INSTRUCTIONS),
}
# The data sets with an alphabet option: their builder and config section.
_ALPHABET_DATASETS = {"rimes_words": (rimes_words.RimesWords, "rimes"),
                      "cvl_words": (cvl_words.CvlWords, "cvl")}


def _builder(cls: type, builder_config: tfds.core.BuilderConfig, data_dir: str
             ) -> tfds.core.DatasetBuilder:
  # TFDS refuses a config object that shares a registered config's name: pass the name then.
  registered = {c.name for c in cls.BUILDER_CONFIGS}
  config = builder_config.name if builder_config.name in registered else builder_config
  return cls(config=config, data_dir=data_dir, file_format="array_record")


def make_builder(config: ml_collections.ConfigDict) -> tfds.core.DatasetBuilder:
  """The TFDS builder named by `config.dataset`, reading and writing `array_record` files."""
  data_dir = os.path.expanduser(config.data_dir)
  if config.dataset == "synthetic_handwriting":
    return synthetic_handwriting.SyntheticHandwriting(
        config=config.synthetic_size, data_dir=data_dir, file_format="array_record")
  alphabet = text.alphabet_of(config)
  if config.dataset == "iam_words":
    iam_config = iam_words.iam_config(
        keep_segmentation_errors=config.iam.keep_segmentation_errors,
        min_width_per_char=config.iam.min_width_per_char,
        max_width_per_char=config.iam.max_width_per_char,
        test_percent=config.iam.test_percent, alphabet=alphabet.symbols)
    return _builder(iam_words.IamWords, iam_config, data_dir)
  if config.dataset in _ALPHABET_DATASETS:
    cls, section = _ALPHABET_DATASETS[config.dataset]
    options = config[section]
    # A custom model alphabet: the release's words in its own alphabet, then those written in the
    # model's (`load_split`).
    release_alphabet = options.alphabet if alphabet.is_iam else section
    return _builder(cls, iam_words.words_config(release_alphabet, options.min_width_per_char,
                                                options.max_width_per_char), data_dir)
  raise ValueError(f"Unknown dataset {config.dataset!r}; choose one of {DATASETS}.")


def prepare(config: ml_collections.ConfigDict) -> tfds.core.DatasetBuilder:
  """Prepares the data set once into `data_dir` (a no-op when already there) and returns its builder."""
  manual_dir = None
  if config.dataset in MANUAL_DATASETS:
    check_manual_dir, instructions = MANUAL_DATASETS[config.dataset]
    if not config.manual_dir:
      raise FileNotFoundError(f"dataset={config.dataset} needs --config.manual_dir=FOLDER.\n"
                              + instructions)
    manual_dir = os.path.expanduser(config.manual_dir)
    check_manual_dir(manual_dir)  # A clear error before TFDS's own.
  return prepare_lib.prepare(lambda: make_builder(config), manual_dir)


def check_model_alphabet(config: ml_collections.ConfigDict) -> None:
  """Raises `ConfigError` (a `UsageError`, one line) when the configured data set keeps words with
  characters outside the 80-symbol IAM alphabet, which every model of this package reads and
  writes: RIMES or CVL with their own alphabet. Training and evaluation commands call it."""
  if config.dataset not in _ALPHABET_DATASETS or not text.alphabet_of(config).is_iam:
    return
  section = _ALPHABET_DATASETS[config.dataset][1]
  alphabet = config[section].alphabet
  if alphabet != "iam":
    raise ConfigError(
        f"config.{section}.alphabet={alphabet!r}: the models read and write the 80-symbol IAM "
        f"alphabet, which lacks characters of {config.dataset}; train with "
        f"--config.{section}.alphabet=iam (words with other characters are dropped and counted), or "
        f"give the models an alphabet file that has them with --config.alphabet=FILE; {alphabet!r} "
        "alone is for looking at the data with experiments.show_data")


def load_split(config: ml_collections.ConfigDict, split: str) -> Sequence[Mapping[str, Any]]:
  """A random-access source of one split's examples for a model (prepares the data set first if
  needed); RIMES or CVL in their own alphabet raise `ConfigError` (`check_model_alphabet`)."""
  check_model_alphabet(config)
  builder = prepare(config)
  if split not in builder.info.splits:
    raise ValueError(f"{config.dataset} has no split {split!r}; it has {list(builder.info.splits)}.")
  source = builder.as_data_source(split)
  alphabet = text.alphabet_of(config)
  if alphabet.is_iam:
    return source
  words = AlphabetWords(source, alphabet)
  logging.info("%s %s: %d of %d words are written in %s; dropped for other characters: %s",
               config.dataset, split, len(words), len(source), alphabet.name,
               dict(words.dropped_characters.most_common(10)) or "none")
  if not len(words):
    raise ConfigError(f"config.alphabet={config.alphabet!r}: no word of the {split} split of "
                      f"{config.dataset} is written in it (the most common other characters: "
                      f"{''.join(c for c, _ in words.dropped_characters.most_common(10))!r}); "
                      "the alphabet must hold the data set's characters")
  return words


def record_alphabet(config: ml_collections.ConfigDict, workdir: str) -> text.Alphabet:
  """The alphabet of `config` (`text.alphabet_of`), written into it as `alphabet_symbols` when custom,
  so that the run's config.json carries the symbols and the run reads and writes them even if the
  alphabet file changes or goes away. A run resumed with an alphabet file whose symbols differ from
  those it was started with gets a `ConfigError`. The train commands call it before training."""
  try:
    alphabet = text.alphabet_of(config)
  except (OSError, ValueError) as e:
    raise ConfigError(f"config.alphabet={config.get('alphabet')!r}: {e}") from e
  config_file = os.path.join(workdir, "config.json")
  if os.path.exists(config_file):
    started_with = json.loads(open(config_file, encoding="utf-8").read()).get("alphabet_symbols") or text.ALPHABET
    if started_with != alphabet.symbols:
      raise ConfigError(f"config.alphabet={config.get('alphabet', '')!r}: the run in {workdir!r} was started with "
                        f"another alphabet ({len(started_with)} symbols, this one has {alphabet.num_symbols}); "
                        "resume it with the same alphabet or start a new workdir")
  if not alphabet.is_iam:
    with config.unlocked():
      config.alphabet_symbols = alphabet.symbols
  return alphabet


def example_text(example: Mapping[str, Any]) -> str:
  """An example's transcription as a str (TFDS gives bytes or str)."""
  value = example["text"]
  return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class AlphabetWords(Sequence):
  """The examples of `source` whose text is written in `alphabet`, their `labels` re-encoded in its
  ids (one pass over the source to select them). `dropped_characters` counts, over the dropped
  words, the characters outside the alphabet."""

  def __init__(self, source: Sequence[Mapping[str, Any]], alphabet: text.Alphabet):
    self._source = source
    self._alphabet = alphabet
    kept = []
    self.dropped_characters: collections.Counter = collections.Counter()
    for i in range(len(source)):
      unknown = alphabet.unknown_characters(example_text(source[i]))
      if unknown:
        self.dropped_characters.update(unknown)
      else:
        kept.append(i)
    self._indices = np.asarray(kept, np.int64)

  def __len__(self) -> int:
    return len(self._indices)

  def __getitem__(self, index: int) -> Mapping[str, Any]:
    example = dict(self._source[int(self._indices[index])])
    example["labels"] = self._alphabet.encode(example_text(example))
    return example


def split_rule(config: ml_collections.ConfigDict) -> str:
  """How the configured data set's train and test splits were made, in words, for eval.json."""
  if config.dataset == "synthetic_handwriting":
    return "synthetic writers, disjoint between train and test (the builder's fixed split)"
  builder = prepare(config)
  rule = builder.info.metadata.get("split_rule")
  if rule:
    return rule
  if config.dataset == "iam_words":  # Prepared before the rule was recorded.
    return "not recorded (prepared by an earlier version of the builder)"
  return f"the release's own sets ({config.dataset}; see ganxai_jax/data/{config.dataset}.py)"


def semi_supervised_sources(config: ml_collections.ConfigDict, train_source: Sequence[Mapping[str, Any]]
                            ) -> tuple[Sequence[Mapping[str, Any]], np.ndarray | None,
                                       unlabeled.UnlabeledImages | None]:
  """The labeled words (R's, and D's unless unlabeled words are configured), their lengths if known, and
  D's unlabeled words, from `config.unlabeled` (absent in run folders from before it: none).

  `source='folder'` reads `config.unlabeled.folder`; `'train_split'` reads the train split's images
  without labels, all of them, or with `disjoint` the other half of its writers than the labeled
  words (`unlabeled.writer_halves`)."""
  options = config.get("unlabeled")
  if options is None or not options.source:
    return train_source, None, None
  if options.source == "folder":
    images, lengths, dropped = unlabeled.read_folder(os.path.expanduser(options.folder),
                                                     config.lexicon_max_length)
    return train_source, None, unlabeled.UnlabeledImages(
        images.__getitem__, lengths, config.seed, config.bucket_size,
        f"{len(images)} word images of {options.folder} (dropped: {dict(dropped) or 'none'})")
  if options.source != "train_split":
    raise ValueError(f"Unknown unlabeled source {options.source!r}; choose one of {UNLABELED_SOURCES}.")
  lengths, writers = scan_lengths_and_writers(train_source)
  image_of = lambda i: np.asarray(train_source[i]["image"])
  if not options.disjoint:
    return train_source, lengths, unlabeled.UnlabeledImages(
        image_of, lengths, config.seed, config.bucket_size,
        f"the {len(lengths)} training words of {config.dataset}, read without their labels")
  labeled = unlabeled.writer_halves(writers)
  if labeled.all() or not labeled.any():
    raise ConfigError(f"config.unlabeled.disjoint=True: the train split of {config.dataset} has "
                      f"{len(np.unique(writers))} writer(s), too few to split into a labeled and an unlabeled half")
  kept, others = np.flatnonzero(labeled), np.flatnonzero(~labeled)
  return unlabeled.Subset(train_source, kept), lengths[kept], unlabeled.UnlabeledImages(
      lambda i: image_of(int(others[i])), lengths[others], config.seed, config.bucket_size,
      f"{len(others)} training words of {config.dataset} by {len(np.unique(writers[others]))} writers, "
      f"read without their labels; the other {len(kept)} words, by "
      f"{len(np.unique(writers[kept]))} other writers, are the labeled ones")


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
    texts.append([example_text(e) for e in examples])
  return chosen, images, texts


def style_words(source: Sequence[Mapping[str, Any]], writers: np.ndarray, num_writers: int,
                min_length: int) -> list[tuple[int, str, np.ndarray]]:
  """One word per writer for style transfer: for each of the first `num_writers` writers (in increasing
  id order) that wrote one, their first word of at least `min_length` letters and letters only (a
  longer word shows more of a hand, and its text is a safe file name). Returns `(writer, text, image)`."""
  chosen = []
  for writer in np.unique(writers):
    if len(chosen) == num_writers:
      break
    for i in np.flatnonzero(writers == writer):
      example = source[int(i)]
      text = example_text(example)
      if len(text) >= min_length and text.isascii() and text.isalpha():
        chosen.append((int(writer), text, np.asarray(example["image"])))
        break
  return chosen


def scan_lengths_and_capitals(source: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
  """Word length of every example and whether its first character is an upper-case letter (one pass)."""
  lengths = np.empty(len(source), np.int32)
  capitalised = np.zeros(len(source), bool)
  for i in range(len(source)):
    example = source[i]
    lengths[i] = len(np.asarray(example["labels"]))
    capitalised[i] = example_text(example)[:1].isupper()
  return lengths, capitalised


def length_histogram(lengths: np.ndarray) -> dict[int, int]:
  """Number of words of each length, for the lengths that occur."""
  counts = np.bincount(np.asarray(lengths))
  return {int(n): int(c) for n, c in enumerate(counts) if c}
