"""An English word lexicon for the text that the synthetic data set and the generator write.

The words come from the `english-words` package (MIT licence), list `web2`: the word list of
Webster's Second International Dictionary (1934, public domain) as shipped with BSD Unix. See
`third_party/README.md` for provenance. Nothing is downloaded: the list is inside the installed
wheel.

`web2` is alphabetical and rich in long, rare words, while handwritten text (IAM) is mostly short
words. `sample_words` therefore draws a word length uniformly first and then a word of that length,
so every length bucket of the input pipeline is equally full.

A custom lexicon (`config.lexicon`, for another language or script) is a UTF-8 text file with one word
per line (surrounding whitespace stripped, empty lines skipped); `load_lexicon(..., path=, alphabet=)`
keeps its words written in the model's alphabet and counts the others.
"""
from __future__ import annotations

import collections
import functools
import os

import numpy as np
from absl import logging

from ganxai_jax.data import text

LEXICON_SOURCE = "web2"


def read_lexicon_file(path: str) -> tuple[str, ...]:
  """The words of a lexicon file (UTF-8, one word per line; surrounding whitespace stripped, empty
  lines skipped), in file order.

  Raises:
    FileNotFoundError: if `path` is not a file. ValueError: if it is not UTF-8 or holds no word.
  """
  if not os.path.isfile(path):
    raise FileNotFoundError(f"lexicon file {path!r} does not exist.")
  try:
    with open(path, encoding="utf-8") as f:
      lines = f.read().lstrip("\ufeff").splitlines()
  except UnicodeDecodeError as e:
    raise ValueError(f"lexicon file {path!r} is not UTF-8 text: {e.reason} at byte {e.start}.") from e
  words = tuple(word for word in (line.strip() for line in lines) if word)
  if not words:
    raise ValueError(f"lexicon file {path!r} holds no word; it holds one word per line.")
  return words


@functools.lru_cache(maxsize=8)
def load_lexicon(min_length: int = 1, max_length: int = 10, lowercase: bool = False, path: str = "",
                 alphabet: text.Alphabet = text.IAM) -> tuple[str, ...]:
  """Sorted, de-duplicated lexicon words whose length lies in [min_length, max_length].

  The words of `web2`, or of the lexicon file `path` when given. Only words written entirely in
  `alphabet` are kept (every `web2` word is in IAM's; the others of a file are counted in a log
  line). `web2` capitalises proper nouns only; with `lowercase` they are lower-cased.

  Raises:
    ValueError: if no word of the right length is written in the alphabet; the message says why.
  """
  if not 1 <= min_length <= max_length:
    raise ValueError(f"Need 1 <= min_length <= max_length, got {min_length} and {max_length}.")
  if path:
    words = set(read_lexicon_file(path))
    if lowercase:
      words = {w.lower() for w in words}
    source = f"the lexicon file {path!r}"
  else:
    try:
      from english_words import get_english_words_set  # pylint: disable=import-outside-toplevel
    except ImportError as e:
      raise ImportError("The lexicon comes from the `english-words` package; run `pip install -e .` "
                        "from the repository root.") from e
    words = get_english_words_set([LEXICON_SOURCE], alpha=True, lower=lowercase)
    source = f"the {LEXICON_SOURCE} lexicon"
  in_range = [w for w in words if min_length <= len(w) <= max_length]
  kept = sorted(w for w in in_range if not alphabet.unknown_characters(w))
  if path and len(kept) < len(in_range):
    outside = collections.Counter(c for w in in_range for c in alphabet.unknown_characters(w))
    logging.info("%s: %d of its %d words of %d-%d characters have characters outside %s (the most "
                 "common: %s) and are left out", source, len(in_range) - len(kept), len(in_range),
                 min_length, max_length, alphabet.name, "".join(c for c, _ in outside.most_common(10)))
  if not kept:
    outside = "".join(c for c, _ in collections.Counter(
        c for w in in_range for c in alphabet.unknown_characters(w)).most_common(10))
    reason = (f"none of its {len(in_range)} words of that length is written in {alphabet.name} "
              f"(characters outside it: {outside!r})" if in_range else "it has no word of that length")
    raise ValueError(f"No word of {source} has between {min_length} and {max_length} characters "
                     f"in the alphabet: {reason}.")
  return tuple(kept)


def words_by_length(words: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
  """Groups words by their number of characters."""
  groups: dict[int, list[str]] = {}
  for word in words:
    groups.setdefault(len(word), []).append(word)
  return {length: tuple(group) for length, group in sorted(groups.items())}


def sample_words(rng: np.random.Generator, count: int, min_length: int = 1, max_length: int = 10,
                 capitalize_probability: float = 0.0) -> list[str]:
  """Draws `count` words: a length uniformly in [min_length, max_length], then a word of that length.

  With probability `capitalize_probability` a word's first letter is upper-cased, so that capitals
  appear beyond the proper nouns of the list. Deterministic for the state of `rng`.
  """
  groups = words_by_length(load_lexicon(min_length, max_length))
  lengths = np.array(sorted(groups))
  drawn_lengths = rng.choice(lengths, size=count)
  words = []
  for length in drawn_lengths:
    group = groups[int(length)]
    word = group[int(rng.integers(len(group)))]
    if capitalize_probability > 0 and rng.random() < capitalize_probability:
      word = word[0].upper() + word[1:]
    words.append(word)
  return words
