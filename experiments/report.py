"""Writes WORKDIR/report.html: one self-contained page of a run's folder (what was run, the numbers beside
their baselines, the named directions, the training curves, every figure), readable offline and printable.

  python -m experiments.report --workdir=runs/cgan
  python -m experiments.report --workdir=runs/gan_directions
train, evaluate, explain and train_recognizer write it at their end; this rebuilds it from the folder.
"""
from absl import flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import html_report

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A run's folder (holds config.json, eval.json or explain.json).")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  print(f"report: {html_report.write_report(FLAGS.workdir)}")


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("report"))
