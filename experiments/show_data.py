"""Prepares the configured handwriting data set, prints its size and length histogram, and writes
WORKDIR/figures/sample_grid.png (one row per writer) and WORKDIR/figures/length_histogram.png. With
--export_words=N it also writes one real test word of each of N writers as a PNG to WORKDIR/words/ and
their files and transcriptions to WORKDIR/words.tsv: the real words the generate command's --style_image
writes in the style of. With an MNIST config it shows the digits (one row per class), and --export_digits=N
writes N real test digits to WORKDIR/digits/ and WORKDIR/digits.tsv (file, tab, digit), the styles a CGAN
run draws in.

  python -m experiments.show_data --config=configs/scrabble.py --workdir=OUT
  python -m experiments.show_data --config=configs/scrabble.py:tiny --workdir=OUT
  python -m experiments.show_data --config=configs/scrabble.py:iam --config.manual_dir=IAM --workdir=OUT
  python -m experiments.show_data --config=configs/scrabble.py --workdir=OUT --export_words=6
  python -m experiments.show_data --config=configs/mnist.py:cgan --workdir=OUT --export_digits=10
"""
import os

from absl import flags
from ml_collections import config_flags
import numpy as np

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import generation
from ganxai_jax.data import handwriting
from ganxai_jax.data import pipeline
from ganxai_jax.errors import UsageError
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.viz import handwriting as handwriting_viz

EXPORT_MIN_LENGTH = 5  # A longer word shows more of its writer's hand.

_CONFIG = config_flags.DEFINE_config_file("config", None, "Configuration file, e.g. configs/scrabble.py.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Figures go to WORKDIR/figures.")
_NUM_WRITERS = flags.DEFINE_integer("num_writers", 12, "Rows of the sample grid.")
_WORDS_PER_WRITER = flags.DEFINE_integer("words_per_writer", 6, "Words in each row.")
_EXPORT_WORDS = flags.DEFINE_integer(
    "export_words", 0, "Also write one test word of each of the first N test writers to WORKDIR/words/ (PNG, the "
    f"first word of at least {EXPORT_MIN_LENGTH} letters of each) and WORKDIR/words.tsv (file, tab, "
    "transcription); 0: none.")
_EXPORT_DIGITS = flags.DEFINE_integer(
    "export_digits", 0, "MNIST configs: also write N real test digits to WORKDIR/digits/ (PNG, MNIST's pixels; "
    "digit i is of class i mod 10, each the next test example of its class) and WORKDIR/digits.tsv (file, tab, "
    "digit); 0: none.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise UsageError(f"Unexpected arguments: {argv[1:]}")
  config = _CONFIG.value
  if "model" in config and config.model != "scrabblegan":  # configs/mnist.py
    show_digits(config, _WORKDIR.value, _WORDS_PER_WRITER.value, _EXPORT_DIGITS.value)
    return
  builder = handwriting.prepare(config)
  figures = os.path.join(_WORKDIR.value, "figures")
  os.makedirs(figures, exist_ok=True)
  print(f"{config.dataset} ({builder.builder_config.name}) in {builder.data_dir}")
  for split in builder.info.splits:
    source = builder.as_data_source(split)
    lengths, writers = handwriting.scan_lengths_and_writers(source)
    print(f"  {split}: {len(source)} words by {len(set(writers.tolist()))} writers; "
          f"words per length {handwriting.length_histogram(lengths)}")
    if split != "train":
      continue
    ids, images, texts = handwriting.writer_samples(source, writers, _NUM_WRITERS.value,
                                                    _WORDS_PER_WRITER.value)
    grid = handwriting_viz.sample_grid_figure(
        images, [f"writer {w}" for w in ids], title=f"{config.dataset}: train words, one row per writer")
    grid.savefig(os.path.join(figures, "sample_grid.png"))
    histogram = handwriting_viz.length_histogram_figure(lengths, title=f"{config.dataset} train")
    histogram.savefig(os.path.join(figures, "length_histogram.png"))
    for writer, row in zip(ids, texts):
      print(f"    writer {writer}: {' '.join(row)}")
  print(f"Figures in {figures}")
  if _EXPORT_WORDS.value:
    export_words(builder.as_data_source("test"), _WORKDIR.value, _EXPORT_WORDS.value)


def export_words(source, workdir: str, num_writers: int) -> None:
  """One test word per writer as `WORKDIR/words/writer{W}_{text}.png` (the data set's prepared pixels, 32 ×
  16 per character), listed with their transcriptions in `WORKDIR/words.tsv`."""
  _, writers = handwriting.scan_lengths_and_writers(source)
  chosen = handwriting.style_words(source, writers, num_writers, EXPORT_MIN_LENGTH)
  folder = os.path.join(workdir, "words")
  os.makedirs(folder, exist_ok=True)
  rows = []
  for writer, text, image in chosen:
    path = os.path.join(folder, f"writer{writer}_{text}.png")
    workdir_lib.write_file(path, generation.png_bytes(np.asarray(image, np.uint8).reshape(image.shape[:2])))
    rows.append(f"{path}\t{text}\n")
  workdir_lib.write_file(os.path.join(workdir, "words.tsv"), "".join(rows))
  print(f"  test words of {len(chosen)} writers (of {num_writers} asked) in {folder}: "
        + " ".join(text for _, text, _ in chosen) + f"; listed in {os.path.join(workdir, 'words.tsv')}")


def show_digits(config, workdir: str, per_class: int, export: int) -> None:
  """Prepares the configured MNIST data set, prints its size per split and class, writes
  WORKDIR/figures/sample_grid.png (one row per class, `per_class` train digits each) and, with `export`,
  that many test digits (`export_digits`)."""
  builder = pipeline.prepare_builder(config.dataset, config.data_dir or None, config.manual_dir or None)
  figures = os.path.join(workdir, "figures")
  os.makedirs(figures, exist_ok=True)
  print(f"{config.dataset} in {builder.data_dir}")
  for split in builder.info.splits:
    labels = _labels(builder.as_data_source(split))
    print(f"  {split}: {len(labels)} digits; per class {np.bincount(labels, minlength=10).tolist()}")
  train = builder.as_data_source("train")
  labels = _labels(train)
  rows = [[np.asarray(train[int(i)]["image"])[..., 0] for i in np.flatnonzero(labels == c)[:per_class]]
          for c in range(10)]
  grid = handwriting_viz.sample_grid_figure([r for r in rows if r], [f"digit {c}" for c, r in enumerate(rows) if r],
                                            title=f"{config.dataset}: train digits, one row per class")
  grid.savefig(os.path.join(figures, "sample_grid.png"))
  print(f"Figures in {figures}")
  if export:
    export_digits(builder.as_data_source("test"), workdir, export)


def _labels(source) -> np.ndarray:
  return np.asarray([int(source[i]["label"]) for i in range(len(source))], np.int64)


def export_digits(source, workdir: str, count: int) -> None:
  """`count` test digits as `WORKDIR/digits/test{index}_digit{label}.png` (MNIST's pixels, white on black):
  digit i of class i mod 10, the (i div 10)-th test example of that class; listed with their labels in
  `WORKDIR/digits.tsv`. Classes that run out of examples are skipped."""
  labels = _labels(source)
  by_class = [np.flatnonzero(labels == c) for c in range(10)]
  folder = os.path.join(workdir, "digits")
  os.makedirs(folder, exist_ok=True)
  rows = []
  for i in range(count):
    label, rank = i % 10, i // 10
    if rank >= len(by_class[label]):
      continue
    index = int(by_class[label][rank])
    image = np.asarray(source[index]["image"], np.uint8)
    path = os.path.join(folder, f"test{index}_digit{label}.png")
    workdir_lib.write_file(path, generation.png_bytes(image.reshape(image.shape[:2])))
    rows.append(f"{path}\t{label}\n")
  workdir_lib.write_file(os.path.join(workdir, "digits.tsv"), "".join(rows))
  print(f"  {len(rows)} test digits (of {count} asked) in {folder}; listed in {os.path.join(workdir, 'digits.tsv')}")


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("show_data"))
