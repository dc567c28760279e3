"""Tests of the bucketed words input pipeline: shapes, padding, sharding, determinism, resume."""
import numpy as np
import pytest

from ganxai_jax.data import text
from ganxai_jax.data import words_pipeline
from ganxai_jax.errors import UsageError


def _fake_source(num_examples: int = 60, seed: int = 0, with_style: bool = True):
  """Examples shaped like the TFDS records: a word of 1-6 characters, 16 px per character."""
  rng = np.random.default_rng(seed)
  examples = []
  for i in range(num_examples):
    length = int(rng.integers(1, 7))
    word = "".join(rng.choice(list("abcdefgh"), size=length))
    image = rng.integers(0, 256, size=(32, 16 * length, 1)).astype(np.uint8)
    example = {"image": image, "labels": text.encode(word), "writer": np.int32(i % 5), "text": word}
    if with_style:
      example["style"] = np.full((9,), i, np.float32)
    examples.append(example)
  return examples


def _take(iterator, count):
  return [next(iterator) for _ in range(count)]


def test_batches_have_few_shapes_and_white_padding():
  source = _fake_source()
  dataset = words_pipeline.make_words_dataset(source, batch_size=4, bucket_size=3, seed=0,
                                              process_index=0, process_count=1)
  batches = _take(iter(dataset), 40)
  # Lengths 1-6 in buckets of 3: two widths only.
  assert {b["image"].shape for b in batches} == {(4, 32, 48, 1), (4, 32, 96, 1)}
  for batch in batches:
    assert batch["image"].dtype == np.float32 and batch["labels"].dtype == np.int32
    assert batch["image"].min() >= -1 and batch["image"].max() <= 1
    assert batch["style"].shape == (4, 9)
    max_length = batch["labels"].shape[1]
    np.testing.assert_array_equal(batch["image_widths"], 16 * batch["label_lengths"])
    assert batch["valid"].all()
    for row in range(4):
      n = batch["label_lengths"][row]
      assert max_length - 3 < n <= max_length
      np.testing.assert_array_equal(batch["labels"][row, n:], 0)  # Blank padding.
      assert (batch["labels"][row, :n] > 0).all()
      assert (batch["image"][row, :, 16 * n:] == 1.0).all()  # White padding.
      example = source[int(batch["style"][row, 0])]
      np.testing.assert_allclose(batch["image"][row, :, :16 * n],
                                 example["image"].astype(np.float32) / 127.5 - 1, atol=1e-6)


def test_same_seed_same_batches_other_seed_other_batches():
  source = _fake_source()
  def first_styles(seed):
    dataset = words_pipeline.make_words_dataset(source, 4, 2, seed=seed, process_index=0,
                                                process_count=1)
    return [b["style"][:, 0].tolist() for b in _take(iter(dataset), 10)]
  assert first_styles(0) == first_styles(0)
  assert first_styles(0) != first_styles(1)


def test_resume_from_state_continues_exactly():
  source = _fake_source()
  dataset = words_pipeline.make_words_dataset(source, 4, 2, seed=3, process_index=0,
                                              process_count=1)
  iterator = iter(dataset)
  _take(iterator, 7)
  state = iterator.get_state()
  expected = _take(iterator, 20)  # Crosses into later epochs.
  resumed = iter(dataset)
  resumed.set_state(state)
  for want, got in zip(expected, _take(resumed, 20)):
    for key in want:
      np.testing.assert_array_equal(want[key], got[key])


def test_epoch_covers_every_example_once_when_not_dropping():
  source = _fake_source(num_examples=23, with_style=False)
  dataset = words_pipeline.make_words_dataset(source, 4, 1, seed=0, shuffle=False,
                                              drop_remainder=False, num_epochs=1,
                                              process_index=0, process_count=1)
  batches = list(dataset)
  assert "style" not in batches[0]
  assert sum(int(b["valid"].sum()) for b in batches) == 23
  padding_rows = [b for b in batches if not b["valid"].all()]
  for batch in padding_rows:
    invalid = ~batch["valid"]
    assert (batch["image"][invalid] == 1.0).all() and (batch["label_lengths"][invalid] == 0).all()


def test_processes_get_disjoint_slices_of_the_same_global_batch():
  source = _fake_source()
  global_batches = _take(iter(words_pipeline.make_words_dataset(
      source, 4, 2, seed=5, process_index=0, process_count=1)), 5)
  halves = [_take(iter(words_pipeline.make_words_dataset(
      source, 4, 2, seed=5, process_index=p, process_count=2)), 5) for p in range(2)]
  for step, whole in enumerate(global_batches):
    first, second = halves[0][step], halves[1][step]
    assert first["image"].shape == second["image"].shape == (2,) + whole["image"].shape[1:]
    np.testing.assert_array_equal(np.concatenate([first["style"], second["style"]]), whole["style"])
  with pytest.raises(ValueError, match="multiple"):
    words_pipeline.make_words_dataset(source, 3, 1, process_index=0, process_count=2)


def test_too_few_examples_for_a_batch_is_a_clear_error():
  with pytest.raises(UsageError, match=r"batch size 64: no complete batch .* the 5 words of this split"):
    words_pipeline.make_words_dataset(_fake_source(5), 64, 1, process_index=0, process_count=1)
