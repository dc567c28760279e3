"""Tests of the CVL words builder on a small fixture in the layout of cvl-database-1-1."""
import os
import unicodedata

import ml_collections
import numpy as np
import pytest
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

from configs import scrabble as scrabble_configs
from ganxai_jax import config_checks
from ganxai_jax.data import cvl_words
from ganxai_jax.data import handwriting
from ganxai_jax.data import text
from ganxai_jax.errors import ConfigError, UsageError
from tests.conftest import run_cli

# (set folder, file name as the release names it, image (width, height) or "corrupt"). The
# transcription is the name's fifth hyphen field; text 6 is the German one.
WORD_FILES = [
    ("trainset", "0001-1-0-0-Imagine.tif", (210, 60)),
    ("trainset", "0001-1-0-1-a.tif", (30, 60)),
    ("trainset", "0001-1-0-2-vast.tif", (120, 56)),
    ("trainset", "0001-2-0-0-Show'd.tif", (180, 60)),       # Apostrophe kept.
    ("trainset", "0001-2-0-1--.tif", (20, 40)),             # Punctuation only ('-').
    ("trainset", "0001-3-0-0-.tif", (40, 40)),              # No transcription.
    ("trainset", "0001-4-0-0-Darwin.tif", "corrupt"),       # Unreadable.
    ("trainset", "0001-4-0-1-of.tif", (700, 40)),           # 280 px per character.
    ("trainset", "0001-6-0-0-Verweile.tif", (240, 60)),     # German, in IAM's symbols.
    ("trainset", "0001-6-0-1-schön.tif", (150, 60)),        # ö: outside IAM's alphabet.
    ("trainset", "0001-7-0-0-well-known.tif", (300, 60)),   # Hyphen inside the word kept.
    ("trainset", "0001-1-notes.tif", (50, 40)),             # Not a word image's name.
    ("trainset", "0002-1-0-0-Imagine.png", (200, 58)),      # PNG and JPEG are read too.
    ("trainset", "0002-8-0-0-Usher.jpg", (160, 60)),
    ("trainset", "0002-6-0-0-daß.tif", (120, 60)),          # ß: outside IAM's alphabet.
    ("testset", "0052-1-0-0-Imagine.tif", (220, 62)),
    ("testset", "0052-1-0-1-sheet.tif", (150, 60)),
    ("testset", "0052-6-0-0-Tragödie.tif", (250, 60)),      # ö: outside IAM's alphabet.
]
KEPT = {"train": {("Imagine", 1), ("a", 1), ("vast", 1), ("Show'd", 1), ("Verweile", 1),
                  ("well-known", 1), ("Imagine", 2), ("Usher", 2)},
        "test": {("Imagine", 52), ("sheet", 52)}}
DROPPED_IAM = {"train": {"unparsed_name": 1, "no_transcription": 1, "punctuation_only": 1,
                         "outside_alphabet": 2, "unreadable": 1, "width_outlier": 1},
               "test": {"outside_alphabet": 1}}


def write_word_image(path: str, word: str, size: tuple[int, int]) -> None:
  """A word image of `size`: the word drawn in black on white (in matplotlib's DejaVu Sans, which
  has accents and umlauts), stretched to fill it."""
  font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 24)
  canvas = Image.new("L", (int(font.getlength(word)) + 4, 32), 255)
  ImageDraw.Draw(canvas).text((2, 2), word, fill=0, font=font)
  canvas.convert("RGB").resize(size, Image.Resampling.BILINEAR).save(path)


def make_cvl_fixture(root, nested: bool = True, decomposed: bool = True) -> str:
  """Writes cvl-database-1-1/{trainset,testset}/words/<writer>/<name> under `root` (umlauts in the
  names decomposed, as some filesystems hand them back, when told), plus a line image and a
  non-image file that the builder must ignore. Returns the folder to pass as manual_dir."""
  release = os.path.join(str(root), cvl_words.RELEASE_FOLDER) if nested else str(root)
  for set_folder, name, size in WORD_FILES:
    folder = os.path.join(release, set_folder, "words", name[:4])
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, unicodedata.normalize("NFD", name) if decomposed else name)
    if size == "corrupt":
      with open(path, "wb") as fh:
        fh.write(b"II*\x00 this is not a TIFF body")
    else:
      word = name.split("-", 4)[-1].rsplit(".", 1)[0] if name.count("-") >= 4 else "x"
      write_word_image(path, word, size)
  (open(os.path.join(release, "trainset", "words", "0001", "Thumbs.db"), "wb")).close()
  os.makedirs(os.path.join(release, "trainset", "lines", "0001"))
  write_word_image(os.path.join(release, "trainset", "lines", "0001", "0001-1-0.tif"), "line",
                   (600, 60))
  return str(root)


def _config(tmp_path, manual_dir, alphabet: str = "iam") -> ml_collections.ConfigDict:
  config = scrabble_configs.get_config("cvl,tiny")
  config.data_dir = str(tmp_path / "tfds")
  config.manual_dir = manual_dir
  config.cvl.alphabet = alphabet
  return config


def _examples(builder) -> list[tuple[str, dict]]:
  return [(split, builder.as_data_source(split)[i]) for split in builder.info.splits
          for i in range(len(builder.as_data_source(split)))]


def test_word_file_names_give_writer_text_line_word_and_transcription():
  word = cvl_words.parse_word_file_name("trainset/words/0001/0001-7-3-12-well-known.tif")
  assert (word.writer, word.text, word.line, word.index) == (1, 7, 3, 12)
  assert word.transcription == "well-known" and word.word_id == "0001-7-3-12"
  decomposed = cvl_words.parse_word_file_name(unicodedata.normalize("NFD", "0052-6-0-0-schön.TIF"))
  assert decomposed.transcription == "schön" and len(decomposed.transcription) == 5
  assert cvl_words.parse_word_file_name("0001-1-0.tif") is None  # A line image.
  assert cvl_words.parse_word_file_name("0001-1-0-0-Imagine.xml") is None
  assert cvl_words.parse_word_file_name("0001-1-0-0-.tif").transcription == ""


def test_builder_keeps_the_releases_sets_and_counts_every_dropped_word(tmp_path):
  root = make_cvl_fixture(tmp_path / "cvl")
  builder = handwriting.prepare(_config(tmp_path, root))
  examples = _examples(builder)
  kept = {split: {(ex["text"].decode(), int(ex["writer"])) for s, ex in examples if s == split}
          for split in builder.info.splits}
  assert kept == KEPT
  for _, example in examples:
    word = example["text"].decode()
    assert example["image"].shape == (32, 16 * len(word), 1) and example["image"].dtype == np.uint8
    np.testing.assert_array_equal(example["labels"], text.encode(word))
    assert example["word_id"].decode().startswith(f"{int(example['writer']):04d}-")
  assert {split: dict(counts) for split, counts in builder.dropped.items()} == DROPPED_IAM
  assert builder.info.metadata["dropped"] == DROPPED_IAM
  assert builder.info.metadata["alphabet_name"] == "iam"
  reused = handwriting.prepare(_config(tmp_path, root))
  assert reused.info.metadata["dropped"] == DROPPED_IAM


def test_the_cvl_alphabet_keeps_umlauts_and_training_refuses_it(tmp_path):
  root = make_cvl_fixture(tmp_path / "cvl", nested=False)
  config = _config(tmp_path, root, alphabet="cvl")
  builder = handwriting.prepare(config)
  words = {ex["text"].decode(): ex for _, ex in _examples(builder)}
  assert {"schön", "daß", "Tragödie", "Verweile"} <= set(words)
  for word, example in words.items():
    assert "".join(cvl_words.CVL_ALPHABET[i - 1] for i in example["labels"]) == word
  assert builder.info.metadata["alphabet"] == cvl_words.CVL_ALPHABET
  assert "outside_alphabet" not in builder.dropped["train"]
  with pytest.raises(UsageError, match=r"config.cvl.alphabet='cvl': the models"):
    handwriting.load_split(config, "train")
  with pytest.raises(ConfigError, match="--config.cvl.alphabet=iam"):
    config_checks.check_recognizer(config)


def test_the_release_folder_or_its_parent_is_accepted_and_a_wrong_folder_named(tmp_path):
  nested = make_cvl_fixture(tmp_path / "parent")
  release = os.path.join(nested, cvl_words.RELEASE_FOLDER)
  assert cvl_words.check_manual_dir(nested) == release
  assert cvl_words.check_manual_dir(release) == release
  with pytest.raises(FileNotFoundError, match="does not exist"):
    cvl_words.check_manual_dir(str(tmp_path / "nowhere"))
  (tmp_path / "empty").mkdir()
  with pytest.raises(FileNotFoundError, match=r"(?s)has no trainset/words/.*\n.*0001-1-0-0-Imagine"):
    cvl_words.check_manual_dir(str(tmp_path / "empty"))
  (tmp_path / "no_images" / "trainset" / "words" / "0001").mkdir(parents=True)
  with pytest.raises(FileNotFoundError, match="has no word image in trainset/words/"):
    cvl_words.check_manual_dir(str(tmp_path / "no_images"))
  with pytest.raises(ConfigError, match=r"^config.manual_dir=.*has no trainset/words/"):
    config_checks.check_data(_config(tmp_path, str(tmp_path / "empty")))


def test_show_data_draws_the_cvl_words(tmp_path):
  root = make_cvl_fixture(tmp_path / "cvl")
  out = tmp_path / "out"
  proc = run_cli("experiments.show_data", "--config=configs/scrabble.py:cvl",
                 f"--config.manual_dir={root}", f"--workdir={out}",
                 f"--config.data_dir={tmp_path / 'tfds'}")
  assert "train: 8 words by 2 writers" in proc.stdout, proc.stdout
  assert "test: 2 words by 1 writers" in proc.stdout, proc.stdout
  assert "writer 1: " in proc.stdout and "writer 2: " in proc.stdout
  grid = out / "figures" / "sample_grid.png"
  assert grid.is_file() and grid.stat().st_size > 1000
