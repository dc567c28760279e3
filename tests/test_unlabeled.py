"""Semi-supervised ScrabbleGAN: unlabeled word images for D (a folder, or the train split without
labels, optionally by other writers than the labeled words), R on labeled words only."""
import functools
import json

import jax
import numpy as np
import pytest
from PIL import Image

from configs import scrabble
from ganxai_jax.data import handwriting
from ganxai_jax.data import unlabeled
from ganxai_jax.errors import UsageError
from ganxai_jax.run import parallel
from ganxai_jax.training import scrabble_step
from ganxai_jax.training import scrabble_trainer
from tests.conftest import run_cli
from tests.test_scrabble_step import tiny_batch


def _write_word(path, width, height, seed=0):
  rng = np.random.default_rng(seed)
  image = np.full((height, width), 250, np.uint8)
  top, bottom = height // 4, 3 * height // 4
  image[top:bottom, 2:width - 2] = rng.integers(0, 80, (bottom - top, width - 4))
  Image.fromarray(image).save(path)


def make_scans(folder, max_length=10):
  """Word images of 1 to 5 character slots in two subfolders, one too wide, one corrupt, one text file."""
  (folder / "a").mkdir(parents=True)
  (folder / "b" / "c").mkdir(parents=True)
  sizes = {"a/one.png": (20, 40), "a/two.jpg": (32, 32), "b/three.png": (96, 64),
           "b/c/five.tif": (160, 64), "b/c/four.bmp": (128, 64)}
  for i, (name, size) in enumerate(sizes.items()):
    _write_word(folder / name, *size, seed=i)
  _write_word(folder / "b" / "wide.png", 16 * (max_length + 2) * 2, 64)  # max_length + 2 slots.
  (folder / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
  (folder / "a" / "notes.txt").write_text("not an image")
  return folder


def test_a_folder_of_scans_becomes_words_of_16_px_per_character_slot(tmp_path):
  folder = make_scans(tmp_path / "scans")
  images, lengths, dropped = unlabeled.read_folder(str(folder), max_length=10)
  # Sorted walk: a/one (20x40 -> 16 px at height 32: 1 slot), a/two (2), b/three (96x64 -> 48 px: 3),
  # b/c/five (80 px: 5), b/c/four (64 px: 4).
  assert list(lengths) == [1, 2, 3, 5, 4]
  assert [im.shape for im in images] == [(32, 16 * n) for n in lengths]
  assert dropped == {"too_wide": 1, "unreadable": 1}
  with pytest.raises(UsageError, match="does not exist"):
    unlabeled.read_folder(str(tmp_path / "absent"), 10)
  (tmp_path / "empty").mkdir()
  with pytest.raises(UsageError, match="no usable word image"):
    unlabeled.read_folder(str(tmp_path / "empty"), 10)


def test_writer_halves_are_disjoint_and_both_used():
  writers = np.repeat(np.arange(12), 3)
  labeled = unlabeled.writer_halves(writers)
  assert set(writers[labeled]).isdisjoint(writers[~labeled])
  assert labeled.any() and not labeled.all()
  # Every writer's words stay on one side; unknown writers are split by position.
  assert all(len(set(labeled[writers == w])) == 1 for w in range(12))
  np.testing.assert_array_equal(unlabeled.writer_halves(np.full(4, -1)), [True, False, True, False])
  two = unlabeled.writer_halves(np.array([5, 5, 9, 9]))  # Whatever the hash: one writer a side.
  assert two[0] == two[1] and two[2] == two[3] and two[0] != two[2]


def test_unlabeled_images_are_drawn_from_the_bucket_and_fixed_by_the_step():
  lengths = np.array([2, 3, 3, 4, 7], np.int32)
  images = [np.full((32, 16 * n), 10 * i, np.uint8) for i, n in enumerate(lengths)]
  sampler = unlabeled.UnlabeledImages(images.__getitem__, lengths, seed=0, bucket_size=2, description="")
  batch = sampler.sample(step=3, global_batch_size=8, bucket_max_length=4)  # Bucket of lengths 3-4.
  assert batch["d_image"].shape == (8, 32, 64, 1) and set(batch["d_image_widths"]) <= {48, 64}
  again = sampler.sample(step=3, global_batch_size=8, bucket_max_length=4)
  np.testing.assert_array_equal(batch["d_image"], again["d_image"])
  later = [sampler.sample(step=s, global_batch_size=8, bucket_max_length=4)["d_image"] for s in range(4, 8)]
  assert any(not np.array_equal(batch["d_image"], other) for other in later)
  # Bucket 5-6 has no word: shorter ones, padded white; nothing fits a bucket of length 1.
  padded = sampler.sample(step=0, global_batch_size=4, bucket_max_length=6)
  assert set(padded["d_image_widths"]) <= {32, 48, 64} and (padded["d_image"][:, :, 64:] == 1).all()
  assert sampler.sample(step=0, global_batch_size=4, bucket_max_length=1) is None


@pytest.fixture(scope="module")
def tiny_step():
  config = scrabble.get_config("tiny")
  config.conv_impl = "lax"
  mesh = parallel.make_mesh(jax.devices()[:1])
  components = scrabble_trainer.build_components(config, mesh)
  step = jax.jit(functools.partial(scrabble_step.train_step, components=components, update_generator=False))
  return components, mesh, step, scrabble_trainer.create_state(config, components, mesh)


def test_d_sees_the_unlabeled_words_and_r_only_the_labeled(tiny_step):
  _, mesh, step, state = tiny_step
  batch = tiny_batch(mesh)
  _, plain = step(state, batch)
  _, same = step(state, {**batch, "d_image": batch["image"], "d_image_widths": batch["image_widths"]})
  white = jax.numpy.ones_like(batch["image"])
  _, other = step(state, {**batch, "d_image": white, "d_image_widths": batch["image_widths"]})
  for key in plain:  # D's real words given as d_image: the same step.
    np.testing.assert_allclose(same[key], plain[key], rtol=1e-6, err_msg=key)
  assert float(other["r_ctc_loss"]) == pytest.approx(float(plain["r_ctc_loss"]), rel=1e-6)
  assert abs(float(other["d_logit_real"]) - float(plain["d_logit_real"])) > 1e-4
  assert float(other["d_logit_fake"]) == pytest.approx(float(plain["d_logit_fake"]), rel=1e-5)


def test_train_split_disjoint_gives_r_and_d_words_of_different_writers(tmp_path):
  config = scrabble.get_config("tiny")
  config.data_dir = str(tmp_path / "tfds")
  config.unlabeled.source = "train_split"
  config.unlabeled.disjoint = True
  train_source = handwriting.load_split(config, "train")
  labeled, lengths, images = handwriting.semi_supervised_sources(config, train_source)
  all_lengths, writers = handwriting.scan_lengths_and_writers(train_source)
  labeled_writers = {int(labeled[i]["writer"]) for i in range(len(labeled))}
  assert len(labeled) + len(images) == len(train_source) and len(lengths) == len(labeled)
  assert labeled_writers and labeled_writers < set(int(w) for w in writers)
  assert "other writers" in images.description
  # Every unlabeled image is a training word of a writer outside the labeled half.
  labeled_images = {np.asarray(labeled[i]["image"]).tobytes() for i in range(len(labeled))}
  sample = images.sample(step=0, global_batch_size=4, bucket_max_length=int(all_lengths.max()))
  for row, width in zip(sample["d_image"], sample["d_image_widths"]):
    pixels = np.round((row[:, :width, 0] + 1) * 127.5).astype(np.uint8)[..., None]
    assert pixels.tobytes() not in labeled_images

  config.unlabeled.disjoint = False
  same, _, everything = handwriting.semi_supervised_sources(config, train_source)
  assert same is train_source and len(everything) == len(train_source)


def test_semi_supervised_training_from_a_folder_through_the_cli(tmp_path):
  scans = make_scans(tmp_path / "scans", max_length=20)  # The tiny config's lexicon_max_length.
  workdir = tmp_path / "run"
  proc = run_cli("experiments.train", "--config=configs/scrabble.py:tiny", f"--workdir={workdir}",
                 f"--config.data_dir={tmp_path / 'tfds'}", "--config.bucket_size=10", "--config.conv_impl=lax",
                 "--config.unlabeled.source=folder", f"--config.unlabeled.folder={scans}")
  assert f"semi-supervised: D's real words are 5 word images of {scans}" in proc.stderr
  assert "'too_wide': 1" in proc.stderr
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in records if "d_loss" in r] == [2, 4]
  assert json.loads((workdir / "config.json").read_text())["unlabeled"]["source"] == "folder"


@pytest.mark.parametrize("flags, expected", [
    (["--config.unlabeled.source=folder", "--config.unlabeled.folder={missing}"],
     "config.unlabeled.folder="),
    (["--config.unlabeled.source=scans"], "config.unlabeled.source='scans': must be one of '', 'folder', 'train_split'"),
    (["--config.unlabeled.disjoint=True"], "config.unlabeled.disjoint=True: needs config.unlabeled.source='train_split'"),
])
def test_bad_unlabeled_options_are_one_line_errors(tmp_path, flags, expected):
  flags = [flag.format(missing=tmp_path / "missing") for flag in flags]
  proc = run_cli("experiments.train", "--config=configs/scrabble.py:tiny", f"--workdir={tmp_path / 'run'}",
                 *flags, check=False)
  assert proc.returncode == 2, proc.stderr[-2000:]
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and expected in lines[0], lines
  assert not (tmp_path / "run").exists()
