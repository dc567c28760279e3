"""Unlabeled word images for semi-supervised ScrabbleGAN: D sees them as real words, R never does.

ScrabbleGAN's semi-supervised mode (the official code's `--unlabeled_dataname` and `--disjoint`) trains
the discriminator on real words whose transcriptions are unknown, while the recognizer learns only
from labeled words. Two sources of such images:

* a folder of word images (`read_folder`): every PNG, JPEG, TIFF or BMP file under it, e.g. IAM's
  `words/` folder or CVL's word images without their transcriptions, or the user's own scans. Each
  image is read in grey levels, given n = round(width at height 32 / 16) character slots (at least 1)
  and resized to 32 × 16n, the format of every word data set here. Images wider than `max_length`
  slots, empty or unreadable ones are dropped and counted by reason (`FOLDER_DROP_REASONS`);
* the labeled data set's own train split, read without its labels (`writer_halves` splits it by
  writer when the two sets must be disjoint).

`UnlabeledImages` draws D's real batch for a step from the images whose length falls in the bucket of
that step's labeled batch, so that D's real and generated words keep one padded shape. The draw is
fixed by (seed, step), like the generated words' text, so a resumed run draws what an uninterrupted
run would have drawn, with no iterator state to checkpoint.
"""
from __future__ import annotations

import collections
import hashlib
import os
from typing import Any, Mapping, Sequence

import jax
import numpy as np
from absl import logging
from PIL import Image

from ganxai_jax.data import iam_words
from ganxai_jax.data import words_pipeline
from ganxai_jax.errors import UsageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
FOLDER_DROP_REASONS = ("unreadable", "empty", "too_wide")


def slots_for(width: int, height: int) -> int:
  """Character slots of an image of `width` × `height` pixels: its width at height 32, in 16-px units."""
  return max(1, int(round(width * iam_words.IMAGE_HEIGHT / height / iam_words.WIDTH_PER_CHAR)))


def image_files(folder: str) -> list[str]:
  """The image files under `folder` (recursively), sorted, so that every process lists them alike."""
  found = []
  for root, dirs, files in os.walk(folder):
    dirs.sort()
    found += [os.path.join(root, name) for name in sorted(files)
              if name.lower().endswith(IMAGE_EXTENSIONS)]
  return found


def read_folder(folder: str, max_length: int) -> tuple[list[np.ndarray], np.ndarray, collections.Counter]:
  """Every word image under `folder` as uint8 [32, 16n] with its n, and the dropped files by reason.

  Raises:
    UsageError: `folder` is not a folder, or no image in it can be used.
  """
  if not os.path.isdir(folder):
    raise UsageError(f"unlabeled folder {folder!r} does not exist or is not a folder.")
  images, lengths, dropped = [], [], collections.Counter()
  for path in image_files(folder):
    try:
      with Image.open(path) as image:
        width, height = image.size
    except (OSError, ValueError, Image.DecompressionBombError):
      dropped["unreadable"] += 1
      continue
    if width == 0 or height == 0:
      dropped["empty"] += 1
      continue
    slots = slots_for(width, height)
    if slots > max_length:
      dropped["too_wide"] += 1
      continue
    image, reason = iam_words.load_word_image(path, slots, 0.0, float("inf"))
    if image is None:
      dropped[reason if reason in FOLDER_DROP_REASONS else "unreadable"] += 1
      continue
    images.append(image)
    lengths.append(slots)
  if not images:
    raise UsageError(f"unlabeled folder {folder!r} has no usable word image ({', '.join(IMAGE_EXTENSIONS)}; "
                     f"at most {max_length} x 16 px wide at height 32); dropped: {dict(dropped) or 'none found'}.")
  return images, np.asarray(lengths, np.int32), dropped


def writer_halves(writers: np.ndarray) -> np.ndarray:
  """True for the examples of the labeled half: writers split in two by a stable hash of their id.

  Examples of unknown writers (-1) are split by their index instead. Both halves are non-empty when
  there are at least two writers (or two examples of unknown writers)."""
  writers = np.asarray(writers)
  digest = lambda value: int(hashlib.md5(str(int(value)).encode()).hexdigest(), 16) % 2 == 0
  labeled = np.array([digest(w) if w >= 0 else i % 2 == 0 for i, w in enumerate(writers)], bool)
  known = np.unique(writers[writers >= 0])
  if len(known) >= 2 and len({digest(w) for w in known}) == 1:
    # Every known writer hashed to one side: move the first writer to the other.
    labeled[writers == known[0]] = not labeled[writers == known[0]][0]
  return labeled


class Subset(Sequence):
  """The examples of `source` at `indices`, as a random-access source."""

  def __init__(self, source: Sequence[Mapping[str, Any]], indices: np.ndarray):
    self._source = source
    self._indices = np.asarray(indices)

  def __len__(self) -> int:
    return len(self._indices)

  def __getitem__(self, index: int) -> Mapping[str, Any]:
    return self._source[int(self._indices[index])]


class UnlabeledImages:
  """D's real words for a step: images of the step's length bucket, drawn with replacement by
  (seed, step). `images(i)` gives image i as uint8 [32, 16·lengths[i]]."""

  def __init__(self, images: Any, lengths: np.ndarray, seed: int, bucket_size: int, description: str):
    self._images = images
    self._lengths = np.asarray(lengths)
    self._seed = seed
    self._bucket_size = bucket_size
    self.description = description
    self._warned: set[int] = set()

  def __len__(self) -> int:
    return len(self._lengths)

  def _candidates(self, bucket_max_length: int) -> np.ndarray:
    bucket = words_pipeline.bucket_of_length(bucket_max_length, self._bucket_size)
    same = np.flatnonzero((words_pipeline.bucket_of_length(self._lengths, self._bucket_size) == bucket)
                          & (self._lengths <= bucket_max_length))
    if len(same):
      return same
    # No unlabeled word of this bucket's lengths: shorter ones, padded white as the labeled are.
    return np.flatnonzero(self._lengths <= bucket_max_length)

  def sample(self, step: int, global_batch_size: int, bucket_max_length: int) -> dict[str, np.ndarray] | None:
    """`d_image` float32 [b, 32, 16·bucket_max_length, 1] in [-1, 1] and `d_image_widths` [b] of this
    process's rows, or None when no unlabeled word fits the bucket (D then sees the labeled words)."""
    candidates = self._candidates(bucket_max_length)
    if not len(candidates):
      if bucket_max_length not in self._warned:
        self._warned.add(bucket_max_length)
        logging.warning("no unlabeled word image fits words of %d characters: D sees the labeled words "
                        "of that bucket", bucket_max_length)
      return None
    rng = np.random.default_rng([self._seed, step, 0x756E6C62])  # 'unlb': its own stream.
    chosen = rng.choice(candidates, size=global_batch_size, replace=True)
    per_process = global_batch_size // jax.process_count()
    chosen = chosen[jax.process_index() * per_process:(jax.process_index() + 1) * per_process]
    examples = [{"image": self._images(int(i)), "labels": np.zeros(int(self._lengths[i]), np.int32)}
                for i in chosen]
    batch = words_pipeline.collate(examples, rows=per_process, max_length=bucket_max_length)
    return {"d_image": batch["image"], "d_image_widths": batch["image_widths"]}
