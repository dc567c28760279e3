"""The IAM alphabet of ScrabbleGAN and CTC label coding.

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
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

ALPHABET = "Only thewigsofrcvdampbkuq.A-210xT5'MDL,RYHJ\"ISPWENj&BC93VGFKz();#:!7U64Q8?+*ZX/%"
BLANK_ID = 0
NUM_CLASSES = len(ALPHABET) + 1  # 80 symbols + the CTC blank.

_ID_OF_SYMBOL = {symbol: i + 1 for i, symbol in enumerate(ALPHABET)}


def unknown_characters(text: str) -> list[str]:
  """The distinct characters of `text` that are not in the alphabet, in order of appearance."""
  seen: list[str] = []
  for char in text:
    if char not in _ID_OF_SYMBOL and char not in seen:
      seen.append(char)
  return seen


def encode(text: str) -> np.ndarray:
  """Encodes a word as int32 symbol ids in 1..80 (0 is kept for the CTC blank).

  Raises:
    ValueError: if `text` is empty or holds a character outside the alphabet; the message names it.
  """
  if not text:
    raise ValueError("Cannot encode an empty word: a word needs at least one character.")
  unknown = unknown_characters(text)
  if unknown:
    shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in unknown)
    raise ValueError(f"Word {text!r} has characters outside the 80-symbol IAM alphabet: {shown}.")
  return np.array([_ID_OF_SYMBOL[c] for c in text], dtype=np.int32)


def decode(ids: Iterable[int]) -> str:
  """Maps symbol ids back to text, skipping blanks (0); no CTC collapsing (see `ctc_greedy_decode`)."""
  chars = []
  for i in np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).reshape(-1):
    i = int(i)
    if i == BLANK_ID:
      continue
    if not 1 <= i <= len(ALPHABET):
      raise ValueError(f"Symbol id {i} is outside 0..{len(ALPHABET)}.")
    chars.append(ALPHABET[i - 1])
  return "".join(chars)


def ctc_greedy_decode(frame_ids: Iterable[int]) -> str:
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
  return decode(frame_ids[keep & (frame_ids != BLANK_ID)])


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
