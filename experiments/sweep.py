"""Runs a grid of configs, each in its own folder under WORKDIR, and writes WORKDIR/summary.csv.

  python -m experiments.sweep --config=configs/mnist.py:cgan --sweep="seed=0,1,2 g_lr=1e-4,2e-4" --workdir=runs/sweep
Running the same command again skips finished runs and resumes unfinished ones.
"""
from absl import flags
from ml_collections import config_flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import kinds
from ganxai_jax.training import sweep

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Base config file, e.g. configs/mnist.py:cgan.", lock_config=True)
flags.DEFINE_string("sweep", None, 'Grid as "KEY=V1,V2 KEY2=V1,V2".')
flags.DEFINE_string("workdir", None, "Folder holding one subfolder per run and summary.csv.")
flags.mark_flags_as_required(["config", "sweep", "workdir"])


def main(argv):
  del argv
  sweep.run_sweep(FLAGS.config, FLAGS.sweep, FLAGS.workdir, kinds.train)


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("sweep"))
