"""Evaluates the latest checkpoint of a training run into `WORKDIR/eval.json`.

  python -m experiments.evaluate --workdir=runs/cgan
  python -m experiments.evaluate --workdir=runs/scrabble_cpu
"""
from absl import flags

from ganxai_jax import cli
from ganxai_jax import config_checks
from ganxai_jax.evaluation import scrabble_eval
from ganxai_jax.training import trainer

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A training run's folder (holds config.json and checkpoints/).")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  if trainer.load_run_config(FLAGS.workdir).get("model") == "scrabblegan":
    scrabble_eval.evaluate_workdir(FLAGS.workdir)
  else:
    trainer.evaluate_workdir(FLAGS.workdir)


if __name__ == "__main__":
  cli.run(main, check=config_checks.for_command("evaluate"))
