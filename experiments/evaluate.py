"""Evaluates the latest checkpoint of a training run into `WORKDIR/eval.json`.

  python -m experiments.evaluate --workdir=runs/cgan
  python -m experiments.evaluate --workdir=runs/scrabble_cpu
"""
from absl import flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import kinds

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A training run's folder (holds config.json and checkpoints/).")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  kinds.evaluate_workdir(FLAGS.workdir)


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("evaluate"))
