"""An English word lexicon for the text that the synthetic data set and the generator write.

The words come from the `english-words` package (MIT licence), list `web2`: the word list of
Webster's Second International Dictionary (1934, public domain) as shipped with BSD Unix. See
`third_party/README.md` for provenance. Nothing is downloaded: the list is inside the installed
wheel.

`web2` is alphabetical and rich in long, rare words, while handwritten text (IAM) is mostly short
words. `sample_words` therefore draws a word length uniformly first and then a word of that length,
so every length bucket of the input pipeline is equally full.
"""
from __future__ import annotations

import functools

import numpy as np

from ganxai_jax.data import text

LEXICON_SOURCE = "web2"


@functools.lru_cache(maxsize=4)
def load_lexicon(min_length: int = 1, max_length: int = 10, lowercase: bool = False) -> tuple[str, ...]:
  """Sorted, de-duplicated lexicon words whose length lies in [min_length, max_length].

  Only words written entirely in the 80-symbol IAM alphabet are kept (every `web2` word is, but a
  check costs nothing and keeps the promise explicit). `web2` capitalises proper nouns only; with
  `lowercase` they are lower-cased.
  """
  if not 1 <= min_length <= max_length:
    raise ValueError(f"Need 1 <= min_length <= max_length, got {min_length} and {max_length}.")
  try:
    from english_words import get_english_words_set  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError("The lexicon comes from the `english-words` package; run `pip install -e .` "
                      "from the repository root.") from e
  words = get_english_words_set([LEXICON_SOURCE], alpha=True, lower=lowercase)
  kept = sorted(w for w in words
                if min_length <= len(w) <= max_length and not text.unknown_characters(w))
  if not kept:
    raise ValueError(f"No lexicon word has between {min_length} and {max_length} characters.")
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
