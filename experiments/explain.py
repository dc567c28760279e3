"""Explains a trained generator; writes WORKDIR/config.json, WORKDIR/explain.json, WORKDIR/figures/ and
WORKDIR/report.html.

  python -m experiments.explain --config=configs/explain.py:attention --config.generator_workdir=DIR --workdir=OUT
"""
import sys

from absl import flags, logging
from ml_collections import config_flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import html_report
from ganxai_jax import kinds
from ganxai_jax.explain import runner
from ganxai_jax.run import workdir as workdir_lib

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/explain.py:directions.", lock_config=True)
flags.DEFINE_string("workdir", None, "Folder for explain.json and figures/.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  workdir_lib.record_command(FLAGS.workdir, "explain", sys.argv)
  # The explanation's own config, for its report (a training run's config.json is written by its loop).
  workdir_lib.write_config(FLAGS.workdir, FLAGS.config)
  runner.run(FLAGS.config, FLAGS.workdir, kinds.load_generator)
  logging.info("report: %s", html_report.write_report(FLAGS.workdir))


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("explain"))
