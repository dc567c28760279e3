"""The IAM handwriting words database as a TFDS data set (manual download), without TensorFlow.

Reads the release as distributed by the University of Bern (registration needed, so nothing is
downloaded here): `words.txt` and the word images `words/a01/a01-000u/a01-000u-00-00.png`, plus
`forms.txt` for writer ids when present.

`words.txt`: `#` lines are its header. Its header documents ten fields,
`a01-000u-00-00 ok 154 1 408 768 27 51 AT A` (word id, segmentation result, graylevel, number of
components, bounding box x y w h, grammatical tag, transcription), but the data lines of the
release leave the number of components out: `a01-000u-00-00 ok 154 408 768 27 51 AT A` (nine
fields). Both forms are read: the transcription is always the last field and the grammatical tag
the one before it; the number of components is kept when present. The header names the bad
segmentation result `er`; the data lines write `err`; both are read. A line with another number of
fields, another segmentation result, a malformed word id or a non-integer graylevel, count or
bounding box stops the build with the file and line number, since it means the file is not IAM's
`words.txt`.

`forms.txt` (`a01-000u 000 2 prt 7 5 52 36`): form id, writer id (zero-padded, read as an int),
number of sentences, word segmentation (`prt` or `all`), lines, lines correctly segmented, words,
words in correctly segmented lines. A malformed line stops the build likewise.

Preprocessing follows ScrabbleGAN:

* words whose segmentation is bad (`err`) are dropped (configurable: `keep_segmentation_errors`);
* words that are only punctuation (no letter or digit) are dropped, as are words with characters
  outside the 80-symbol alphabet (none in the real release);
* images are resized to height 32 and width 16 × number of characters; before that, a word whose
  width per character after scaling to height 32 lies outside [5.33, 48] pixels is dropped as a
  segmentation outlier (thresholds configurable);
* images are stored as uint8 `[32, 16·n, 1]`, white background, and scaled to [-1, 1] by the input
  pipeline.

Unreadable, missing or empty image files are skipped; they never stop the build. Every dropped
word is counted by reason (`DROP_REASONS`), split by split; the counts are logged at the end of each
split, kept in the builder's `dropped` attribute and written to the data set's metadata
(`builder.info.metadata["dropped"]`). Each example keeps the word's grammatical tag (feature `tag`,
a string such as `AT`, `NN` or `.`, of IAM's tagset.txt) and its `word_id`.

Splits: when the standard partition lists of IAM's "large writer independent text line recognition
task" are present (`trainset.txt`, `validationset1.txt`, `validationset2.txt`, `testset.txt`, in
the manual folder or its `largeWriterIndependentTextLineRecognitionTask/` subfolder), they define
train, validation (both validation lists) and test. They list line ids (`a01-000u-00`), one a line;
a word goes to the split that lists its line, and words of lines that no list names are dropped as
`not_in_partition`. Otherwise the split is writer-disjoint by a stable hash of the writer id (of the
form id when `forms.txt` is absent): `test_percent` of the writers go to test (at least one writer
when there are two or more, so that small folders have a test split).

The other word data sets (`rimes_words`, `cvl_words`) share this preprocessing through
`text_drop_reason`, `load_word_image`, `WordImagesBuilder` and `AlphabetWordsBuilder`.
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import os
from typing import Iterable, Iterator

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


# Why words are dropped, in the order they are checked; every dropped word counts under one reason.
DROP_REASONS = (
    "not_in_partition",    # Its line is in none of the standard partition lists (when present).
    "segmentation_error",  # `err` in words.txt (unless keep_segmentation_errors).
    "punctuation_only",    # No letter or digit, e.g. `.` or `,`.
    "outside_alphabet",    # A character outside the alphabet (IAM's 80 symbols unless configured).
    "missing",             # No image file.
    "unreadable",          # The image file cannot be decoded.
    "empty",               # The image has no pixels.
    "width_outlier",       # Width per character after scaling to height 32 outside the bounds.
)

# The segmentation results of words.txt: its header names the bad one `er`, its data lines `err`.
_SEGMENTATION_OK = "ok"
_SEGMENTATION_ERROR = ("er", "err")


@dataclasses.dataclass(frozen=True)
class WordRecord:
  """One data line of `words.txt`.

  `num_components` is None when the line leaves it out, as the release's data lines do.
  """
  word_id: str
  segmentation_ok: bool
  transcription: str
  tag: str = ""
  graylevel: int = -1
  num_components: int | None = None
  bbox: tuple[int, int, int, int] = (-1, -1, -1, -1)

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


@dataclasses.dataclass(frozen=True)
class FormRecord:
  """One data line of `forms.txt`: `a01-000u 000 2 prt 7 5 52 36`."""
  form_id: str
  writer: int
  num_sentences: int
  segmentation: str  # 'prt' (some lines correctly segmented) or 'all'.
  num_lines: int
  num_lines_ok: int
  num_words: int
  num_words_ok: int


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


def _is_int(field: str) -> bool:
  return field.lstrip("-").isdigit()


def parse_words_line(line: str) -> tuple[WordRecord | None, str | None]:
  """Parses one data line of `words.txt`: `(record, None)`, or `(None, what is wrong with it)`.

  Nine fields as the release's data lines read (`a01-000u-00-00 ok 154 408 768 27 51 AT A`), or
  ten as its header's example reads (`a01-000u-00-00 ok 154 1 408 768 27 51 AT A`, with the number
  of components after the graylevel). The transcription is the last field, the tag the one before.
  """
  fields = line.split()
  if len(fields) not in (9, 10):
    return None, (f"expected 9 fields (id, segmentation, graylevel, x, y, w, h, tag, transcription) "
                  f"or 10 (with the number of components after the graylevel), found {len(fields)}")
  if fields[1] != _SEGMENTATION_OK and fields[1] not in _SEGMENTATION_ERROR:
    return None, f"segmentation result is {fields[1]!r}, expected 'ok', 'err' or 'er'"
  if len(fields[0].split("-")) != 4:
    return None, f"word id {fields[0]!r} is not of the form a01-000u-00-00"
  numbers = fields[2:-2]
  if not all(_is_int(f) for f in numbers):
    return None, f"graylevel, components and bounding box {' '.join(numbers)!r} are not all integers"
  values = [int(f) for f in numbers]
  graylevel, num_components = values[0], (values[1] if len(values) == 6 else None)
  return WordRecord(word_id=fields[0], segmentation_ok=fields[1] == _SEGMENTATION_OK,
                    transcription=fields[-1], tag=fields[-2], graylevel=graylevel,
                    num_components=num_components, bbox=tuple(values[-4:])), None


def parse_words_txt(path: str) -> list[WordRecord]:
  """Parses IAM's `words.txt` (see `parse_words_line`), skipping `#` header lines and blank lines.

  Raises:
    ValueError: on a malformed line, naming the file and line number.
  """
  records = []
  with open(path, encoding="utf-8") as fh:
    for line_number, line in enumerate(fh, start=1):
      line = line.rstrip("\r\n")
      if not line.strip() or line.startswith("#"):
        continue
      record, problem = parse_words_line(line)
      if problem:
        raise ValueError(f"{path}:{line_number}: malformed words.txt line ({problem}): {line!r}")
      records.append(record)
  return records


def parse_forms_txt(path: str) -> dict[str, FormRecord]:
  """Maps form id to its line of IAM's `forms.txt` (`a01-000u 000 2 prt 7 5 52 36`).

  Raises:
    ValueError: on a malformed line (not eight fields, a non-numeric count or writer id), naming
      the file and line number.
  """
  forms = {}
  with open(path, encoding="utf-8") as fh:
    for line_number, line in enumerate(fh, start=1):
      if not line.strip() or line.startswith("#"):
        continue
      fields = line.split()
      numeric = [fields[i] for i in (1, 2, 4, 5, 6, 7)] if len(fields) == 8 else []
      if len(fields) != 8:
        problem = f"expected 8 fields, found {len(fields)}"
      elif not all(f.isdigit() for f in numeric):
        problem = "writer id and counts must be non-negative integers"
      else:
        problem = None
      if problem:
        raise ValueError(f"{path}:{line_number}: malformed forms.txt line ({problem}): "
                         f"{line.rstrip()!r}")
      forms[fields[0]] = FormRecord(fields[0], int(fields[1]), int(fields[2]), fields[3],
                                    int(fields[4]), int(fields[5]), int(fields[6]), int(fields[7]))
  return forms


def form_writers(forms: dict[str, FormRecord]) -> dict[str, int]:
  """Form id -> writer id."""
  return {form_id: form.writer for form_id, form in forms.items()}


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


def text_drop_reason(word: str, alphabet: str = text.ALPHABET) -> str | None:
  """Why ScrabbleGAN's preprocessing drops a transcription, or None to keep it.

  'punctuation_only' for an empty word or one without a letter or digit, 'outside_alphabet' for a
  word with a character that `alphabet` lacks. Every word data set of this package selects by it.
  """
  if not word or is_punctuation_only(word):
    return "punctuation_only"
  if any(char not in alphabet for char in word):
    return "outside_alphabet"
  return None


def encode_in(word: str, alphabet: str) -> np.ndarray:
  """The word as int32 ids in 1..len(alphabet), 0 being the CTC blank; `text.encode` for IAM's.

  Raises:
    ValueError: if `word` is empty or has a character outside `alphabet` (select words first).
  """
  if alphabet == text.ALPHABET:
    return text.encode(word)
  unknown = [char for char in word if char not in alphabet]
  if unknown or not word:
    raise ValueError(f"Word {word!r} is empty or has characters outside its alphabet: {unknown}.")
  return np.array([alphabet.index(char) + 1 for char in word], dtype=np.int32)


def hash_percent(key: str) -> int:
  """A stable hash of `key` into 0..99 (independent of Python's per-process hash seed)."""
  return int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % 100


def select_words(records: list[WordRecord], keep_segmentation_errors: bool, alphabet: str = text.ALPHABET
                 ) -> tuple[list[WordRecord], collections.Counter]:
  """Drops `err` words (unless kept), punctuation-only words and words outside `alphabet`.

  Returns the kept records and the number dropped for each reason.
  """
  kept, dropped = [], collections.Counter()
  for record in records:
    word = record.transcription
    if not record.segmentation_ok and not keep_segmentation_errors:
      dropped["segmentation_error"] += 1
    elif (reason := text_drop_reason(word, alphabet)) is not None:
      dropped[reason] += 1
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
  # The symbols the kept words must be written in, and the labels' ids: '' for IAM's 80 (the
  # release's own), or a custom alphabet's (`text.Alphabet.symbols`), e.g. for another script in
  # IAM's layout.
  alphabet: str = ""


def alphabet_digest(symbols: str) -> str:
  """A short stable name for an alphabet's symbols, for the names of prepared data sets."""
  return hashlib.sha256(symbols.encode("utf-8")).hexdigest()[:10]


def iam_config(keep_segmentation_errors: bool = False, min_width_per_char: float = 5.33,
               max_width_per_char: float = 48.0, test_percent: int = 10,
               alphabet: str = "") -> IamWordsConfig:
  """The builder config for these options; its name encodes them so prepared variants coexist."""
  alphabet = "" if alphabet == text.ALPHABET else alphabet
  options = (keep_segmentation_errors, float(min_width_per_char), float(max_width_per_char),
             int(test_percent))
  if options == (False, 5.33, 48.0, 10):
    name = "default"
  else:
    name = (f"er{int(options[0])}_w{options[1]:g}-{options[2]:g}_test{options[3]}"
            .replace(".", "p"))
  if alphabet:
    name = f"{name}_alphabet{alphabet_digest(alphabet)}"
  return IamWordsConfig(name=name, keep_segmentation_errors=options[0],
                        min_width_per_char=options[1], max_width_per_char=options[2],
                        test_percent=options[3], alphabet=alphabet)


@dataclasses.dataclass
class WordsConfig(tfds.core.BuilderConfig):
  """Options of a word data set whose release has characters beyond IAM's (RIMES, CVL): the name
  of the alphabet its words must fit (`'iam'`, the models' 80 symbols, or the data set's own) and
  ScrabbleGAN's width bounds."""
  alphabet: str = "iam"
  min_width_per_char: float = 5.33
  max_width_per_char: float = 48.0


def words_config(alphabet: str = "iam", min_width_per_char: float = 5.33,
                 max_width_per_char: float = 48.0) -> WordsConfig:
  """The builder config for these options; its name encodes them so prepared variants coexist."""
  options = (alphabet, float(min_width_per_char), float(max_width_per_char))
  if options == ("iam", 5.33, 48.0):
    name = "default"
  else:
    name = f"{options[0]}_w{options[1]:g}-{options[2]:g}".replace(".", "p")
  return WordsConfig(name=name, alphabet=options[0], min_width_per_char=options[1],
                     max_width_per_char=options[2])


def word_features(**extra: tfds.features.FeatureConnector) -> tfds.features.FeaturesDict:
  """The features every word data set stores, plus `extra` ones; all TensorFlow-free `Tensor`s.

  image uint8 [32, 16·n, 1] (white background), text (str), labels int32 [n] (ids in the data set's
  alphabet: 1..80 for IAM's, which every model of this package reads and writes), writer.
  """
  return tfds.features.FeaturesDict({
      "image": tfds.features.Tensor(shape=(IMAGE_HEIGHT, None, 1), dtype=np.uint8),
      "text": tfds.features.Tensor(shape=(), dtype=np.str_),
      "labels": tfds.features.Tensor(shape=(None,), dtype=np.int32),
      "writer": tfds.features.Tensor(shape=(), dtype=np.int32),
      **extra,
  })


def assign_splits(records: list[WordRecord], partition: dict[str, set[str]] | None,
                  writers: dict[str, int], test_percent: int
                  ) -> tuple[dict[str, list[WordRecord]], int]:
  """Each word's split, by the partition lists when given, else writer-disjoint by hash.

  Returns the words of each split and the number of words whose line no partition list names.
  """
  if partition is None:
    return writer_disjoint_split(records, writers, test_percent), 0
  split_of_line = {line_id: split for split, line_ids in partition.items() for line_id in line_ids}
  by_split: dict[str, list[WordRecord]] = {split: [] for split in partition}
  unassigned = 0
  for record in records:
    split = split_of_line.get(record.line_id)
    if split is None:
      unassigned += 1
    else:
      by_split[split].append(record)
  return by_split, unassigned


def split_rule(with_partition: bool, with_forms: bool, test_percent: int) -> str:
  """How `assign_splits` made the splits, in words (kept in the data set's metadata, and in eval.json)."""
  if with_partition:
    return ("IAM's large writer independent text line recognition task: train = trainset.txt, "
            "validation = validationset1.txt + validationset2.txt, test = testset.txt")
  unit = "writers (forms.txt)" if with_forms else "forms (no forms.txt: writers unknown)"
  return f"writer-disjoint hash split: {test_percent}% of the {unit} in test, the rest in train"


@dataclasses.dataclass(frozen=True)
class WordImage:
  """One word to write as an example: its key, image file, transcription and further features."""
  key: str
  image_path: str
  transcription: str
  features: dict = dataclasses.field(default_factory=dict)


class WordImagesBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """What the word-image builders of this package share: the image preprocessing of
  `load_word_image`, and the count of dropped words by reason (`DROP_REASONS` of the subclass),
  split by split, in `dropped` and in `info.metadata["dropped"]`.
  """

  DROP_REASONS: tuple[str, ...] = DROP_REASONS

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.dropped: dict[str, collections.Counter] = {}

  def _record_dropped(self, split: str, dropped: collections.Counter) -> None:
    self.dropped[split] = dropped
    self.info.metadata["dropped"] = {name: {reason: counts[reason] for reason in self.DROP_REASONS
                                            if counts[reason]}
                                     for name, counts in self.dropped.items()}

  def _generate_examples(self, words: Iterable[WordImage], split: str, dropped: collections.Counter,
                         min_width_per_char: float, max_width_per_char: float,
                         alphabet: str = text.ALPHABET) -> Iterator[tuple[str, dict]]:
    """Examples of the words whose image loads and fits (labels: ids in `alphabet`); the others
    are added to the counts `dropped` already holds for the split, which are then recorded."""
    dropped = collections.Counter(dropped)
    kept = 0
    for word in words:
      image, status = load_word_image(word.image_path, len(word.transcription), min_width_per_char,
                                      max_width_per_char)
      if image is None:
        dropped[status] += 1
        continue
      kept += 1
      yield word.key, {
          "image": image[..., None],
          "text": word.transcription,
          "labels": encode_in(word.transcription, alphabet),
          **word.features,
      }
    self._record_dropped(split, dropped)
    logging.info("%s %s: %d words kept; dropped %s", self.name, split, kept,
                 {reason: dropped[reason] for reason in self.DROP_REASONS if dropped[reason]}
                 or "nothing")


class AlphabetWordsBuilder(WordImagesBuilder, skip_registration=True):
  """A word data set whose release has characters beyond IAM's (RIMES, CVL), configured by
  `WordsConfig`. A subclass names its `ALPHABETS` (by the names `WordsConfig.alphabet` takes),
  `HOMEPAGE` and `DESCRIPTION`, and reads its release in `_read_release`.

  Words are selected by `text_drop_reason` in the configured alphabet, whose ids the examples'
  labels are; the alphabet and its name go to `info.metadata["alphabet"]` and `["alphabet_name"]`.
  Every example has the features of `word_features` and a string `word_id`. After
  `download_and_prepare`, `dropped` maps each split to its `collections.Counter` of dropped words by
  reason (`DROP_REASONS`), as `info.metadata["dropped"]` does.
  """

  BUILDER_CONFIGS = [words_config()]
  DEFAULT_CONFIG_NAME = "default"
  ALPHABETS: dict[str, str] = {"iam": text.ALPHABET}
  HOMEPAGE = ""
  DESCRIPTION = ""

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=word_features(word_id=tfds.features.Tensor(shape=(), dtype=np.str_)),
        metadata=tfds.core.MetadataDict(), homepage=self.HOMEPAGE, description=self.DESCRIPTION)

  def _read_release(self, manual_dir: str
                    ) -> tuple[dict[str, list[WordImage]], dict[str, collections.Counter]]:
    """The words of each split in `manual_dir`, and what the reader already dropped, by split."""
    raise NotImplementedError

  def _split_generators(self, dl_manager):
    config = self.builder_config
    words_by_split, dropped_by_split = self._read_release(str(dl_manager.manual_dir))
    alphabet = self.ALPHABETS[config.alphabet]
    self.info.metadata["alphabet"] = alphabet
    self.info.metadata["alphabet_name"] = config.alphabet
    self.dropped = {}
    generators = {}
    for split, words in words_by_split.items():
      dropped = collections.Counter(dropped_by_split.get(split, {}))
      kept = []
      for word in words:
        reason = text_drop_reason(word.transcription, alphabet)
        if reason is None:
          kept.append(word)
        else:
          dropped[reason] += 1
      if kept:
        generators[split] = self._generate_examples(kept, split, dropped, config.min_width_per_char,
                                                    config.max_width_per_char, alphabet)
      else:  # TFDS cannot write a split without examples (possible only for tiny folders).
        self._record_dropped(split, dropped)
        logging.info("%s %s: no word left; dropped %s", self.name, split, dict(dropped) or "nothing")
    return generators


class IamWords(WordImagesBuilder):
  """IAM offline handwritten words, ScrabbleGAN preprocessing, from a folder the user provides.

  After `download_and_prepare`, `dropped` maps each split to its `collections.Counter` of dropped
  words by reason (`DROP_REASONS`), and 'unassigned' to the words of lines no partition list names;
  the same counts are in `info.metadata["dropped"]`, also when the prepared data set is reused.
  """

  VERSION = tfds.core.Version("2.0.0")
  RELEASE_NOTES = {
      "1.0.0": "Initial release.",
      "2.0.0": "words.txt read in both its forms: the release's nine-field data lines and the "
               "header's ten-field example (with the number of components); the transcription is "
               "the last field, the grammatical tag is kept as feature `tag`; `err` read as a "
               "segmentation error; forms.txt read in full; dropped words counted by reason in "
               "the metadata.",
  }
  MANUAL_DOWNLOAD_INSTRUCTIONS = IAM_WORDS_INSTRUCTIONS
  BUILDER_CONFIGS = [iam_config()]
  DEFAULT_CONFIG_NAME = "default"

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=word_features(word_id=tfds.features.Tensor(shape=(), dtype=np.str_),
                               tag=tfds.features.Tensor(shape=(), dtype=np.str_)),
        metadata=tfds.core.MetadataDict(),
        homepage="https://fki.tic.heia-fr.ch/databases/iam-handwriting-database",
        description="IAM handwritten words resized to height 32 and 16 pixels per character, with "
                    "their grammatical tag.")

  def _split_generators(self, dl_manager):
    manual_dir = str(dl_manager.manual_dir)
    words_txt = check_manual_dir(manual_dir)
    forms_txt = _find_file(manual_dir, "forms.txt")
    writers = form_writers(parse_forms_txt(forms_txt)) if forms_txt else {}
    records = parse_words_txt(words_txt)
    partition = read_partition(manual_dir)
    by_split, unassigned = assign_splits(records, partition, writers, self.builder_config.test_percent)
    self.info.metadata["split_rule"] = split_rule(partition is not None, bool(writers),
                                                  self.builder_config.test_percent)
    self.dropped = {}
    if unassigned:
      self._record_dropped("unassigned", collections.Counter(not_in_partition=unassigned))
      logging.info("iam_words: %d words of lines in no partition list dropped", unassigned)
    generators = {}
    alphabet = self.builder_config.alphabet or text.ALPHABET
    self.info.metadata["alphabet"] = alphabet
    for split, split_records in by_split.items():
      kept, dropped = select_words(split_records, self.builder_config.keep_segmentation_errors, alphabet)
      if kept:
        words = (WordImage(record.word_id, record.image_path(manual_dir), record.transcription,
                           {"writer": np.int32(writers.get(record.form_id, UNKNOWN_WRITER)),
                            "word_id": record.word_id, "tag": record.tag})
                 for record in kept)
        generators[split] = self._generate_examples(
            words, split, dropped, self.builder_config.min_width_per_char,
            self.builder_config.max_width_per_char, alphabet)
      else:  # TFDS cannot write a split without examples (possible only for tiny folders).
        self._record_dropped(split, dropped)
        logging.info("iam_words %s: no word left; dropped %s", split, dict(dropped) or "nothing")
    return generators
