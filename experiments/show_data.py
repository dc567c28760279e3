"""Prepares the configured handwriting data set, prints its size and length histogram, and writes
WORKDIR/figures/sample_grid.png (one row per writer) and WORKDIR/figures/length_histogram.png.

  python -m experiments.show_data --config=configs/scrabble.py --workdir=OUT
  python -m experiments.show_data --config=configs/scrabble.py:tiny --workdir=OUT
  python -m experiments.show_data --config=configs/scrabble.py:iam --config.manual_dir=IAM --workdir=OUT
"""
import os

from absl import flags
from ml_collections import config_flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax.data import handwriting
from ganxai_jax.errors import UsageError
from ganxai_jax.viz import handwriting as handwriting_viz

_CONFIG = config_flags.DEFINE_config_file("config", None, "Configuration file, e.g. configs/scrabble.py.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Figures go to WORKDIR/figures.")
_NUM_WRITERS = flags.DEFINE_integer("num_writers", 12, "Rows of the sample grid.")
_WORDS_PER_WRITER = flags.DEFINE_integer("words_per_writer", 6, "Words in each row.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise UsageError(f"Unexpected arguments: {argv[1:]}")
  config = _CONFIG.value
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


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("show_data"))
