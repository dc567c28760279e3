"""Tests of the IAM words builder on a small fixture in IAM's exact layout."""
import collections
import json
import os

import ml_collections
import numpy as np
import pytest
from PIL import Image

from ganxai_jax.data import handwriting
from ganxai_jax.data import iam_words
from ganxai_jax.data import text
from tests.conftest import run_cli

# The headers of the release's ascii/words.txt and ascii/forms.txt.
WORDS_TXT_HEADER = """\
#--- words.txt ---------------------------------------------------------------#
#
# iam database word information
#
# format: a01-000u-00-00 ok 154 1 408 768 27 51 AT A
#
#     a01-000u-00-00  -> word id for line 00 in form a01-000u
#     ok              -> result of word segmentation
#                            ok: word was correctly
#                            er: segmentation of word can be bad
#
#     154             -> graylevel to binarize the line containing this word
#     1               -> number of components for this word
#     408 768 27 51   -> bounding box around this word in x,y,w,h format
#     AT              -> the grammatical tag for this word, see the
#                        file tagset.txt for an explanation
#     A               -> the transcription for this word
#
"""

FORMS_TXT_HEADER = """\
#--- forms.txt ---------------------------------------------------------------#
#
# iam database form information
#
# format: a01-000u 000 2 prt 7 5 52 36
#
#     a01-000u  -> form id
#     000       -> writer id
#     2         -> number of sentences
#     prt       -> word segmentation
#                     prt: some lines correctly segmented
#                     all: all lines correctly segmented
#     7 5       -> 5 of 7 lines are correctly segmented into words
#     52 36     -> the form contains 52 words, 36 are in lines which
#                  have been correctly segmented
#
"""

# id, segmentation, tag, transcription, image (width, height) or None for a missing file, or
# "corrupt". The first seven are the release's first words.txt lines (a01-000u-00-02 is `ok` there).
FIXTURE_WORDS = [
    ("a01-000u-00-00", "ok", "AT", "A", (30, 50)),
    ("a01-000u-00-01", "ok", "NN", "MOVE", (150, 50)),
    ("a01-000u-00-02", "err", "TO", "to", (60, 45)),      # Segmentation error: dropped by default.
    ("a01-000u-00-03", "ok", "VB", "stop", (120, 40)),
    ("a01-000u-00-04", "ok", "NPT", "Mr.", None),          # Missing image.
    ("a01-000u-00-05", "ok", "NP", "Gaitskell", "corrupt"),  # Unreadable PNG.
    ("a01-000u-00-06", "ok", "IN", "from", (600, 40)),     # 120 px per character: width outlier.
    ("a01-000u-01-00", "ok", ".", ".", (10, 10)),           # Punctuation only.
    ("a01-000u-01-01", "ok", '"', '"', (12, 20)),           # Punctuation only.
    ("a01-000u-01-02", "ok", "NN", "caf\u00e9", (100, 50)),  # Outside the alphabet.
    ("b02-010-00-00", "ok", "UH", "hello", (140, 48)),
    ("b02-010-00-01", "ok", "NN$", "world's", (190, 52)),
    ("b02-010-00-02", "ok", "NN", "#", (15, 40)),           # Punctuation only.
]
KEPT = {"a01-000u-00-00", "a01-000u-00-01", "a01-000u-00-03", "b02-010-00-00", "b02-010-00-01"}
# What the default preprocessing drops from the fixture, by reason.
FIXTURE_DROPPED = {"segmentation_error": 1, "punctuation_only": 3, "outside_alphabet": 1,
                   "missing": 1, "unreadable": 1, "width_outlier": 1}


def _write_png(path: str, size: tuple[int, int], seed: int) -> None:
  width, height = size
  rng = np.random.default_rng(seed)
  image = np.full((height, width), 250, np.uint8)
  top, bottom = height // 4, 3 * height // 4
  image[top:bottom, 2:width - 2] = rng.integers(0, 80, (bottom - top, width - 4))
  Image.fromarray(image).save(path)


def words_txt_line(word_id: str, status: str, tag: str, transcription: str, i: int,
                   ten_fields: bool) -> str:
  """A data line as the release writes it (nine fields), or as its header's example (ten)."""
  components = f" {1 + i % 3}" if ten_fields else ""
  return f"{word_id} {status} {150 + i}{components} {400 + 50 * i} 768 {27 + i} 51 {tag} {transcription}\n"


def make_iam_fixture(root, with_forms: bool = True, partition: bool = False,
                     ten_fields: bool = False) -> str:
  """Writes words.txt, forms.txt and words/<part>/<form>/<id>.png under `root` as IAM does."""
  root = str(root)
  lines = [WORDS_TXT_HEADER]
  for i, (word_id, status, tag, transcription, image) in enumerate(FIXTURE_WORDS):
    lines.append(words_txt_line(word_id, status, tag, transcription, i, ten_fields))
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
      fh.write(FORMS_TXT_HEADER)
      fh.write("a01-000u 000 2 prt 7 5 52 36\nb02-010 552 3 all 8 8 60 60\n")
  if partition:  # Line a01-000u-01 is in no list.
    for name, lines_of_split in (("trainset.txt", ["a01-000u-00"]),
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


def test_parse_words_txt_skips_comments_and_reads_every_field(tmp_path):
  root = make_iam_fixture(tmp_path / "iam")
  records = iam_words.parse_words_txt(os.path.join(root, "words.txt"))
  assert [r.word_id for r in records] == [w[0] for w in FIXTURE_WORDS]
  assert [r.transcription for r in records] == [w[3] for w in FIXTURE_WORDS]
  assert [r.tag for r in records] == [w[2] for w in FIXTURE_WORDS]
  assert [r.segmentation_ok for r in records] == [w[1] == "ok" for w in FIXTURE_WORDS]
  assert records[1].graylevel == 151 and records[1].bbox == (450, 768, 28, 51)
  assert records[1].num_components is None  # The release's data lines leave it out.
  assert records[0].form_id == "a01-000u" and records[0].line_id == "a01-000u-00"
  assert records[0].image_path("R").replace(os.sep, "/") == "R/words/a01/a01-000u/a01-000u-00-00.png"
  ten = iam_words.parse_words_txt(os.path.join(make_iam_fixture(tmp_path / "ten", ten_fields=True),
                                               "words.txt"))
  assert [(r.transcription, r.tag, r.bbox) for r in ten] == [
      (r.transcription, r.tag, r.bbox) for r in records]
  assert [r.num_components for r in ten[:4]] == [1, 2, 3, 1]


def test_words_txt_lines_in_the_release_and_header_forms(tmp_path):
  """The header's ten-field example and the release's nine-field data line give the bare word."""
  path = tmp_path / "words.txt"
  path.write_text(WORDS_TXT_HEADER
                  + "a01-000u-00-00 ok 154 1 408 768 27 51 AT A\n"
                  + "a01-000u-00-00 ok 154 408 768 27 51 AT A\n"
                  + "a01-000u-01-00 ok 156 1 395 932 12 40 . .\n"
                  + "a01-000u-01-01 ok 156 1 395 932 12 40 NN #\n"
                  + 'a01-000u-01-02 ok 156 1 395 932 12 40 " "\n'
                  + "a01-000u-01-03 err 156 -1 -1 -1 -1 NN to\n"
                  + "a01-000u-01-04 er 156 1 -1 -1 -1 -1 NN at\r\n"
                  + "a01-000u-01-05 ok 156 1 395 932 12 40 NN .\n")
  header, release, dot, hash_, quote, err, er, nn_dot = iam_words.parse_words_txt(str(path))
  assert (header.transcription, header.tag, header.num_components) == ("A", "AT", 1)
  assert (header.graylevel, header.bbox) == (154, (408, 768, 27, 51))
  assert (release.transcription, release.tag, release.num_components) == ("A", "AT", None)
  assert (release.graylevel, release.bbox) == (154, (408, 768, 27, 51))
  assert (dot.transcription, dot.tag) == (".", ".")
  assert hash_.transcription == "#" and quote.transcription == '"'
  assert not err.segmentation_ok and not er.segmentation_ok and err.bbox == (-1, -1, -1, -1)
  assert er.transcription == "at"
  assert (nn_dot.transcription, nn_dot.tag) == (".", "NN")
  kept, dropped = iam_words.select_words([header, release, dot, hash_, quote, err, nn_dot],
                                         keep_segmentation_errors=False)
  assert kept == [header, release]
  assert dropped == {"punctuation_only": 4, "segmentation_error": 1}


def test_malformed_words_txt_line_names_file_and_line(tmp_path):
  path = tmp_path / "words.txt"
  path.write_text("# comment\n"
                  "a01-000u-00-00 ok 154 408 768 27 51 AT A\n"
                  "a01-000u-00-01 maybe 154 507 766 213 48 NN MOVE\n")
  with pytest.raises(ValueError, match=r"words.txt:3: malformed .*'maybe'"):
    iam_words.parse_words_txt(str(path))
  for line, problem in (("a01-000u-00-00 ok 154 768 27 51 AT A", "found 8"),  # No x.
                        ("a01-000u-00-00 ok 154 1 408 768 27 51 AT A B", "found 11"),
                        ("a01-000u-00-00 ok 154", "found 3"),
                        ("a01-000u-00-00 ok 154 X 768 27 51 AT A", "not all integers"),
                        ("a01-000u-00-00 ok 154 1 408 768 27 AT NN A", "not all integers"),
                        ("a01-000u-00 ok 154 408 768 27 51 AT A", "not of the form")):
    path.write_text(WORDS_TXT_HEADER + "a01-000u-00-00 ok 154 408 768 27 51 AT A\n" + line + "\n")
    line_number = WORDS_TXT_HEADER.count("\n") + 2  # After the header and one good line.
    with pytest.raises(ValueError,
                       match=rf"words.txt:{line_number}: malformed words.txt line \(.*{problem}"):
      iam_words.parse_words_txt(str(path))


def test_parse_forms_txt_reads_every_field_and_names_a_malformed_line(tmp_path):
  root = make_iam_fixture(tmp_path / "iam")
  forms = iam_words.parse_forms_txt(os.path.join(root, "forms.txt"))
  assert forms["a01-000u"] == iam_words.FormRecord("a01-000u", 0, 2, "prt", 7, 5, 52, 36)
  assert forms["b02-010"].writer == 552 and forms["b02-010"].segmentation == "all"
  assert iam_words.form_writers(forms) == {"a01-000u": 0, "b02-010": 552}
  path = tmp_path / "forms.txt"
  for line, problem in (("a01-000u 000 2 prt 7 5 52", "expected 8 fields, found 7"),
                        ("a01-000u abc 2 prt 7 5 52 36", "writer id and counts must be")):
    path.write_text(FORMS_TXT_HEADER + line + "\n")
    line_number = FORMS_TXT_HEADER.count("\n") + 1
    with pytest.raises(ValueError,
                       match=rf"forms.txt:{line_number}: malformed forms.txt line \({problem}"):
      iam_words.parse_forms_txt(str(path))


def _total_dropped(dropped_by_split) -> dict:
  total = collections.Counter()
  for counts in dropped_by_split.values():
    total.update(counts)
  return {reason: n for reason, n in total.items() if n}


def test_missing_manual_folder_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    handwriting.prepare(_config(tmp_path, str(tmp_path / "nowhere")))
  with pytest.raises(FileNotFoundError, match="manual_dir"):
    handwriting.prepare(_config(tmp_path, None))
  (tmp_path / "empty").mkdir()
  with pytest.raises(FileNotFoundError, match="no words.txt"):
    iam_words.check_manual_dir(str(tmp_path / "empty"))


@pytest.mark.parametrize("ten_fields", [False, True])
def test_builder_applies_scrabblegan_preprocessing_and_skips_bad_images(tmp_path, ten_fields):
  root = make_iam_fixture(tmp_path / "iam", ten_fields=ten_fields)
  builder = handwriting.prepare(_config(tmp_path, root))
  examples = _all_examples(builder)
  # Kept: ok words with letters, readable images and 5.33-48 px per character after scaling.
  assert set(examples) == KEPT
  tags = {w[0]: w[2] for w in FIXTURE_WORDS}
  for word_id, (split, example) in examples.items():
    word = example["text"].decode()
    assert word == {w[0]: w[3] for w in FIXTURE_WORDS}[word_id]
    assert example["tag"].decode() == tags[word_id]
    assert example["image"].dtype == np.uint8
    assert example["image"].shape == (32, 16 * len(word), 1)
    np.testing.assert_array_equal(example["labels"], text.encode(word))
  assert examples["b02-010-00-01"][1]["writer"] == 552
  assert examples["a01-000u-00-00"][1]["writer"] == 0
  # Writer-disjoint: each writer's words lie in one split only.
  split_of_writer = {}
  for split, example in examples.values():
    assert split_of_writer.setdefault(int(example["writer"]), split) == split
  # Every dropped word is counted by reason, split by split, and kept in the metadata.
  assert set(builder.dropped) == set(builder.info.splits)
  assert _total_dropped(builder.dropped) == FIXTURE_DROPPED
  assert builder.info.metadata["dropped"] == {
      split: {r: n for r, n in counts.items() if n} for split, counts in builder.dropped.items()}
  # A prepared data set is reused, and its counts with it.
  reused = handwriting.prepare(_config(tmp_path, root))
  assert reused.dropped == {}
  assert _total_dropped(reused.info.metadata["dropped"]) == FIXTURE_DROPPED


def test_segmentation_errors_can_be_kept_and_thresholds_configured(tmp_path):
  root = make_iam_fixture(tmp_path / "iam")
  builder = handwriting.prepare(_config(tmp_path, root, keep_segmentation_errors=True,
                                        max_width_per_char=1000.0))
  examples = _all_examples(builder)
  assert "a01-000u-00-02" in examples  # The 'err' word.
  assert "a01-000u-00-06" in examples  # The wide 'from'.
  assert builder.builder_config.name != "default"


def test_standard_partition_lists_define_the_splits(tmp_path):
  root = make_iam_fixture(tmp_path / "iam", with_forms=False, partition=True)
  builder = handwriting.prepare(_config(tmp_path, root, test_percent=10))  # All defaults.
  assert builder.builder_config.name == "default"
  examples = _all_examples(builder)
  assert {k: split for k, (split, _) in examples.items()} == {
      "a01-000u-00-00": "train", "a01-000u-00-01": "train", "a01-000u-00-03": "train",
      "b02-010-00-00": "test", "b02-010-00-01": "test"}
  assert all(example["writer"] == iam_words.UNKNOWN_WRITER for _, example in examples.values())
  # Line a01-000u-01 is in no list: its three words are dropped as not in the partition.
  assert builder.dropped["unassigned"] == {"not_in_partition": 3}
  assert builder.dropped["train"] == {"segmentation_error": 1, "missing": 1, "unreadable": 1,
                                      "width_outlier": 1}
  assert builder.dropped["test"] == {"punctuation_only": 1}
  assert "validation" not in builder.info.splits  # Both validation lists are empty here.


def test_partition_lists_read_line_ids_in_the_task_subfolder(tmp_path):
  root = tmp_path / "iam"
  folder = root / "largeWriterIndependentTextLineRecognitionTask"
  folder.mkdir(parents=True)
  for name, content in (("trainset.txt", "a01-000u-00\na01-000u-01\n"),
                        ("validationset1.txt", "a01-003-00\n"),
                        ("validationset2.txt", "a01-007-00\n\n"), ("testset.txt", "b02-010-00\n")):
    (folder / name).write_text(content)
  assert iam_words.read_partition(str(root)) == {
      "train": {"a01-000u-00", "a01-000u-01"}, "validation": {"a01-003-00", "a01-007-00"},
      "test": {"b02-010-00"}}
  (folder / "testset.txt").unlink()
  assert iam_words.read_partition(str(root)) is None


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
  assert dropped == {"segmentation_error": 1, "punctuation_only": 3, "outside_alphabet": 1}
  assert len(kept) == len(FIXTURE_WORDS) - 5
  writers = iam_words.form_writers(iam_words.parse_forms_txt(os.path.join(root, "forms.txt")))
  split = iam_words.writer_disjoint_split(kept, writers, test_percent=10)
  assert split["train"] and split["test"]
  test_forms = {r.form_id for r in split["test"]}
  assert not test_forms & {r.form_id for r in split["train"]}


# Three writers' forms in the release's layout: two for train, one for test, by the partition lists.
PROTOCOL_FORMS = {"a01-000u": (0, "train", ("the", "word", "hand", "wrote")),
                  "b02-010": (552, "train", ("was", "stop", "hand", "letter")),
                  "c03-003": (7, "test", ("the", "word", "hand", "wrote"))}


def make_protocol_fixture(root, forms_words: dict = PROTOCOL_FORMS) -> str:
  """An IAM folder (words.txt, forms.txt, word images, partition lists) with the forms of `forms_words`
  ({form: (writer, split, words)}; by default 8 train and 4 test words)."""
  root = str(root)
  lines, forms, lists = [WORDS_TXT_HEADER], [FORMS_TXT_HEADER], {"train": [], "test": []}
  i = 0
  for form, (writer, split, words) in forms_words.items():
    forms.append(f"{form} {writer:03d} 1 all 1 1 {len(words)} {len(words)}\n")
    lists[split].append(f"{form}-00\n")
    folder = os.path.join(root, "words", form.split("-")[0], form)
    os.makedirs(folder)
    for position, word in enumerate(words):
      word_id = f"{form}-00-{position:02d}"
      lines.append(words_txt_line(word_id, "ok", "NN", word, i, ten_fields=False))
      _write_png(os.path.join(folder, word_id + ".png"), (30 * len(word), 50), i)
      i += 1
  for name, content in (("words.txt", lines), ("forms.txt", forms), ("trainset.txt", lists["train"]),
                        ("validationset1.txt", []), ("validationset2.txt", []),
                        ("testset.txt", lists["test"])):
    with open(os.path.join(root, name), "w", encoding="utf-8") as fh:
      fh.writelines(content)
  return root


def test_iam_evaluation_protocol_through_the_clis(tmp_path):
  """The README's IAM protocol on a folder in the release's layout: the evaluation recognizer trained
  on IAM's train split, a ScrabbleGAN trained on it, and `experiments.evaluate` scoring the test words."""
  iam = make_protocol_fixture(tmp_path / "iam")
  common = ["--config=configs/scrabble.py:tiny,iam", f"--config.manual_dir={iam}",
            f"--config.data_dir={tmp_path / 'tfds'}", "--config.bucket_size=10"]
  recognizer, run = tmp_path / "recognizer", tmp_path / "run"
  run_cli("experiments.train_recognizer", *common, f"--workdir={recognizer}", "--config.recognizer.num_steps=2")
  assert json.loads((recognizer / "eval.json").read_text())["num_words"] == 4  # IAM's test words.
  run_cli("experiments.train", *common, f"--workdir={run}", f"--config.eval_recognizer_workdir={recognizer}",
          "--config.conv_impl=lax", "--config.num_train_steps=2")
  trained = json.loads((run / "eval.json").read_text())
  assert trained["dataset"] == "iam_words" and trained["num_words"] == 4
  assert trained["split_rule"].startswith("IAM's large writer independent text line recognition task")
  # The floor: the 4 training words that share a test word's length (the, word, hand, hand; not `wrote`).
  assert trained["fid_real_vs_real_num_words"] == 4 and trained["fid_real_vs_real"] >= 0
  assert {example["asked"] for example in trained["examples"]} == {"the", "word", "hand", "wrote"}
  for key in ("cer", "wer", "real_cer", "real_wer", "fid"):
    assert trained[key] >= 0, key

  os.remove(run / "eval.json")
  run_cli("experiments.evaluate", f"--workdir={run}")
  again = json.loads((run / "eval.json").read_text())
  for key in ("num_words", "split_rule", "examples", "fid_real_vs_real_num_words"):
    assert again[key] == trained[key], key
  for key in ("cer", "wer", "fid", "fid_real_vs_real"):
    assert again[key] == pytest.approx(trained[key], rel=1e-4), key


def test_split_rule_says_how_the_splits_were_made():
  assert iam_words.split_rule(with_partition=True, with_forms=True, test_percent=10).startswith(
      "IAM's large writer independent text line recognition task: train = trainset.txt")
  assert iam_words.split_rule(with_partition=False, with_forms=True, test_percent=10) == (
      "writer-disjoint hash split: 10% of the writers (forms.txt) in test, the rest in train")
  assert iam_words.split_rule(with_partition=False, with_forms=False, test_percent=25) == (
      "writer-disjoint hash split: 25% of the forms (no forms.txt: writers unknown) in test, the rest in train")
