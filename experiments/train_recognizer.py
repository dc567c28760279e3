"""Trains the stand-alone handwriting recognizer and writes WORKDIR/eval.json (test CER and WER) and
WORKDIR/report.html.

  python -m experiments.train_recognizer --config=configs/scrabble.py --workdir=OUT
  python -m experiments.train_recognizer --config=configs/scrabble.py:tiny --workdir=OUT
"""
import sys

from absl import flags, logging
from ml_collections import config_flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import html_report
from ganxai_jax.errors import UsageError
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.training import recognizer_training

_CONFIG = config_flags.DEFINE_config_file("config", None, "Configuration file, e.g. configs/scrabble.py.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Where checkpoints and eval.json are written.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise UsageError(f"Unexpected arguments: {argv[1:]}")
  workdir_lib.record_command(_WORKDIR.value, "train_recognizer", sys.argv)
  recognizer_training.train_recognizer(_CONFIG.value, _WORKDIR.value)
  logging.info("report: %s", html_report.write_report(_WORKDIR.value))


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("train_recognizer"))
