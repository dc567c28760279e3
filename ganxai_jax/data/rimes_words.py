"""The RIMES isolated-word release (ICDAR 2011) as a TFDS data set (manual download), without TensorFlow.

RIMES (French handwritten letters; A2iA, user agreement, so nothing is downloaded here) was
distributed for the ICDAR 2011 word-recognition task as three image archives and three
ground-truth text files, which this builder reads as they unpack:

  split       ground truth (as the release names it)     images
  train       groundtruth_training_icdar2011.txt         trainingsnippets_icdar.rar -> training_WR/
  validation  ground_truth_validation_icdar2011.txt      validationsnippets_icdar.tar.gz
                                                           -> testdataset_ICDAR/ (sic: validation)
  test        grount_truth_test_icdar2011.txt (sic)      data_test.tar.gz -> data_test/

Each ground-truth line is `image_path transcription`: the image path relative to the set's image
folder, one space, the word, e.g. `lot_1/00001_L/00001_L_0_0.tiff Madame` (the sources show this
form for the training paths only; nothing here depends on it). The files are UTF-8 with a
byte-order mark, which is skipped: public loaders read them as `utf-8-sig`, and one that did not
reports its first image missing. A line without a transcription is dropped as `no_transcription`; all
that follows the first space is the transcription. Transcriptions are NFC-normalised, so that an
accent is one character whether the file composes it or not. The validation and test ground truth
are optional; only the training one is required.

Where the images lie is found, per set, among the folders the archives unpack to (`training_WR/`,
`trainingsnippets_icdar/training_WR/`, `testdataset_ICDAR/`,
`validationsnippets_icdar/testdataset_ICDAR/`, `data_test/`), the folder names of the official
ScrabbleGAN script (`valdataset_ICDAR/`, its test images in `testdataset_ICDAR/`) and the manual
folder itself: the one holding most of the first 100 images the ground truth lists. None holding
any is an error naming the expected layout. The accepted spellings of the ground-truth files also
include `ground_truth_training_icdar2011.txt` and `ground_truth_test_icdar2011.txt`, as some users
rename them.

Sources for this layout (read, not copied): the official ScrabbleGAN code,
amzn/convolutional-handwriting-gan `data/create_text_data.py` (`create_img_label_list`, RIMES
branch: the three ground-truth files, `training_WR`, lines split at the space) and
`data/alphabets.py` (`alphabetFrench`, the characters of RIMES words); public HTR loaders that read
the release as unpacked (`trainingsnippets_icdar/training_WR`, `validationsnippets_icdar/
testdataset_ICDAR`, `data_test`, `grount_truth_test_icdar2011.txt`, `encoding='utf-8-sig'`, and
the first training line `lot_1/00001_L/00001_L_0_0.tiff`). The XML files of RIMES
(`training_2011.xml`, `eval_2011_annotated.xml`: `SinglePage/Paragraph/Line` with `Value`) belong
to the line-level release and hold no word boxes; they are not read. The release has no writer
ids: every example's writer is -1 (`iam_words.UNKNOWN_WRITER`); the image path is kept as feature
`word_id`, whose folders (`lot_1/00001_L/`) group the words of one letter, as far as the names tell.

Alphabet: RIMES words have French characters beyond IAM's 80 symbols. `RIMES_ALPHABET` is IAM's
alphabet followed by the characters of ScrabbleGAN's `alphabetFrench` that IAM lacks
(`èéçêâû°àôîù²Éëï`) and the rest of the French accented letters, upper and lower case, and `€`.
Because IAM's symbols come first with their ids, a word written in IAM's symbols has the same
labels in both. The config option `alphabet` says which alphabet the words must fit and whose ids
the labels are: `'iam'` (default) drops the words with other characters (counted as
`outside_alphabet`), so the data set fits the models of this package, which read and write IAM's
alphabet; `'rimes'` keeps them, for looking at the data (experiments.show_data), and a training
run refuses it. The alphabet and its name are in `info.metadata["alphabet"]` and
`["alphabet_name"]`.

Preprocessing and counts are IAM's (`iam_words`): punctuation-only words dropped, height 32 and
16 px per character, width outliers dropped, unreadable or missing images skipped; every dropped
word counted by reason (`DROP_REASONS`) per split in `dropped` and `info.metadata["dropped"]`.
"""
from __future__ import annotations

import collections
import dataclasses
import os
import unicodedata
from typing import NoReturn, Sequence

import numpy as np
import tensorflow_datasets as tfds

from ganxai_jax.data import iam_words
from ganxai_jax.data import text

# IAM's symbols first (same ids), then the French characters beyond them.
RIMES_SYMBOLS = "àâäçéèêëîïôöùûüÿœæ" + "ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ" + "°²€"
RIMES_ALPHABET = text.ALPHABET + RIMES_SYMBOLS
ALPHABETS = {"iam": text.ALPHABET, "rimes": RIMES_ALPHABET}

DROP_REASONS = (
    "no_transcription",  # A ground-truth line with an image path only.
    "punctuation_only",  # No letter or digit.
    "outside_alphabet",  # A character outside the chosen alphabet.
    "missing",           # No image file.
    "unreadable",        # The image file cannot be decoded.
    "empty",             # The image has no pixels.
    "width_outlier",     # Width per character after scaling to height 32 outside the bounds.
)

# How many listed images decide which candidate folder holds a set's images.
_IMAGES_TO_PROBE = 100


@dataclasses.dataclass(frozen=True)
class RimesSet:
  """One set of the release: its split, the names its ground truth goes by (the release's spelling first)
  and the folders, relative to the manual folder, its images may be in ('' is the folder itself)."""
  split: str
  ground_truth: tuple[str, ...]
  image_folders: tuple[str, ...]


RIMES_SETS = (
    RimesSet("train", ("groundtruth_training_icdar2011.txt", "ground_truth_training_icdar2011.txt"),
             ("training_WR", os.path.join("trainingsnippets_icdar", "training_WR"),
              "trainingsnippets_icdar", "")),
    RimesSet("validation", ("ground_truth_validation_icdar2011.txt",),
             ("testdataset_ICDAR", os.path.join("validationsnippets_icdar", "testdataset_ICDAR"),
              "validationsnippets_icdar", "valdataset_ICDAR", "")),
    RimesSet("test", ("grount_truth_test_icdar2011.txt", "ground_truth_test_icdar2011.txt"),
             ("data_test", "testdataset_ICDAR", "")),
)

RIMES_WORDS_INSTRUCTIONS = """\
Obtain the RIMES database under its user agreement
(http://www.a2ialab.com/doku.php?id=rimes_database:start), take its ICDAR 2011 word-recognition
release, unpack it into one folder and pass it as --config.manual_dir=FOLDER:
  FOLDER/groundtruth_training_icdar2011.txt      lines `image_path transcription`
  FOLDER/training_WR/lot_1/00001_L/00001_L_0_0.tiff ...
                                                 (trainingsnippets_icdar.rar; also read in
                                                  FOLDER/trainingsnippets_icdar/training_WR/)
  FOLDER/ground_truth_validation_icdar2011.txt   (optional) with FOLDER/testdataset_ICDAR/...
                                                 (validationsnippets_icdar.tar.gz)
  FOLDER/grount_truth_test_icdar2011.txt         (optional; the release's spelling) with
                                                 FOLDER/data_test/... (data_test.tar.gz)"""


@dataclasses.dataclass(frozen=True)
class GroundTruthLine:
  """One line of a ground-truth file: the image path as written (relative to the set's image
  folder), the NFC-normalised transcription ('' when the line has none) and the line number."""
  image: str
  transcription: str
  line_number: int


@dataclasses.dataclass(frozen=True)
class FoundSet:
  """A set of the release found in the manual folder: its ground truth, parsed, and its images."""
  split: str
  ground_truth: str
  image_folder: str
  lines: tuple[GroundTruthLine, ...]


def parse_ground_truth(path: str) -> list[GroundTruthLine]:
  """Reads a ground-truth file of the release: `image_path transcription` lines, UTF-8 with or
  without a byte-order mark; blank lines are skipped.

  Raises:
    ValueError: when the file is not UTF-8 text, naming it.
  """
  lines = []
  try:
    with open(path, encoding="utf-8-sig") as fh:
      for line_number, line in enumerate(fh, start=1):
        fields = line.strip().split(None, 1)
        if not fields:
          continue
        transcription = unicodedata.normalize("NFC", fields[1].strip()) if len(fields) > 1 else ""
        lines.append(GroundTruthLine(fields[0], transcription, line_number))
  except UnicodeDecodeError as e:
    raise ValueError(f"{path} is not UTF-8 text ({e.reason}); the RIMES ground truth is "
                     "UTF-8.") from None
  return lines


def _find_ground_truth(manual_dir: str, names: Sequence[str]) -> str | None:
  for name in names:
    path = os.path.join(manual_dir, name)
    if os.path.isfile(path):
      return path
  return None


def _image_folder(manual_dir: str, rimes_set: RimesSet, lines: Sequence[GroundTruthLine]
                  ) -> str | None:
  """The candidate folder holding most of the first listed images (None when none holds any)."""
  probe = [line.image for line in lines[:_IMAGES_TO_PROBE]]
  best, best_found = None, 0
  for folder in rimes_set.image_folders:
    root = os.path.join(manual_dir, folder) if folder else manual_dir
    if not os.path.isdir(root):
      continue
    found = sum(os.path.isfile(os.path.join(root, image)) for image in probe)
    if found > best_found:
      best, best_found = root, found
  return best


def find_sets(manual_dir: str) -> dict[str, FoundSet]:
  """The sets of the release in `manual_dir`, by split (train always; validation and test when
  their ground truth is there), with their parsed ground truth and image folder.

  Raises:
    FileNotFoundError: when the folder does not exist, has no training ground truth, a ground
      truth lists no word, or none of the folders the release unpacks to holds its images; the
      message ends with the expected layout.
    ValueError: when a ground truth is not UTF-8 text.
  """
  def fail(problem: str) -> NoReturn:
    raise FileNotFoundError(f"RIMES manual folder {manual_dir!r} {problem}.\n{RIMES_WORDS_INSTRUCTIONS}")

  if not manual_dir or not os.path.isdir(manual_dir):
    fail("does not exist")
  found = {}
  for rimes_set in RIMES_SETS:
    ground_truth = _find_ground_truth(manual_dir, rimes_set.ground_truth)
    if ground_truth is None:
      if rimes_set.split == "train":
        fail(f"has no {rimes_set.ground_truth[0]} (the training ground truth of the ICDAR 2011 "
             "word release)")
      continue
    lines = parse_ground_truth(ground_truth)
    if not lines:
      fail(f"has an empty {os.path.basename(ground_truth)}")
    image_folder = _image_folder(manual_dir, rimes_set, lines)
    if image_folder is None:
      folders = ", ".join(f"{f}/" for f in rimes_set.image_folders if f)
      fail(f"holds none of the first images {os.path.basename(ground_truth)} lists (e.g. "
           f"{lines[0].image}) in {folders} or the folder itself")
    found[rimes_set.split] = FoundSet(rimes_set.split, ground_truth, image_folder, tuple(lines))
  return found


def check_manual_dir(manual_dir: str) -> str:
  """Returns the path of the training ground truth, or raises FileNotFoundError (see `find_sets`)."""
  return find_sets(manual_dir)["train"].ground_truth


def words_of_set(found: FoundSet) -> tuple[list[iam_words.WordImage], collections.Counter]:
  """The words a set's ground truth lists, and the count of lines dropped for no transcription."""
  words, dropped = [], collections.Counter()
  name = os.path.basename(found.ground_truth)
  for line in found.lines:
    if not line.transcription:
      dropped["no_transcription"] += 1
      continue
    words.append(iam_words.WordImage(
        key=f"{name}:{line.line_number}",  # Unique even if a path were listed twice.
        image_path=os.path.join(found.image_folder, line.image),
        transcription=line.transcription,
        features={"writer": np.int32(iam_words.UNKNOWN_WRITER), "word_id": line.image}))
  return words, dropped


class RimesWords(iam_words.AlphabetWordsBuilder):
  """RIMES isolated words (ICDAR 2011), ScrabbleGAN preprocessing, from a folder the user provides."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release: the ICDAR 2011 word release's three sets."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = RIMES_WORDS_INSTRUCTIONS
  DROP_REASONS = DROP_REASONS
  ALPHABETS = ALPHABETS
  HOMEPAGE = "http://www.a2ialab.com/doku.php?id=rimes_database:start"
  DESCRIPTION = ("RIMES handwritten French words (ICDAR 2011 word release) resized to height 32 and "
                 "16 pixels per character.")

  def _read_release(self, manual_dir: str
                    ) -> tuple[dict[str, list[iam_words.WordImage]], dict[str, collections.Counter]]:
    words_by_split, dropped_by_split = {}, {}
    for split, found in find_sets(manual_dir).items():
      words_by_split[split], dropped_by_split[split] = words_of_set(found)
    return words_by_split, dropped_by_split
