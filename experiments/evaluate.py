"""Evaluates the latest checkpoint of a training run into `WORKDIR/eval.json`, and rewrites
`WORKDIR/report.html` with the new scores.

  python -m experiments.evaluate --workdir=runs/cgan
  python -m experiments.evaluate --workdir=runs/scrabble_cpu
"""
import sys

from absl import flags, logging

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import html_report
from ganxai_jax import kinds
from ganxai_jax.run import workdir as workdir_lib

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A training run's folder (holds config.json and checkpoints/).")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  workdir_lib.record_command(FLAGS.workdir, "evaluate", sys.argv)
  kinds.evaluate_workdir(FLAGS.workdir)
  logging.info("report: %s", html_report.write_report(FLAGS.workdir))


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("evaluate"))
