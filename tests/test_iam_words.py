"""Tests of the IAM words builder on a small fixture in IAM's exact layout."""
import os

import ml_collections
import numpy as np
import pytest
from PIL import Image

from ganxai_jax.data import handwriting
from ganxai_jax.data import iam_words
from ganxai_jax.data import text

WORDS_TXT_HEADER = """\
#--- words.txt ---------------------------------------------------------------#
#
# iam database word information
#
# format: a01-000u-00-00 ok 154 1 408 768 27 51 AT A
#
"""

# id, status, transcription, image (width, height) or None for a missing file, or "corrupt".
FIXTURE_WORDS = [
    ("a01-000u-00-00", "ok", "A", (30, 50)),
    ("a01-000u-00-01", "ok", "MOVE", (150, 50)),
    ("a01-000u-00-02", "er", "to", (60, 45)),         # Segmentation error: dropped by default.
    ("a01-000u-00-03", "ok", "stop", (120, 40)),
    ("a01-000u-00-04", "ok", ".", (10, 10)),            # Punctuation only: dropped.
    ("a01-000u-00-05", "ok", "Mr.", None),              # Missing image: skipped and counted.
    ("a01-000u-00-06", "ok", "I", (600, 40)),           # 480 px per character: width outlier.
    ("a01-000u-01-00", "ok", "Gaitskell", "corrupt"),   # Unreadable PNG: skipped.
    ("b02-010-00-00", "ok", "hello", (140, 48)),
    ("b02-010-00-01", "ok", "world's", (190, 52)),
]


def _write_png(path: str, size: tuple[int, int], seed: int) -> None:
  width, height = size
  rng = np.random.default_rng(seed)
  image = np.full((height, width), 250, np.uint8)
  top, bottom = height // 4, 3 * height // 4
  image[top:bottom, 2:width - 2] = rng.integers(0, 80, (bottom - top, width - 4))
  Image.fromarray(image).save(path)


def make_iam_fixture(root, with_forms: bool = True, partition: bool = False) -> str:
  """Writes words.txt, forms.txt and words/<part>/<form>/<id>.png under `root` as IAM does."""
  root = str(root)
  lines = [WORDS_TXT_HEADER]
  for i, (word_id, status, transcription, image) in enumerate(FIXTURE_WORDS):
    lines.append(f"{word_id} {status} 154 408 768 27 51 NN {transcription}\n")
    part, form = word_id.split("-")[0], "-".join(word_id.split("-")[:2])
    folder = os.path.join(root, "words", part, form)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, word_id + ".png")
    if image == "corrupt":
      with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n this is not a PNG body")
    elif image is not None:
      _write_png(path, image, i)
  with open(os.path.join(root, "words.txt"), "w", encoding="utf-8") as fh:
    fh.writelines(lines)
  if with_forms:
    with open(os.path.join(root, "forms.txt"), "w", encoding="utf-8") as fh:
      fh.write("#--- forms.txt ---\n# format: a01-000u 000 2 prt 7 5 52 36\n")
      fh.write("a01-000u 000 2 prt 7 5 52 36\nb02-010 001 3 prt 8 6 60 40\n")
  if partition:
    for name, lines_of_split in (("trainset.txt", ["a01-000u-00", "a01-000u-01"]),
                                 ("validationset1.txt", []), ("validationset2.txt", []),
                                 ("testset.txt", ["b02-010-00"])):
      with open(os.path.join(root, name), "w", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines_of_split))
  return root


def _config(tmp_path, manual_dir, **iam_options) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict({
      "dataset": "iam_words", "synthetic_size": "tiny", "data_dir": str(tmp_path / "tfds"),
      "manual_dir": manual_dir, "seed": 0, "batch_size": 2, "bucket_size": 1,
      "iam": {"keep_segmentation_errors": False, "min_width_per_char": 5.33,
              "max_width_per_char": 48.0, "test_percent": 50}})
  config.iam.update(iam_options)
  return config


def _all_examples(builder):
  examples = {}
  for split in builder.info.splits:
    source = builder.as_data_source(split)
    for i in range(len(source)):
      example = source[i]
      examples[example["word_id"].decode()] = (split, example)
  return examples


def test_parse_words_txt_skips_comments_and_reads_status(tmp_path):
  root = make_iam_fixture(tmp_path / "iam")
  records = iam_words.parse_words_txt(os.path.join(root, "words.txt"))
  assert len(records) == len(FIXTURE_WORDS)
  assert records[2].word_id == "a01-000u-00-02" and not records[2].segmentation_ok
  assert records[0].form_id == "a01-000u" and records[0].line_id == "a01-000u-00"
  assert records[0].image_path("R").replace(os.sep, "/") == "R/words/a01/a01-000u/a01-000u-00-00.png"


def test_malformed_words_txt_line_names_file_and_line(tmp_path):
  path = tmp_path / "words.txt"
  path.write_text("# comment\n"
                  "a01-000u-00-00 ok 154 408 768 27 51 AT A\n"
                  "a01-000u-00-01 maybe 1 2 3 4 5 NN x\n")
  with pytest.raises(ValueError, match=r"words.txt:3: malformed .*'maybe'"):
    iam_words.parse_words_txt(str(path))
  path.write_text("a01-000u-00-00 ok 154\n")
  with pytest.raises(ValueError, match=r"words.txt:1: malformed .*9 space-separated fields"):
    iam_words.parse_words_txt(str(path))


def test_missing_manual_folder_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    handwriting.prepare(_config(tmp_path, str(tmp_path / "nowhere")))
  with pytest.raises(FileNotFoundError, match="manual_dir"):
    handwriting.prepare(_config(tmp_path, None))
  (tmp_path / "empty").mkdir()
  with pytest.raises(FileNotFoundError, match="no words.txt"):
    iam_words.check_manual_dir(str(tmp_path / "empty"))


def test_builder_applies_scrabblegan_preprocessing_and_skips_bad_images(tmp_path):
  root = make_iam_fixture(tmp_path / "iam")
  builder = handwriting.prepare(_config(tmp_path, root))
  examples = _all_examples(builder)
  # Kept: ok words with letters, readable images and 5.33-48 px per character after scaling.
  assert set(examples) == {"a01-000u-00-00", "a01-000u-00-01", "a01-000u-00-03",
                           "b02-010-00-00", "b02-010-00-01"}
  for split, example in examples.values():
    word = example["text"].decode()
    assert example["image"].dtype == np.uint8
    assert example["image"].shape == (32, 16 * len(word), 1)
    np.testing.assert_array_equal(example["labels"], text.encode(word))
  assert examples["b02-010-00-01"][1]["writer"] == 1
  assert examples["a01-000u-00-00"][1]["writer"] == 0
  # Writer-disjoint: each writer's words lie in one split only.
  split_of_writer = {}
  for split, example in examples.values():
    assert split_of_writer.setdefault(int(example["writer"]), split) == split


def test_segmentation_errors_can_be_kept_and_thresholds_configured(tmp_path):
  root = make_iam_fixture(tmp_path / "iam")
  builder = handwriting.prepare(_config(tmp_path, root, keep_segmentation_errors=True,
                                        max_width_per_char=1000.0))
  examples = _all_examples(builder)
  assert "a01-000u-00-02" in examples  # The 'er' word.
  assert "a01-000u-00-06" in examples  # The wide 'I'.
  assert builder.builder_config.name != "default"


def test_standard_partition_lists_define_the_splits(tmp_path):
  root = make_iam_fixture(tmp_path / "iam", with_forms=False, partition=True)
  builder = handwriting.prepare(_config(tmp_path, root, test_percent=10))  # All defaults.
  assert builder.builder_config.name == "default"
  examples = _all_examples(builder)
  assert {k for k, (split, _) in examples.items() if split == "test"} == {
      "b02-010-00-00", "b02-010-00-01"}
  assert all(example["writer"] == iam_words.UNKNOWN_WRITER for _, example in examples.values())


def test_load_word_image_reports_why_it_skips(tmp_path):
  assert iam_words.load_word_image(str(tmp_path / "absent.png"), 3, 5.33, 48)[1] == "missing"
  bad = tmp_path / "bad.png"
  bad.write_bytes(b"not an image")
  assert iam_words.load_word_image(str(bad), 3, 5.33, 48)[1] == "unreadable"
  _write_png(str(tmp_path / "narrow.png"), (10, 60), 0)
  assert iam_words.load_word_image(str(tmp_path / "narrow.png"), 5, 5.33, 48)[1] == "width_outlier"


def test_selection_counts_and_small_folders_still_get_a_test_writer(tmp_path):
  root = make_iam_fixture(tmp_path / "iam")
  records = iam_words.parse_words_txt(os.path.join(root, "words.txt"))
  kept, dropped = iam_words.select_words(records, keep_segmentation_errors=False)
  assert dropped == {"segmentation_error": 1, "punctuation_only": 1}
  assert len(kept) == len(FIXTURE_WORDS) - 2
  writers = iam_words.parse_forms_txt(os.path.join(root, "forms.txt"))
  assert writers == {"a01-000u": 0, "b02-010": 1}
  split = iam_words.writer_disjoint_split(kept, writers, test_percent=10)
  assert split["train"] and split["test"]
  test_forms = {r.form_id for r in split["test"]}
  assert not test_forms & {r.form_id for r in split["train"]}
