"""Tests of the IAM alphabet, CTC label coding and error rates."""
import numpy as np
import pytest

from ganxai_jax.data import lexicon
from ganxai_jax.data import text


def test_alphabet_has_80_distinct_symbols_and_81_classes():
  assert len(text.ALPHABET) == 80
  assert len(set(text.ALPHABET)) == 80
  assert text.NUM_CLASSES == 81
  for char in "azAZ09 .,'\"-!?()&#:;+*/%":
    assert char in text.ALPHABET


def test_encode_uses_ids_1_to_80_and_decode_inverts_it():
  ids = text.encode("Only")
  assert ids.dtype == np.int32
  np.testing.assert_array_equal(ids, [1, 2, 3, 4])
  every_symbol = text.encode(text.ALPHABET)
  np.testing.assert_array_equal(every_symbol, np.arange(1, 81))
  assert text.decode(every_symbol) == text.ALPHABET
  assert text.decode([0, 1, 0, 2]) == "On"  # Blanks are skipped.


def test_unknown_character_error_names_the_character():
  with pytest.raises(ValueError, match=r"'é' \(U\+00E9\)"):
    text.encode("café")


def test_empty_word_is_rejected():
  with pytest.raises(ValueError, match="empty word"):
    text.encode("")


def test_decode_rejects_ids_outside_the_alphabet():
  with pytest.raises(ValueError, match="81"):
    text.decode([81])


def test_ctc_greedy_decode_collapses_repeats_and_drops_blanks():
  hello = text.encode("hello")
  h, e, l, o = hello[0], hello[1], hello[2], hello[4]
  frames = [0, h, h, e, 0, l, l, 0, l, o, o, 0]
  assert text.ctc_greedy_decode(frames) == "hello"
  assert text.ctc_greedy_decode([l, l, l]) == "l"  # No blank between: one letter.
  assert text.ctc_greedy_decode([0, 0]) == ""
  assert text.ctc_greedy_decode(np.array([], np.int32)) == ""


def test_error_rates():
  assert text.edit_distance("kitten", "sitting") == 3
  rates = text.character_and_word_error_rates(["abc", "de"], ["abc", "dx"])
  assert rates["cer"] == pytest.approx(1 / 5)
  assert rates["wer"] == pytest.approx(1 / 2)


def test_lexicon_words_are_in_the_alphabet_and_sampling_is_seeded():
  words = lexicon.load_lexicon(1, 10)
  assert len(words) > 100_000
  assert all(1 <= len(w) <= 10 for w in words[:1000])
  first = lexicon.sample_words(np.random.default_rng(3), 50, 2, 6, 0.2)
  again = lexicon.sample_words(np.random.default_rng(3), 50, 2, 6, 0.2)
  assert first == again
  assert all(2 <= len(w) <= 6 and not text.unknown_characters(w) for w in first)
  with pytest.raises(ValueError):
    lexicon.load_lexicon(5, 2)
