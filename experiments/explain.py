"""Explains a trained generator; writes WORKDIR/explain.json and WORKDIR/figures/.

  python -m experiments.explain --config=configs/explain.py:attention --config.generator_workdir=DIR --workdir=OUT
"""
from absl import flags
from ml_collections import config_flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import kinds
from ganxai_jax.explain import runner

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Config file, e.g. configs/explain.py:directions.", lock_config=True)
flags.DEFINE_string("workdir", None, "Folder for explain.json and figures/.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  runner.run(FLAGS.config, FLAGS.workdir, kinds.load_generator)


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("explain"))
