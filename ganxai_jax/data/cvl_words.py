"""The CVL database's word images (cvl-database-1-1) as a TFDS data set (manual download), without
TensorFlow.

The CVL database (TU Wien: 310 writers copying five or all of seven texts, six English and one
German; licensed for non-commercial use, so nothing is downloaded here) unpacks to
`cvl-database-1-1/` with the release's own writer-disjoint sets, which are this data set's splits:

  cvl-database-1-1/trainset/words/0001/0001-1-0-0-Imagine.tif   train (27 writers, 7 texts each)
  cvl-database-1-1/testset/words/0052/0052-1-0-0-Imagine.tif    test (283 writers, 5 texts each)

(besides `pages/`, `lines/` and `xml/`, which are not read). The transcription is in the word
image's file name, `<writer>-<text>-<line>-<word>-<transcription>.tif`: everything after the
fourth hyphen, so hyphenated words keep their hyphen; the writer id is the first field (read as
an int: `0001` is writer 1). The XML files hold geometry only, no text. File names carry letters,
digits, apostrophes and hyphens but no sentence punctuation; the German text (text 6, Goethe's
Faust) writes its umlauts and ß as themselves in the name, which is NFC-normalised here (a
filesystem may hand back `o` + U+0308 for `ö`). A name that is not valid UTF-8 keeps Python's
escape characters and is dropped as `outside_alphabet`. An image file whose name does not have
the five fields is counted as `unparsed_name`; one with nothing after the fourth hyphen as
`no_transcription`. `manual_dir` may be `cvl-database-1-1/` or the folder holding it; images may
be TIFF, PNG or JPEG.

Sources for this layout (read, not copied): the official ScrabbleGAN code,
amzn/convolutional-handwriting-gan `data/create_text_data.py` (`create_img_label_list`, CVL
branch: `cvl-database-1-1/{trainset,testset}/words`, the label as the name's last hyphen field,
text 6 skipped, words with `ä` or `ü` skipped); public CVL readers that checked the release
(the name pattern `writer-page-line-word-TEXT.tif` with hyphens inside TEXT, NFC normalisation,
texts 1-4 and 6-8 with 6 the German one, writer-disjoint sets of 27 and 283 writers, no punctuation
in the names). Unlike ScrabbleGAN's script, the German text is kept: with the default alphabet its
words with umlauts or ß are dropped (counted as `outside_alphabet`), the others kept.

Alphabet: `CVL_ALPHABET` is IAM's 80 symbols (same ids) followed by `äöüÄÖÜß`. The config option
`alphabet` is `'iam'` (default: words must fit the models' alphabet) or `'cvl'` (keeps the German
words, for looking at the data; a training run refuses it), as for RIMES (see `rimes_words`); the
alphabet and its name are in `info.metadata["alphabet"]` and `["alphabet_name"]`.

Preprocessing and counts are IAM's (`iam_words`): punctuation-only words dropped, height 32 and
16 px per character, width outliers dropped, unreadable images skipped; every dropped word counted
by reason (`DROP_REASONS`) per split in `dropped` and `info.metadata["dropped"]`.
"""
from __future__ import annotations

import collections
import dataclasses
import os
import re
import unicodedata
from typing import NoReturn

import numpy as np
import tensorflow_datasets as tfds

from ganxai_jax.data import iam_words
from ganxai_jax.data import text

CVL_SYMBOLS = "äöüÄÖÜß"  # German; IAM's symbols first, with their ids.
CVL_ALPHABET = text.ALPHABET + CVL_SYMBOLS
ALPHABETS = {"iam": text.ALPHABET, "cvl": CVL_ALPHABET}

RELEASE_FOLDER = "cvl-database-1-1"
SETS = {"train": "trainset", "test": "testset"}  # Split -> the release's set folder.
IMAGE_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
# <writer>-<text>-<line>-<word>-<transcription>; the transcription may hold hyphens.
WORD_FILE_NAME = re.compile(r"(?P<writer>\d+)-(?P<text>\d+)-(?P<line>\d+)-(?P<index>\d+)-(?P<word>.*)",
                            re.DOTALL)

DROP_REASONS = (
    "unparsed_name",     # An image in words/ whose name is not writer-text-line-word-TRANSCRIPTION.
    "no_transcription",  # Nothing after the fourth hyphen.
    "punctuation_only",  # No letter or digit.
    "outside_alphabet",  # A character outside the chosen alphabet.
    "missing",           # The image file vanished while reading.
    "unreadable",        # The image file cannot be decoded.
    "empty",             # The image has no pixels.
    "width_outlier",     # Width per character after scaling to height 32 outside the bounds.
)

CVL_WORDS_INSTRUCTIONS = """\
Download the CVL database (cvl-database-1-1.zip) from
https://cvl.tuwien.ac.at/research/cvl-databases/an-off-line-database-for-writer-retrieval-writer-identification-and-word-spotting/
by hand, unpack it and pass the folder as --config.manual_dir=FOLDER (cvl-database-1-1/ itself or
the folder holding it):
  FOLDER/trainset/words/0001/0001-1-0-0-Imagine.tif ...   (writer-text-line-word-transcription)
  FOLDER/testset/words/0052/0052-1-0-0-Imagine.tif ...    (optional: the test split)"""


@dataclasses.dataclass(frozen=True)
class CvlWord:
  """One word image: its path and the fields of its file name (transcription NFC-normalised)."""
  path: str
  writer: int
  text: int
  line: int
  index: int
  transcription: str

  @property
  def word_id(self) -> str:
    """`0001-1-0-0` for `0001-1-0-0-Imagine.tif`: the name without the transcription."""
    return "-".join(os.path.basename(self.path).split("-", 4)[:4])


def parse_word_file_name(path: str) -> CvlWord | None:
  """The fields of a word image's file name, or None when it is not
  `<writer>-<text>-<line>-<word>-<transcription>.<image extension>`."""
  stem, extension = os.path.splitext(os.path.basename(path))
  match = WORD_FILE_NAME.fullmatch(stem)
  if extension.lower() not in IMAGE_EXTENSIONS or match is None:
    return None
  return CvlWord(path=path, writer=int(match["writer"]), text=int(match["text"]),
                 line=int(match["line"]), index=int(match["index"]),
                 transcription=unicodedata.normalize("NFC", match["word"]))


def _fail(manual_dir: str, problem: str) -> NoReturn:
  raise FileNotFoundError(f"CVL manual folder {manual_dir!r} {problem}.\n{CVL_WORDS_INSTRUCTIONS}")


def _image_files(folder: str) -> list[str]:
  """The image files under `folder` (any depth), in a stable order."""
  found = []
  for root, dirs, files in os.walk(folder):
    dirs.sort()
    found.extend(os.path.join(root, name) for name in sorted(files)
                 if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS)
  return found


def find_release(manual_dir: str) -> str:
  """The release folder (the one holding `trainset/` and `testset/`): `manual_dir` itself or its
  `cvl-database-1-1/`.

  Raises:
    FileNotFoundError: when neither holds `trainset/words/` with a word image; the message ends
      with the expected layout.
  """
  if not manual_dir or not os.path.isdir(manual_dir):
    _fail(manual_dir, "does not exist")
  for root in (manual_dir, os.path.join(manual_dir, RELEASE_FOLDER)):
    words = os.path.join(root, SETS["train"], "words")
    if not os.path.isdir(words):
      continue
    for _, _, files in os.walk(words):
      if any(os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS for name in files):
        return root
    _fail(manual_dir, f"has no word image in {os.path.relpath(words, manual_dir)}/")
  _fail(manual_dir, f"has no trainset/words/ (nor {RELEASE_FOLDER}/trainset/words/)")


def check_manual_dir(manual_dir: str) -> str:
  """Returns the release folder, or raises FileNotFoundError (see `find_release`)."""
  return find_release(manual_dir)


def scan_set(release: str, set_folder: str) -> tuple[list[CvlWord], collections.Counter]:
  """The word images of one set (`trainset` or `testset`), and the count of those dropped for an
  unparsed name or no transcription."""
  words, dropped = [], collections.Counter()
  for path in _image_files(os.path.join(release, set_folder, "words")):
    word = parse_word_file_name(path)
    if word is None:
      dropped["unparsed_name"] += 1
    elif not word.transcription:
      dropped["no_transcription"] += 1
    else:
      words.append(word)
  return words, dropped


class CvlWords(iam_words.AlphabetWordsBuilder):
  """CVL words (cvl-database-1-1), ScrabbleGAN preprocessing, from a folder the user provides."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release: the release's trainset and testset words."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = CVL_WORDS_INSTRUCTIONS
  DROP_REASONS = DROP_REASONS
  ALPHABETS = ALPHABETS
  HOMEPAGE = ("https://cvl.tuwien.ac.at/research/cvl-databases/"
              "an-off-line-database-for-writer-retrieval-writer-identification-and-word-spotting/")
  DESCRIPTION = ("CVL handwritten English and German words resized to height 32 and 16 pixels per "
                 "character.")

  def _read_release(self, manual_dir: str
                    ) -> tuple[dict[str, list[iam_words.WordImage]], dict[str, collections.Counter]]:
    release = find_release(manual_dir)
    words_by_split, dropped_by_split = {}, {}
    for split, set_folder in SETS.items():
      if not os.path.isdir(os.path.join(release, set_folder, "words")):
        continue  # The test set is optional.
      words, dropped_by_split[split] = scan_set(release, set_folder)
      words_by_split[split] = [
          iam_words.WordImage(key=os.path.relpath(word.path, release), image_path=word.path,
                              transcription=word.transcription,
                              features={"writer": np.int32(word.writer), "word_id": word.word_id})
          for word in words]
    return words_by_split, dropped_by_split
