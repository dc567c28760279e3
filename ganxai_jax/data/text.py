"""Alphabets and CTC label coding: ScrabbleGAN's IAM alphabet, and custom ones from a file.

ScrabbleGAN (Fogel et al., CVPR 2020) writes and reads the 80 symbols that occur in the IAM offline
words database. We keep its symbol order (most frequent first, as the official code lists them) so
that label ids match the published models:

    index  symbols
     1-16  ``O n l y ␣ t h e w i g s o f r c``   (␣ is the space character)
    17-32  ``v d a m p b k u q . A - 2 1 0 x``
    33-48  ``T 5 ' M D L , R Y H J " I S P W``
    49-64  ``E N j & B C 9 3 V G F K z ( ) ;``
    65-80  ``# : ! 7 U 6 4 Q 8 ? + * Z X / %``

That is: all 26 lower-case and 26 upper-case Latin letters, the ten digits, the space, and the
17 punctuation marks ``. - ' , " & ( ) ; # : ! ? + * / %``. Id 0 is the CTC blank, so symbol ids
run from 1 to 80 and a recognizer has 81 output classes.

`Alphabet` codes any symbol list the same way (`IAM` is the one above; the module functions `encode`,
`decode`, `ctc_greedy_decode` and `unknown_characters` are IAM's). A custom alphabet comes from a UTF-8
file with one symbol per line (`read_alphabet_file`), named by `config.alphabet`; `alphabet_of(config)`
gives a config's alphabet, preferring the symbols a run recorded in its config.json.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import os
from typing import Any, Iterable

import numpy as np

ALPHABET = "Only thewigsofrcvdampbkuq.A-210xT5'MDL,RYHJ\"ISPWENj&BC93VGFKz();#:!7U64Q8?+*ZX/%"
BLANK_ID = 0
NUM_CLASSES = len(ALPHABET) + 1  # 80 symbols + the CTC blank.


@dataclasses.dataclass(frozen=True)
class Alphabet:
  """The symbols a model writes and reads, in id order: symbol i has id i + 1, id 0 is the CTC blank.

  `IAM` (ScrabbleGAN's 80 symbols) is the default of every model; `from_file` reads a custom one.
  `name` says where the symbols came from, for messages.
  """
  symbols: str
  name: str = "the 80-symbol IAM alphabet"

  def __post_init__(self):
    if not self.symbols:
      raise ValueError("An alphabet needs at least one symbol.")
    repeated = sorted(c for c, n in collections.Counter(self.symbols).items() if n > 1)
    if repeated:
      raise ValueError(f"Alphabet symbols repeat: {repeated}.")

  @functools.cached_property
  def _ids(self) -> dict[str, int]:
    return {symbol: i + 1 for i, symbol in enumerate(self.symbols)}

  @property
  def num_symbols(self) -> int:
    return len(self.symbols)

  @property
  def num_classes(self) -> int:
    """Symbols plus the CTC blank: a recognizer's output classes."""
    return len(self.symbols) + 1

  @property
  def is_iam(self) -> bool:
    return self.symbols == ALPHABET

  def unknown_characters(self, text: str) -> list[str]:
    """The distinct characters of `text` that are not in the alphabet, in order of appearance."""
    seen: list[str] = []
    for char in text:
      if char not in self._ids and char not in seen:
        seen.append(char)
    return seen

  def describe_unknown(self, text: str) -> str:
    """The characters of `text` outside the alphabet as `'é' (U+00E9), ...`; '' when there are none."""
    return ", ".join(f"{c!r} (U+{ord(c):04X})" for c in self.unknown_characters(text))

  def encode(self, text: str) -> np.ndarray:
    """Encodes a word as int32 symbol ids in 1..num_symbols (0 is kept for the CTC blank).

    Raises:
      ValueError: if `text` is empty or holds a character outside the alphabet; the message names it.
    """
    if not text:
      raise ValueError("Cannot encode an empty word: a word needs at least one character.")
    unknown = self.describe_unknown(text)
    if unknown:
      raise ValueError(f"Word {text!r} has characters outside {self.name}: {unknown}.")
    return np.array([self._ids[c] for c in text], dtype=np.int32)

  def decode(self, ids: Iterable[int]) -> str:
    """Maps symbol ids back to text, skipping blanks (0); no CTC collapsing (see `ctc_greedy_decode`)."""
    chars = []
    for i in np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).reshape(-1):
      i = int(i)
      if i == BLANK_ID:
        continue
      if not 1 <= i <= len(self.symbols):
        raise ValueError(f"Symbol id {i} is outside 0..{len(self.symbols)}.")
      chars.append(self.symbols[i - 1])
    return "".join(chars)

  def ctc_greedy_decode(self, frame_ids: Iterable[int]) -> str:
    """Best-path CTC decoding of per-frame argmax ids: collapse repeats, then drop blanks.

    `[0, 5, 5, 0, 5, 3, 3]` decodes to the symbols of ids `[5, 5, 3]`: a blank between two equal
    symbols keeps them apart.
    """
    frame_ids = np.asarray(list(frame_ids) if not isinstance(frame_ids, np.ndarray) else frame_ids)
    frame_ids = frame_ids.reshape(-1)
    if frame_ids.size == 0:
      return ""
    keep = np.ones(frame_ids.shape, dtype=bool)
    keep[1:] = frame_ids[1:] != frame_ids[:-1]
    return self.decode(frame_ids[keep & (frame_ids != BLANK_ID)])

  def to_file_text(self) -> str:
    """The alphabet in the file format `parse_alphabet_file` reads: one symbol per line."""
    return "".join(f"{symbol}\n" for symbol in self.symbols)


IAM = Alphabet(ALPHABET)


def parse_alphabet_file(content: str, name: str) -> Alphabet:
  """An alphabet from the text of an alphabet file: UTF-8, one symbol per line, in id order.

  A line holding a single space is the space symbol; empty lines are skipped; a line ending `\r\n`
  counts as ending `\n`. Any other line must hold exactly one character.

  Raises:
    ValueError: naming the first line that holds more than one character, a repeated symbol with
      both its lines, or an alphabet without symbols.
  """
  symbols: list[str] = []
  line_of: dict[str, int] = {}
  for number, line in enumerate(content.split("\n"), start=1):
    line = line[:-1] if line.endswith("\r") else line
    if not line:
      continue
    if len(line) != 1:
      raise ValueError(f"{name}, line {number}: {line!r} has {len(line)} characters; an alphabet file "
                       "holds one symbol per line (a line with a single space is the space).")
    if line in line_of:
      raise ValueError(f"{name}, line {number}: the symbol {line!r} (U+{ord(line):04X}) is already on "
                       f"line {line_of[line]}; every symbol appears once.")
    line_of[line] = number
    symbols.append(line)
  if not symbols:
    raise ValueError(f"{name} holds no symbol; an alphabet file holds one symbol per line.")
  return Alphabet("".join(symbols), name=f"the alphabet of {name}")


def read_alphabet_file(path: str) -> Alphabet:
  """The alphabet in the UTF-8 file `path` (see `parse_alphabet_file`).

  Raises:
    FileNotFoundError: if `path` is not a file. ValueError: if it is not UTF-8 or not an alphabet file.
  """
  if not os.path.isfile(path):
    raise FileNotFoundError(f"alphabet file {path!r} does not exist.")
  try:
    with open(path, encoding="utf-8") as f:
      content = f.read()
  except UnicodeDecodeError as e:
    raise ValueError(f"alphabet file {path!r} is not UTF-8 text: {e.reason} at byte {e.start}.") from e
  return parse_alphabet_file(content.lstrip("\ufeff"), repr(path))


def alphabet_of(config: Any) -> Alphabet:
  """The alphabet of a ScrabbleGAN or recognizer config: the symbols a run recorded
  (`alphabet_symbols`, written by the train commands into the run's config.json), else the file
  `config.alphabet` names, else IAM's 80 symbols (configs from before the option too)."""
  recorded = config.get("alphabet_symbols", "") if hasattr(config, "get") else ""
  path = config.get("alphabet", "") if hasattr(config, "get") else ""
  if recorded:
    return IAM if recorded == ALPHABET else Alphabet(recorded, name=f"the alphabet of {path!r}")
  if path:
    return read_alphabet_file(os.path.expanduser(path))
  return IAM


def unknown_characters(text: str) -> list[str]:
  """The distinct characters of `text` outside IAM's alphabet, in order of appearance."""
  return IAM.unknown_characters(text)


def encode(text: str) -> np.ndarray:
  """`IAM.encode`: a word as int32 ids in 1..80 (0 is kept for the CTC blank)."""
  return IAM.encode(text)


def decode(ids: Iterable[int]) -> str:
  """`IAM.decode`: ids back to text, skipping blanks (0)."""
  return IAM.decode(ids)


def ctc_greedy_decode(frame_ids: Iterable[int]) -> str:
  """`IAM.ctc_greedy_decode`: best-path CTC decoding in IAM's alphabet."""
  return IAM.ctc_greedy_decode(frame_ids)


def edit_distance(reference: str, hypothesis: str) -> int:
  """Levenshtein distance (insertions, deletions and substitutions cost 1) between two strings."""
  previous = list(range(len(hypothesis) + 1))
  for i, ref_char in enumerate(reference, start=1):
    current = [i] + [0] * len(hypothesis)
    for j, hyp_char in enumerate(hypothesis, start=1):
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_char != hyp_char))
    previous = current
  return previous[-1]


def character_and_word_error_rates(references: list[str], hypotheses: list[str]) -> dict[str, float]:
  """CER (total edit distance over total reference characters) and WER (share of words not exact)."""
  if len(references) != len(hypotheses):
    raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses.")
  if not references:
    raise ValueError("No words to score.")
  edits = sum(edit_distance(r, h) for r, h in zip(references, hypotheses))
  chars = sum(len(r) for r in references)
  wrong_words = sum(r != h for r, h in zip(references, hypotheses))
  return {"cer": edits / max(chars, 1), "wer": wrong_words / len(references)}
