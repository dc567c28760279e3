"""Reproduces a results table: trains or resumes every run it needs, evaluates them, and writes
WORKDIR/results.md and WORKDIR/results.json (the tables are in configs/tables.py).

  python -m experiments.reproduce --table=mnist --workdir=runs/mnist_table [--max_minutes=M] [--tiny]
  python -m experiments.reproduce --table=mnist --workdir=runs/mnist_table --readme=README.md
  python -m experiments.reproduce --table=mnist --workdir=runs/mnist_table --rows=gan,directions
Running the same command again skips the runs that are done and resumes the others.
"""
import os

from absl import flags

from configs import tables
from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax.reproduce import report, runner
from ganxai_jax.run.loop import describe_devices

FLAGS = flags.FLAGS
flags.DEFINE_enum("table", None, sorted(tables.TABLES), "The table to reproduce (configs/tables.py).")
flags.DEFINE_string("workdir", None, "Folder for the table's runs (one subfolder each), results.md and results.json.")
flags.DEFINE_float("max_minutes", 0.0, "Time budget of this invocation for training, in minutes; 0: no limit.")
flags.DEFINE_bool("tiny", False, "Run every row with its config's `tiny` option (a test-sized table).")
flags.DEFINE_string("readme", None, "Also rewrite the table's rows between its markers in this README.")
flags.DEFINE_list("rows", None, "Make only these rows' runs (comma-separated names); the results files "
                  "still hold every row, as it stands.")
flags.DEFINE_bool("dry_run", False, "Train nothing: write the results files from the runs already in WORKDIR.")
flags.mark_flags_as_required(["table", "workdir"])
flags.register_validator("max_minutes", lambda minutes: minutes >= 0, "must be a number of minutes >= 0 (0: no limit)")


def main(argv):
  del argv
  table = tables.TABLES[FLAGS.table]
  runner.check_table(table, FLAGS.workdir, FLAGS.tiny)
  if FLAGS.rows is not None:
    runner.check_rows(table, FLAGS.rows)
  runner.use_compilation_cache(os.path.join(FLAGS.workdir, "compilation_cache"))
  command = (f"python3 -m experiments.reproduce --table={table.name} --workdir={FLAGS.workdir}"
             + (" --tiny" if FLAGS.tiny else ""))
  device = describe_devices()

  def write(outcomes):
    report.write(FLAGS.workdir, report.results(table, outcomes, command, FLAGS.tiny, device))

  outcomes = runner.reproduce(table, FLAGS.workdir, FLAGS.max_minutes, FLAGS.tiny, FLAGS.dry_run, on_row=write,
                              rows=FLAGS.rows)
  results = report.results(table, outcomes, command, FLAGS.tiny, device)
  print(report.summary(results))
  print(f"results: {os.path.join(FLAGS.workdir, report.RESULTS_MD)}, {os.path.join(FLAGS.workdir, report.RESULTS_JSON)}")
  if FLAGS.readme:
    report.rewrite_readme(FLAGS.readme, os.path.join(FLAGS.workdir, report.RESULTS_MD), table.name)
    print(f"rewrote the {table.name} rows of {FLAGS.readme}")


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("reproduce"))
