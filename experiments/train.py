"""Trains a model from a config file; running it again resumes from the latest checkpoint.

  python -m experiments.train --config=configs/mnist.py:cgan --workdir=runs/cgan
  python -m experiments.train --config=configs/scrabble.py:cpu --workdir=runs/scrabble_cpu
"""
from absl import flags
from ml_collections import config_flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import kinds

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/mnist.py:cgan.", lock_config=True)
flags.DEFINE_string("workdir", None, "Folder for checkpoints, metrics and figures.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  kinds.train(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("train"))
