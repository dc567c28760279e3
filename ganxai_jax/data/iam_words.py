"""The IAM handwriting words database as a TFDS data set (manual download), without TensorFlow.

Reads the release as distributed by the University of Bern (registration needed, so nothing is
downloaded here): `words.txt` and the word images `words/a01/a01-000u/a01-000u-00-00.png`, plus
`forms.txt` for writer ids when present. Preprocessing follows ScrabbleGAN:

* words whose segmentation is `er` are dropped (configurable: `keep_segmentation_errors`);
* words that are only punctuation (no letter or digit) are dropped, as are words with characters
  outside the 80-symbol alphabet (none in the real release);
* images are resized to height 32 and width 16 × number of characters; before that, a word whose
  width per character after scaling to height 32 lies outside [5.33, 48] pixels is dropped as a
  segmentation outlier (thresholds configurable);
* images are stored as uint8 `[32, 16·n, 1]`, white background, and scaled to [-1, 1] by the input
  pipeline.

Unreadable, missing or empty image files are skipped and counted (logged at the end of each split);
they never stop the build. A malformed line of `words.txt` does stop it, with the file and line
number, since it means the file is not IAM's `words.txt`.

Splits: when the standard partition lists of IAM's "large writer independent text line recognition
task" are present (`trainset.txt`, `validationset1.txt`, `validationset2.txt`, `testset.txt`, in
the manual folder or its `largeWriterIndependentTextLineRecognitionTask/` subfolder), they define
train, validation (both validation lists) and test. Otherwise the split is writer-disjoint by a
stable hash of the writer id (of the form id when `forms.txt` is absent): `test_percent` of the
writers go to test (at least one writer when there are two or more, so that small folders have a
test split).
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import os
from typing import Iterator

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from PIL import Image

from ganxai_jax.data import text

# The word-image format of ScrabbleGAN, shared by every handwriting data set of this package.
IMAGE_HEIGHT = 32
WIDTH_PER_CHAR = 16
UNKNOWN_WRITER = -1

IAM_WORDS_INSTRUCTIONS = """\
Register at https://fki.tic.heia-fr.ch/databases/iam-handwriting-database, download `words.tgz` and
`ascii.tgz` by hand, unpack both into one folder and pass it as --config.manual_dir=FOLDER:
  FOLDER/words.txt                      (or FOLDER/ascii/words.txt)
  FOLDER/words/a01/a01-000u/a01-000u-00-00.png ...
  FOLDER/forms.txt                      (optional, or FOLDER/ascii/forms.txt: gives writer ids)
  FOLDER/trainset.txt validationset1.txt validationset2.txt testset.txt
                                        (optional standard partition; also accepted in
                                         FOLDER/largeWriterIndependentTextLineRecognitionTask/)"""

PARTITION_FILES = {
    "train": ("trainset.txt",),
    "validation": ("validationset1.txt", "validationset2.txt"),
    "test": ("testset.txt",),
}
_PARTITION_SUBFOLDER = "largeWriterIndependentTextLineRecognitionTask"


@dataclasses.dataclass(frozen=True)
class WordRecord:
  """One line of `words.txt`: the word's id, segmentation status and transcription."""
  word_id: str
  segmentation_ok: bool
  transcription: str

  @property
  def form_id(self) -> str:
    """`a01-000u` for word `a01-000u-00-00`."""
    return "-".join(self.word_id.split("-")[:2])

  @property
  def line_id(self) -> str:
    """`a01-000u-00` for word `a01-000u-00-00`."""
    return "-".join(self.word_id.split("-")[:3])

  def image_path(self, manual_dir: str) -> str:
    """Where IAM puts the word's image: `words/a01/a01-000u/a01-000u-00-00.png`."""
    part = self.word_id.split("-")[0]
    return os.path.join(manual_dir, "words", part, self.form_id, self.word_id + ".png")


def _find_file(manual_dir: str, name: str) -> str | None:
  for candidate in (os.path.join(manual_dir, name), os.path.join(manual_dir, "ascii", name)):
    if os.path.isfile(candidate):
      return candidate
  return None


def check_manual_dir(manual_dir: str) -> str:
  """Returns the path of `words.txt`, or raises FileNotFoundError saying what is missing."""
  if not manual_dir or not os.path.isdir(manual_dir):
    raise FileNotFoundError(f"IAM manual folder {manual_dir!r} does not exist.\n{IAM_WORDS_INSTRUCTIONS}")
  words_txt = _find_file(manual_dir, "words.txt")
  if words_txt is None:
    raise FileNotFoundError(f"IAM manual folder {manual_dir!r} has no words.txt (nor ascii/words.txt)."
                            f"\n{IAM_WORDS_INSTRUCTIONS}")
  if not os.path.isdir(os.path.join(manual_dir, "words")):
    raise FileNotFoundError(f"IAM manual folder {manual_dir!r} has no words/ image folder."
                            f"\n{IAM_WORDS_INSTRUCTIONS}")
  return words_txt


def parse_words_txt(path: str) -> list[WordRecord]:
  """Parses IAM's `words.txt`, skipping `#` comment lines and blank lines.

  A data line reads `a01-000u-00-00 ok 154 408 768 27 51 AT A`: id, segmentation (`ok` or `er`),
  grey level, bounding box x y w h, grammatical tag, transcription.

  Raises:
    ValueError: on a malformed line, naming the file and line number.
  """
  records = []
  with open(path, encoding="utf-8") as fh:
    for line_number, line in enumerate(fh, start=1):
      line = line.rstrip("\n")
      if not line.strip() or line.startswith("#"):
        continue
      fields = line.split(" ")
      problem = None
      if len(fields) < 9:
        problem = f"expected at least 9 space-separated fields, found {len(fields)}"
      elif fields[1] not in ("ok", "er"):
        problem = f"segmentation status is {fields[1]!r}, expected 'ok' or 'er'"
      elif len(fields[0].split("-")) != 4:
        problem = f"word id {fields[0]!r} is not of the form a01-000u-00-00"
      if problem:
        raise ValueError(f"{path}:{line_number}: malformed words.txt line ({problem}): {line!r}")
      # A transcription never holds a space in the release; joining keeps one intact if it did.
      records.append(WordRecord(fields[0], fields[1] == "ok", " ".join(fields[8:])))
  return records


def parse_forms_txt(path: str) -> dict[str, int]:
  """Maps form id to writer id from IAM's `forms.txt` (`a01-000u 000 2 prt 7 5 52 36`)."""
  writers = {}
  with open(path, encoding="utf-8") as fh:
    for line_number, line in enumerate(fh, start=1):
      if not line.strip() or line.startswith("#"):
        continue
      fields = line.split()
      if len(fields) < 2 or not fields[1].isdigit():
        raise ValueError(f"{path}:{line_number}: malformed forms.txt line: {line.rstrip()!r}")
      writers[fields[0]] = int(fields[1])
  return writers


def read_partition(manual_dir: str) -> dict[str, set[str]] | None:
  """Line ids of the standard partition lists, or None when they are not all present."""
  for folder in (manual_dir, os.path.join(manual_dir, _PARTITION_SUBFOLDER)):
    paths = {split: [os.path.join(folder, name) for name in names]
             for split, names in PARTITION_FILES.items()}
    if all(os.path.isfile(p) for ps in paths.values() for p in ps):
      partition = {}
      for split, split_paths in paths.items():
        ids = set()
        for p in split_paths:
          with open(p, encoding="utf-8") as fh:
            ids.update(line.strip() for line in fh if line.strip() and not line.startswith("#"))
        partition[split] = ids
      return partition
  return None


def is_punctuation_only(word: str) -> bool:
  """True when the word has no letter and no digit (ScrabbleGAN drops such words)."""
  return not any(c.isalnum() for c in word)


def hash_percent(key: str) -> int:
  """A stable hash of `key` into 0..99 (independent of Python's per-process hash seed)."""
  return int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % 100


def select_words(records: list[WordRecord], keep_segmentation_errors: bool
                 ) -> tuple[list[WordRecord], collections.Counter]:
  """Drops `er` words (unless kept), punctuation-only words and words outside the alphabet.

  Returns the kept records and the number dropped for each reason.
  """
  kept, dropped = [], collections.Counter()
  for record in records:
    word = record.transcription
    if not record.segmentation_ok and not keep_segmentation_errors:
      dropped["segmentation_error"] += 1
    elif not word or is_punctuation_only(word):
      dropped["punctuation_only"] += 1
    elif text.unknown_characters(word):
      dropped["outside_alphabet"] += 1
    else:
      kept.append(record)
  return kept, dropped


def writer_disjoint_split(records: list[WordRecord], writers: dict[str, int], test_percent: int
                          ) -> dict[str, list[WordRecord]]:
  """Train/test by a stable hash of each word's writer (its form when the writer is unknown).

  Writers whose hash is below `test_percent` go to test. When that leaves test empty although there
  are at least two writers (small folders), the writer with the smallest hash goes to test.
  """
  def key(record: WordRecord) -> str:
    writer = writers.get(record.form_id)
    return f"writer{writer}" if writer is not None else f"form{record.form_id}"

  hashes = {k: hash_percent(k) for k in sorted({key(r) for r in records})}
  test_keys = {k for k, h in hashes.items() if h < test_percent}
  if not test_keys and len(hashes) >= 2 and test_percent > 0:
    test_keys = {min(hashes, key=lambda k: (hashes[k], k))}
  return {"train": [r for r in records if key(r) not in test_keys],
          "test": [r for r in records if key(r) in test_keys]}


def load_word_image(path: str, num_chars: int, min_width_per_char: float,
                    max_width_per_char: float) -> tuple[np.ndarray | None, str]:
  """Reads, checks and resizes one word image.

  Returns `(image, "ok")` with a uint8 `[32, 16·num_chars]` image, or `(None, reason)` where
  reason is 'missing', 'unreadable', 'empty' or 'width_outlier'.
  """
  if not os.path.isfile(path):
    return None, "missing"
  try:
    with Image.open(path) as image:
      image = image.convert("L")
      image.load()
  except (OSError, ValueError, Image.DecompressionBombError):
    return None, "unreadable"
  width, height = image.size
  if width == 0 or height == 0:
    return None, "empty"
  width_per_char = width * IMAGE_HEIGHT / height / num_chars
  if not min_width_per_char <= width_per_char <= max_width_per_char:
    return None, "width_outlier"
  resized = image.resize((WIDTH_PER_CHAR * num_chars, IMAGE_HEIGHT), Image.Resampling.BILINEAR)
  return np.asarray(resized, dtype=np.uint8), "ok"


@dataclasses.dataclass
class IamWordsConfig(tfds.core.BuilderConfig):
  """IAM preprocessing options (defaults: ScrabbleGAN's)."""
  keep_segmentation_errors: bool = False
  min_width_per_char: float = 5.33
  max_width_per_char: float = 48.0
  test_percent: int = 10


def iam_config(keep_segmentation_errors: bool = False, min_width_per_char: float = 5.33,
               max_width_per_char: float = 48.0, test_percent: int = 10) -> IamWordsConfig:
  """The builder config for these options; its name encodes them so prepared variants coexist."""
  options = (keep_segmentation_errors, float(min_width_per_char), float(max_width_per_char),
             int(test_percent))
  if options == (False, 5.33, 48.0, 10):
    name = "default"
  else:
    name = (f"er{int(options[0])}_w{options[1]:g}-{options[2]:g}_test{options[3]}"
            .replace(".", "p"))
  return IamWordsConfig(name=name, keep_segmentation_errors=options[0],
                        min_width_per_char=options[1], max_width_per_char=options[2],
                        test_percent=options[3])


def word_features(**extra: tfds.features.FeatureConnector) -> tfds.features.FeaturesDict:
  """The features every word data set stores, plus `extra` ones; all TensorFlow-free `Tensor`s.

  image uint8 [32, 16·n, 1] (white background), text (str), labels int32 [n] (ids 1..80), writer.
  """
  return tfds.features.FeaturesDict({
      "image": tfds.features.Tensor(shape=(IMAGE_HEIGHT, None, 1), dtype=np.uint8),
      "text": tfds.features.Tensor(shape=(), dtype=np.str_),
      "labels": tfds.features.Tensor(shape=(None,), dtype=np.int32),
      "writer": tfds.features.Tensor(shape=(), dtype=np.int32),
      **extra,
  })


class IamWords(tfds.core.GeneratorBasedBuilder):
  """IAM offline handwritten words, ScrabbleGAN preprocessing, from a folder the user provides."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = IAM_WORDS_INSTRUCTIONS
  BUILDER_CONFIGS = [iam_config()]
  DEFAULT_CONFIG_NAME = "default"

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=word_features(word_id=tfds.features.Tensor(shape=(), dtype=np.str_)),
        homepage="https://fki.tic.heia-fr.ch/databases/iam-handwriting-database",
        description="IAM handwritten words resized to height 32 and 16 pixels per character.")

  def _split_generators(self, dl_manager):
    manual_dir = str(dl_manager.manual_dir)
    words_txt = check_manual_dir(manual_dir)
    forms_txt = _find_file(manual_dir, "forms.txt")
    writers = parse_forms_txt(forms_txt) if forms_txt else {}
    records, skipped = select_words(parse_words_txt(words_txt),
                                    self.builder_config.keep_segmentation_errors)
    logging.info("iam_words: %d words selected by their transcription; dropped %s", len(records),
                 dict(skipped) or "none")
    partition = read_partition(manual_dir)
    if partition is not None:
      by_split = {split: [r for r in records if r.line_id in line_ids]
                  for split, line_ids in partition.items()}
    else:
      by_split = writer_disjoint_split(records, writers, self.builder_config.test_percent)
    # TFDS cannot write a split without examples (possible only for tiny folders).
    return {split: self._generate_examples(manual_dir, split_records, writers, split)
            for split, split_records in by_split.items() if split_records}

  def _generate_examples(self, manual_dir: str, records: list[WordRecord], writers: dict[str, int],
                         split: str) -> Iterator[tuple[str, dict]]:
    config = self.builder_config
    skipped: collections.Counter = collections.Counter()
    for record in records:
      word = record.transcription
      image, status = load_word_image(record.image_path(manual_dir), len(word),
                                      config.min_width_per_char, config.max_width_per_char)
      if image is None:
        skipped[status] += 1
        continue
      yield record.word_id, {
          "image": image[..., None],
          "text": word,
          "labels": text.encode(word),
          "writer": np.int32(writers.get(record.form_id, UNKNOWN_WRITER)),
          "word_id": record.word_id,
      }
    logging.info("iam_words %s: skipped %s", split, dict(skipped) or "nothing")
