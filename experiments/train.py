"""Trains a model from a config file; running it again resumes from the latest checkpoint. At the end
WORKDIR/report.html shows the run on one page (`python -m experiments.report` rebuilds it).

  python -m experiments.train --config=configs/mnist.py:cgan --workdir=runs/cgan
  python -m experiments.train --config=configs/scrabble.py:cpu --workdir=runs/scrabble_cpu
"""
import sys

from absl import flags, logging
from ml_collections import config_flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import html_report
from ganxai_jax import kinds
from ganxai_jax.run import workdir as workdir_lib

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/mnist.py:cgan.", lock_config=True)
flags.DEFINE_string("workdir", None, "Folder for checkpoints, metrics and figures.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  workdir_lib.record_command(FLAGS.workdir, "train", sys.argv)
  kinds.train(FLAGS.config, FLAGS.workdir)
  logging.info("report: %s", html_report.write_report(FLAGS.workdir))


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("train"))
