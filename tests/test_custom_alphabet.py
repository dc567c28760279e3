"""A custom alphabet and lexicon from text files: parsing and its errors, the lexicon filter, and a
ScrabbleGAN in another script (Greek words in IAM's layout) trained, scored and asked to write."""
import json
import os

import numpy as np
import pytest

from configs import scrabble as scrabble_configs
from ganxai_jax import config_checks
from ganxai_jax.data import handwriting
from ganxai_jax.data import lexicon
from ganxai_jax.data import text
from ganxai_jax.errors import ConfigError
from tests.conftest import run_cli
from tests.test_iam_words import make_protocol_fixture

GREEK = "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώς"
# (form, writer, split, words): Greek words, and one Latin word that the Greek alphabet lacks.
GREEK_FORMS = {"a01-000u": (0, "train", ("λόγος", "καλή", "μέρα", "hello")),
               "b02-010": (552, "train", ("νερό", "φως", "λόγος", "γάτα")),
               "c03-003": (7, "test", ("καλή", "νερό", "μέρα", "φως"))}
GREEK_LEXICON = ("λόγος", "καλή", "μέρα", "νερό", "φως", "γάτα", "ήλιος", "θάλασσα", "δρόμος", "word")


def test_an_alphabet_file_holds_one_symbol_per_line_with_the_space_and_line_endings():
  alphabet = text.parse_alphabet_file("a\r\nb\n\n \né\n", "letters.txt")
  assert alphabet.symbols == "ab é" and alphabet.num_classes == 5 and not alphabet.is_iam
  ids = alphabet.encode("é a")
  assert ids.tolist() == [4, 3, 1]
  assert alphabet.decode(ids) == "é a"
  assert alphabet.ctc_greedy_decode([0, 1, 1, 0, 1, 4, 4]) == "aaé"
  assert alphabet.to_file_text() == "a\nb\n \né\n"
  assert text.parse_alphabet_file(alphabet.to_file_text(), "again").symbols == alphabet.symbols
  # IAM's alphabet and the module's functions are unchanged.
  assert text.IAM.symbols == text.ALPHABET and text.IAM.num_classes == text.NUM_CLASSES == 81
  assert text.decode(text.encode(text.ALPHABET)) == text.ALPHABET


@pytest.mark.parametrize("content, message", [
    ("a\nbc\n", "line 2: 'bc' has 2 characters"),
    ("a\nb\na\n", r"line 3: the symbol 'a' \(U\+0061\) is already on line 1"),
    ("\n\n", "holds no symbol"),
])
def test_a_bad_alphabet_file_names_its_line(content, message):
  with pytest.raises(ValueError, match=message):
    text.parse_alphabet_file(content, "bad.txt")


def test_an_alphabet_file_is_read_as_utf8_with_or_without_a_byte_order_mark(tmp_path):
  path = tmp_path / "greek.txt"
  path.write_text("\n".join(GREEK) + "\n", encoding="utf-8-sig")
  assert text.read_alphabet_file(str(path)).symbols == GREEK
  path.write_bytes(b"a\n\xff\n")
  with pytest.raises(ValueError, match="is not UTF-8"):
    text.read_alphabet_file(str(path))
  with pytest.raises(FileNotFoundError, match="does not exist"):
    text.read_alphabet_file(str(tmp_path / "missing.txt"))


def test_words_outside_the_alphabet_are_encoded_by_no_one():
  alphabet = text.Alphabet(GREEK, name="Greek")
  with pytest.raises(ValueError, match=r"Word 'gamma' has characters outside Greek: 'g' \(U\+0067\)"):
    alphabet.encode("gamma")
  assert alphabet.unknown_characters("λόγοςx") == ["x"]


def test_a_lexicon_file_keeps_its_words_written_in_the_alphabet(tmp_path):
  path = tmp_path / "words.txt"
  path.write_text("\n".join(GREEK_LEXICON) + "\n\n  ", encoding="utf-8")
  greek = text.Alphabet(GREEK, name="Greek")
  words = lexicon.load_lexicon(1, 10, path=str(path), alphabet=greek)
  assert words == tuple(sorted(w for w in GREEK_LEXICON if w != "word"))
  assert lexicon.load_lexicon(5, 5, path=str(path), alphabet=greek) == ("ήλιος", "λόγος")
  with pytest.raises(ValueError, match="none of its 5 words of that length is written in abc"):
    lexicon.load_lexicon(4, 4, path=str(path), alphabet=text.Alphabet("abc", name="abc"))


def make_greek_iam_fixture(root) -> str:
  """An IAM folder in the release's layout whose words are Greek (one Latin word among them)."""
  return make_protocol_fixture(root, GREEK_FORMS)


def _greek_files(tmp_path) -> tuple[str, str]:
  alphabet, words = tmp_path / "greek_alphabet.txt", tmp_path / "greek_words.txt"
  alphabet.write_text("\n".join(GREEK) + "\n", encoding="utf-8")
  words.write_text("\n".join(GREEK_LEXICON) + "\n", encoding="utf-8")
  return str(alphabet), str(words)


def test_iam_layout_in_another_script_is_read_in_its_alphabet(tmp_path):
  alphabet_file, lexicon_file = _greek_files(tmp_path)
  config = scrabble_configs.get_config("tiny,iam")
  config.manual_dir = make_greek_iam_fixture(tmp_path / "iam")
  config.data_dir = str(tmp_path / "tfds")
  config.alphabet, config.lexicon = alphabet_file, lexicon_file
  config.batch_size = 8  # A multiple of the tests' 8 fake devices.
  config_checks.check_scrabble(config)
  train = handwriting.load_split(config, "train")
  greek = text.alphabet_of(config)
  # 'hello' is not Greek: the builder drops it; the others keep their labels in the Greek ids.
  assert sorted(handwriting.example_text(train[i]) for i in range(len(train))) == sorted(
      ["λόγος", "καλή", "μέρα", "νερό", "φως", "λόγος", "γάτα"])
  for i in range(len(train)):
    assert greek.decode(train[i]["labels"]) == handwriting.example_text(train[i])
  # With IAM's alphabet (the default) the Greek words are dropped: only 'hello' is left, and no test word.
  config.alphabet = ""
  latin = handwriting.load_split(config, "train")
  assert [handwriting.example_text(latin[i]) for i in range(len(latin))] == ["hello"]
  with pytest.raises(ValueError, match="has no split 'test'"):
    handwriting.load_split(config, "test")


def test_a_subset_alphabet_drops_the_synthetic_words_it_cannot_write(tmp_path):
  path = tmp_path / "lower.txt"
  path.write_text("\n".join("abcdefghijklmnopqrstuvwxyz") + "\n", encoding="utf-8")
  config = scrabble_configs.get_config("tiny")
  config.alphabet = str(path)
  words = handwriting.load_split(config, "train")
  iam_words = handwriting.load_split(scrabble_configs.get_config("tiny"), "train")
  assert 0 < len(words) < len(iam_words)
  lower = text.alphabet_of(config)
  for i in range(len(words)):
    word = handwriting.example_text(words[i])
    assert word.islower() and word.isalpha()
    np.testing.assert_array_equal(words[i]["labels"], lower.encode(word))


def test_bad_alphabet_and_lexicon_options_are_one_line_errors(tmp_path):
  config = scrabble_configs.get_config("tiny")
  config.batch_size = 8  # A multiple of the tests' 8 fake devices.
  config.alphabet = str(tmp_path / "missing.txt")
  with pytest.raises(ConfigError, match=r"config.alphabet=.*missing.txt.*does not exist"):
    config_checks.check_scrabble(config)
  alphabet_file, _ = _greek_files(tmp_path)
  config.alphabet = alphabet_file  # The built-in English lexicon has no Greek word.
  with pytest.raises(ConfigError, match=r"config.lexicon='': No word of the web2 lexicon .* written in"):
    config_checks.check_scrabble(config)


def test_a_greek_scrabblegan_trains_scores_and_writes_its_own_script(tmp_path):
  """Recognizer and ScrabbleGAN trained on Greek words through the CLIs; generate writes Greek and
  refuses Latin text with a one-line error; a resumed run refuses another alphabet."""
  alphabet_file, lexicon_file = _greek_files(tmp_path)
  iam = make_greek_iam_fixture(tmp_path / "iam")
  common = ["--config=configs/scrabble.py:tiny,iam", f"--config.manual_dir={iam}",
            f"--config.data_dir={tmp_path / 'tfds'}", "--config.bucket_size=10",
            f"--config.alphabet={alphabet_file}", f"--config.lexicon={lexicon_file}"]
  recognizer, run = tmp_path / "recognizer", tmp_path / "run"
  run_cli("experiments.train_recognizer", *common, f"--workdir={recognizer}", "--config.recognizer.num_steps=2",
          "--config.recognizer.batch_size=4")  # The fixture has 7 Greek training words.
  assert json.loads((recognizer / "recognizer.json").read_text())["alphabet"] == GREEK
  run_cli("experiments.train", *common, f"--workdir={run}", f"--config.eval_recognizer_workdir={recognizer}",
          "--config.conv_impl=lax", "--config.num_train_steps=2")
  run_config = json.loads((run / "config.json").read_text())
  assert run_config["alphabet_symbols"] == GREEK
  scores = json.loads((run / "eval.json").read_text())
  assert {example["asked"] for example in scores["examples"]} == {"καλή", "νερό", "μέρα", "φως"}
  assert all(set(example["read"]) <= set(GREEK) for example in scores["examples"])
  assert set("".join(scores["style_words"])) <= set(GREEK)  # The English defaults are not writable.

  # The run carries its alphabet: generate follows it even when the file is gone.
  os.remove(alphabet_file)
  output = tmp_path / "greek.png"
  run_cli("experiments.generate", f"--workdir={run}", "--text=καλή μέρα", "--num_styles=2", f"--output={output}")
  assert output.exists()
  latin = run_cli("experiments.generate", f"--workdir={run}", "--text=hello", f"--output={output}", check=False)
  assert latin.returncode == 2
  message = latin.stderr.strip().splitlines()[-1]
  assert "'h' (U+0068)" in message and f"it writes only the {len(GREEK)} symbols of its alphabet" in message

  # Resuming with another alphabet is refused before anything is trained.
  other = tmp_path / "other.txt"
  other.write_text("\n".join(GREEK[:-1]) + "\n", encoding="utf-8")
  config = scrabble_configs.get_config("tiny,iam")
  config.alphabet = str(other)
  with pytest.raises(ConfigError, match="was started with another alphabet"):
    handwriting.record_alphabet(config, str(run))
  config.alphabet = ""
  with pytest.raises(ConfigError, match=r"another alphabet \(32 symbols, this one has 80\)"):
    handwriting.record_alphabet(config, str(run))
