"""Tests of the RIMES words builder on a small fixture in the ICDAR 2011 word release's layout."""
import collections
import os
import unicodedata

import ml_collections
import numpy as np
import pytest
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

from configs import scrabble as scrabble_configs
from ganxai_jax import config_checks
from ganxai_jax.data import handwriting
from ganxai_jax.data import iam_words
from ganxai_jax.data import rimes_words
from ganxai_jax.data import text
from ganxai_jax.errors import ConfigError, UsageError
from tests.conftest import run_cli

# The characters of RIMES words as the official ScrabbleGAN code lists them (data/alphabets.py,
# alphabetFrench), to check that the RIMES alphabet holds them all.
SCRABBLEGAN_FRENCH = ("SuitemlrsachvpoIyMèfqC-dn'bjxgéJçzVD206A5EPBêâLû°9NT314àH8F7ôQYOZKî/GUXWRù%kw"
                      "²Éëï")

# (image path as the ground truth lists it, transcription, image (width, height), None for a missing
# file, or "corrupt"). Paths follow the release's first training line, lot_1/00001_L/00001_L_0_0.tiff.
TRAIN = [
    ("lot_1/00001_L/00001_L_0_0.tiff", "Madame", (180, 60)),
    ("lot_1/00001_L/00001_L_0_1.tiff", "Monsieur", (230, 58)),
    ("lot_1/00001_L/00001_L_0_2.tiff", "était", (150, 60)),         # Outside IAM's alphabet.
    ("lot_1/00001_L/00001_L_0_3.tiff", "-", (20, 40)),              # Punctuation only.
    ("lot_1/00001_L/00001_L_1_0.tiff", "", (50, 40)),               # No transcription.
    ("lot_1/00001_L/00001_L_1_1.tiff", "contrat", None),            # Missing image.
    ("lot_1/00001_L/00001_L_1_2.tiff", "Veuillez", "corrupt"),      # Unreadable image.
    ("lot_1/00001_L/00001_L_1_3.tiff", "je", (600, 40)),            # 240 px per character.
    ("lot_2/00002_L/00002_L_0_0.tiff", "rendez-vous", (330, 60)),
    ("lot_2/00002_L/00002_L_0_1.tiff", "n°", (70, 50)),             # Outside IAM's alphabet.
    ("lot_2/00002_L/00002_L_0_2.tiff", "l'échéance", (300, 60)),    # Outside IAM's alphabet.
    ("lot_2/00002_L/00002_L_0_3.tiff", "d'assurance", (320, 56)),
]
VALIDATION = [
    ("lot_14/00950_L/00950_L_0_0.tiff", "merci", (150, 60)),
    ("lot_14/00950_L/00950_L_0_1.tiff", "reçu", (120, 60)),         # Outside IAM's alphabet.
]
TEST = [
    ("lot_15/01100_L/01100_L_0_0.tiff", "salutations", (330, 60)),
    ("lot_15/01100_L/01100_L_0_1.tiff", "août", (120, 60)),         # Outside IAM's alphabet.
]
# What the default ('iam' alphabet) preprocessing drops, split by split.
DROPPED_IAM = {
    "train": {"no_transcription": 1, "punctuation_only": 1, "outside_alphabet": 3, "missing": 1,
              "unreadable": 1, "width_outlier": 1},
    "validation": {"outside_alphabet": 1},
    "test": {"outside_alphabet": 1},
}
# Where the release's archives unpack their images, relative to the manual folder.
RELEASE_FOLDERS = {"train": "trainingsnippets_icdar/training_WR",
                   "validation": "validationsnippets_icdar/testdataset_ICDAR", "test": "data_test"}
GROUND_TRUTH = {"train": "groundtruth_training_icdar2011.txt",
                "validation": "ground_truth_validation_icdar2011.txt",
                "test": "grount_truth_test_icdar2011.txt"}


def write_word_image(path: str, word: str, size: tuple[int, int]) -> None:
  """A word image of `size`: the word drawn in black on white (in matplotlib's DejaVu Sans, which
  has accents and umlauts), stretched to fill it."""
  font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 24)
  canvas = Image.new("L", (int(font.getlength(word)) + 4, 32), 255)
  ImageDraw.Draw(canvas).text((2, 2), word, fill=0, font=font)
  canvas.convert("RGB").resize(size, Image.Resampling.BILINEAR).save(path)


def make_rimes_fixture(root, folders: dict[str, str] = RELEASE_FOLDERS,
                       decomposed_test: bool = True) -> str:
  """Writes the three ground-truth files (UTF-8 with a byte-order mark, as the release does) and the
  images under `root`; the test ground truth writes its accents decomposed when told."""
  root = str(root)
  for split, words in (("train", TRAIN), ("validation", VALIDATION), ("test", TEST)):
    lines = []
    for image, transcription, size in words:
      if split == "test" and decomposed_test:
        transcription = unicodedata.normalize("NFD", transcription)
      lines.append(f"{image} {transcription}".rstrip())
      path = os.path.join(root, folders[split], image)
      os.makedirs(os.path.dirname(path), exist_ok=True)
      if size == "corrupt":
        with open(path, "wb") as fh:
          fh.write(b"II*\x00 this is not a TIFF body")
      elif size is not None:
        write_word_image(path, transcription or "x", size)
    newline = "\r\n" if split == "validation" else "\n"  # Either line ending is read.
    with open(os.path.join(root, GROUND_TRUTH[split]), "w", encoding="utf-8-sig", newline="") as fh:
      fh.write(newline.join(lines) + newline)
  return root


def _config(tmp_path, manual_dir, alphabet: str = "iam") -> ml_collections.ConfigDict:
  config = scrabble_configs.get_config("rimes,tiny")
  config.data_dir = str(tmp_path / "tfds")
  config.manual_dir = manual_dir
  config.rimes.alphabet = alphabet
  return config


def _examples(builder) -> dict[str, tuple[str, dict]]:
  examples = {}
  for split in builder.info.splits:
    source = builder.as_data_source(split)
    for i in range(len(source)):
      examples[source[i]["word_id"].decode()] = (split, source[i])
  return examples


def test_rimes_alphabet_extends_iam_and_holds_scrabblegans_french_characters():
  assert rimes_words.RIMES_ALPHABET.startswith(text.ALPHABET)
  assert len(set(rimes_words.RIMES_ALPHABET)) == len(rimes_words.RIMES_ALPHABET)
  assert set(SCRABBLEGAN_FRENCH) <= set(rimes_words.RIMES_ALPHABET)
  assert set("éèêëàâîïôùûüçÉÈÊÀÂÔÇ°€²") <= set(rimes_words.RIMES_ALPHABET)
  # A word in IAM's symbols has the same labels in both alphabets.
  np.testing.assert_array_equal(iam_words.encode_in("Madame", rimes_words.RIMES_ALPHABET),
                                text.encode("Madame"))
  assert iam_words.encode_in("é", rimes_words.RIMES_ALPHABET)[0] > len(text.ALPHABET)


def test_ground_truth_is_read_without_its_byte_order_mark_and_with_accents(tmp_path):
  root = make_rimes_fixture(tmp_path / "rimes")
  with open(os.path.join(root, GROUND_TRUTH["train"]), "rb") as fh:
    assert fh.read(3) == b"\xef\xbb\xbf"  # The fixture starts as the release does.
  lines = rimes_words.parse_ground_truth(os.path.join(root, GROUND_TRUTH["train"]))
  assert [(line.image, line.transcription) for line in lines] == [(i, t) for i, t, _ in TRAIN]
  assert lines[0].line_number == 1 and lines[-1].line_number == len(TRAIN)
  test_lines = rimes_words.parse_ground_truth(os.path.join(root, GROUND_TRUTH["test"]))
  assert [line.transcription for line in test_lines] == ["salutations", "août"]  # NFC again.
  assert len(test_lines[1].transcription) == 4
  sets = rimes_words.find_sets(root)
  assert {split: os.path.relpath(found.image_folder, root) for split, found in sets.items()} == {
      split: os.path.normpath(folder) for split, folder in RELEASE_FOLDERS.items()}


def test_builder_keeps_the_releases_splits_and_counts_every_dropped_word(tmp_path):
  root = make_rimes_fixture(tmp_path / "rimes")
  builder = handwriting.prepare(_config(tmp_path, root))
  assert builder.builder_config.name == "default"
  examples = _examples(builder)
  expected = {image: (split, word) for split, words in (("train", TRAIN), ("validation", VALIDATION),
                                                         ("test", TEST))
              for image, word, _ in words}
  assert {image: (split, ex["text"].decode()) for image, (split, ex) in examples.items()} == {
      image: expected[image] for image in ("lot_1/00001_L/00001_L_0_0.tiff",
                                           "lot_1/00001_L/00001_L_0_1.tiff",
                                           "lot_2/00002_L/00002_L_0_0.tiff",
                                           "lot_2/00002_L/00002_L_0_3.tiff",
                                           "lot_14/00950_L/00950_L_0_0.tiff",
                                           "lot_15/01100_L/01100_L_0_0.tiff")}
  for _, example in examples.values():
    word = example["text"].decode()
    assert example["image"].shape == (32, 16 * len(word), 1) and example["image"].dtype == np.uint8
    np.testing.assert_array_equal(example["labels"], text.encode(word))
    assert example["writer"] == iam_words.UNKNOWN_WRITER  # The release names no writers.
  assert {split: dict(counts) for split, counts in builder.dropped.items()} == DROPPED_IAM
  assert builder.info.metadata["dropped"] == DROPPED_IAM
  assert builder.info.metadata["alphabet"] == text.ALPHABET
  assert builder.info.metadata["alphabet_name"] == "iam"
  # Prepared once, then reused with its counts.
  reused = handwriting.prepare(_config(tmp_path, root))
  assert reused.info.metadata["dropped"] == DROPPED_IAM
  assert len(handwriting.load_split(_config(tmp_path, root), "train")) == 4
  config_checks.check_recognizer(_config(tmp_path, root))  # The models may train on these words.


def test_the_rimes_alphabet_keeps_accented_words_and_training_refuses_it(tmp_path):
  root = make_rimes_fixture(tmp_path / "rimes")
  config = _config(tmp_path, root, alphabet="rimes")
  builder = handwriting.prepare(config)
  assert builder.builder_config.name != "default"
  words = {ex["text"].decode(): ex for _, ex in _examples(builder).values()}
  assert {"était", "n°", "l'échéance", "reçu", "août", "Madame"} <= set(words)
  for word, example in words.items():
    decoded = "".join(rimes_words.RIMES_ALPHABET[i - 1] for i in example["labels"])
    assert decoded == word
  assert builder.info.metadata["alphabet"] == rimes_words.RIMES_ALPHABET
  assert sum(collections.Counter(c)["outside_alphabet"] for c in builder.dropped.values()) == 0
  with pytest.raises(UsageError, match=r"config.rimes.alphabet='rimes': the models .* IAM") as error:
    handwriting.load_split(config, "train")
  assert "\n" not in str(error.value)
  with pytest.raises(ConfigError, match="--config.rimes.alphabet=iam"):
    config_checks.check_recognizer(config)
  config_checks.check_data(config)  # Looking at the data is allowed.


def test_images_are_found_where_the_archives_unpack_or_flattened(tmp_path):
  flat = make_rimes_fixture(tmp_path / "flat", folders={"train": "training_WR",
                                                        "validation": "testdataset_ICDAR",
                                                        "test": "data_test"})
  sets = rimes_words.find_sets(flat)
  assert os.path.basename(sets["train"].image_folder) == "training_WR"
  assert os.path.basename(sets["validation"].image_folder) == "testdataset_ICDAR"
  # Only the training set is required.
  os.remove(os.path.join(flat, GROUND_TRUTH["validation"]))
  os.remove(os.path.join(flat, GROUND_TRUTH["test"]))
  assert set(rimes_words.find_sets(flat)) == {"train"}


def test_a_wrong_folder_is_a_clear_error_naming_the_layout(tmp_path):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    rimes_words.check_manual_dir(str(tmp_path / "nowhere"))
  (tmp_path / "empty").mkdir()
  with pytest.raises(FileNotFoundError,
                     match=r"(?s)has no groundtruth_training_icdar2011.txt[^\n]*\n.*FOLDER/training_WR/"):
    rimes_words.check_manual_dir(str(tmp_path / "empty"))
  root = make_rimes_fixture(tmp_path / "moved")
  os.rename(os.path.join(root, "trainingsnippets_icdar"), os.path.join(root, "elsewhere"))
  with pytest.raises(FileNotFoundError, match=r"none of the first images .* lot_1/00001_L"):
    rimes_words.check_manual_dir(root)
  (tmp_path / "blank").mkdir()
  (tmp_path / "blank" / GROUND_TRUTH["train"]).write_bytes(b"\xef\xbb\xbf\n\n")
  with pytest.raises(FileNotFoundError, match="empty groundtruth_training_icdar2011.txt"):
    rimes_words.check_manual_dir(str(tmp_path / "blank"))
  (tmp_path / "blank" / GROUND_TRUTH["train"]).write_bytes("x.tiff d\xe9j\xe0\n".encode("latin-1"))
  with pytest.raises(ValueError, match="is not UTF-8 text"):
    rimes_words.check_manual_dir(str(tmp_path / "blank"))
  config = _config(tmp_path, str(tmp_path / "empty"))
  with pytest.raises(ConfigError, match=r"^config.manual_dir=.*has no groundtruth_training"):
    config_checks.check_data(config)


def test_two_data_set_options_are_refused():
  with pytest.raises(UsageError, match="'iam' and 'rimes' both choose a data set"):
    scrabble_configs.get_config("iam,rimes")


def test_show_data_draws_the_rimes_words(tmp_path):
  root = make_rimes_fixture(tmp_path / "rimes")
  out = tmp_path / "out"
  proc = run_cli("experiments.show_data", "--config=configs/scrabble.py:rimes",
                 f"--config.manual_dir={root}", f"--workdir={out}",
                 f"--config.data_dir={tmp_path / 'tfds'}", "--config.rimes.alphabet=rimes",
                 "--words_per_writer=8")
  assert "train: 7 words by 1 writers" in proc.stdout, proc.stdout
  assert "validation: 2 words" in proc.stdout and "test: 2 words" in proc.stdout
  row = next(line for line in proc.stdout.splitlines() if line.strip().startswith("writer -1:"))
  assert sorted(row.split(":", 1)[1].split()) == sorted(
      ["Madame", "Monsieur", "était", "rendez-vous", "n°", "l'échéance", "d'assurance"])
  grid = out / "figures" / "sample_grid.png"
  assert grid.is_file() and grid.stat().st_size > 1000
