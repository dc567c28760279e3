"""`experiments.reproduce`: the MNIST table end to end on its `tiny` rows (a stop by SIGTERM, a stop by
the time budget, one row made alone, the rerun that completes it, a rerun that skips everything and
rewrites a README), and the pieces it reads and writes.

The end-to-end test runs the real command in a subprocess per invocation, as a user does: each
invocation switches on JAX's persistent compilation cache in its workdir, which a process can do only
before its first compilation, and which makes the resumed and the per-seed runs skip most of their
compiling.
"""
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from configs import tables
from ganxai_jax.errors import UsageError
from ganxai_jax.reproduce import report, runner
from ganxai_jax.reproduce.table import Number, Row, Table, Target, read_number, read_tally
from ganxai_jax.training.sweep import with_overrides
from tests.conftest import REPO_ROOT, run_cli


def _read(path):
  with open(path, encoding="utf-8") as fh:
    return json.load(fh) if path.endswith(".json") else fh.read()


def _marked(text, name="mnist"):
  begin, end = report.markers(name)
  return text[text.index(begin):text.index(end) + len(end)]


# ---- The pieces ----------------------------------------------------------------------------------

def test_numbers_are_read_with_baselines_targets_and_seeds():
  fid = Number("FID", "fid", baselines=(("real vs real", "fid_real_vs_real"),), target=Target(high=60))
  read = read_number(fid, {"fid": 58.2, "fid_real_vs_real": 44.8})
  assert read["value"] == 58.2 and read["baselines"] == {"real vs real": 44.8}
  assert read["target"] == "≤ 60" and read["target_met"] is True
  assert read_number(fid, {"fid": 61.0})["target_met"] is False
  assert read_number(fid, None)["value"] is None and read_number(fid, None)["target_met"] is None
  rca = Number("RCA", "rca.learned_orthonormal.rca", target=Target(low=0.9))
  assert read_number(rca, {"rca": {"learned_orthonormal": {"rca": 0.91}}})["target_met"] is True
  assert Target(low=0.07, high=0.13).describe() == "in [0.07, 0.13]"

  seeds = {"seeds": [0, 1, 2], "per_seed": [{"acc": 0.85}, {"acc": 0.79}, {"acc": 0.84}], "median": {"acc": 0.84},
           "mean": {"acc": 0.8267}, "step": 5}  # The eval.json of a run with num_seeds=3.
  read = read_number(Number("accuracy", "acc", target=Target(low=0.95)), seeds)
  assert read["value"] == 0.84 and read["per_seed"] == [0.85, 0.79, 0.84] and read["target_met"] is False
  assert read["seeds"] == [0, 1, 2]
  assert read_tally(tables.DIRECTION_NAMES, {"names": {"learned_orthonormal": ["slant +", "unclear", "unclear"]}}
                    ) == {"unclear": 2, "slant +": 1}


def test_the_mnist_table_plans_its_runs_with_their_commands(tmp_path):
  plan = {row.name: runner.run_of(row, "runs/t") for row in tables.MNIST.rows}
  assert plan["gan"].command_line() == "python3 -m experiments.train --config=configs/mnist.py:gan --workdir=runs/t/gan"
  assert plan["infogan"].command_line().endswith("--workdir=runs/t/infogan --config.num_seeds=3")
  assert plan["directions"].command_line() == (
      "python3 -m experiments.explain --config=configs/explain.py:directions --workdir=runs/t/directions "
      "--config.generator_workdir=runs/t/gan --config.directions.num_steps=100000")
  config = runner.build_config(plan["directions"])
  assert config.directions.num_steps == 100_000 and config.generator_workdir == "runs/t/gan"
  tiny = runner.run_of(tables.MNIST.row("directions"), "runs/t", tiny=True)
  assert tiny.config_arg == "configs/explain.py:directions,tiny" and "num_steps" not in tiny.command_line()
  runner.check_table(tables.MNIST, str(tmp_path), tiny=False)
  wrong = Table("t", "T", (Row("b", "configs/mnist.py:gan", (), depends_on="a"),))
  with pytest.raises(UsageError, match="depends on 'a'"):
    runner.check_table(wrong, str(tmp_path), tiny=False)
  runner.check_rows(tables.MNIST, ["gan", "directions"])
  with pytest.raises(UsageError, match="'gna' is not a row of table 'mnist'; its rows are gan, cgan"):
    runner.check_rows(tables.MNIST, ["gan", "gna"])


def test_a_run_folder_resumes_with_a_new_time_limit_or_a_longer_plan_only(tmp_path):
  def started_with(run, config):
    os.makedirs(run.folder, exist_ok=True)
    with open(os.path.join(run.folder, "config.json"), "w", encoding="utf-8") as fh:
      json.dump(config.to_dict(), fh)

  gan = runner.run_of(tables.MNIST.row("gan"), str(tmp_path))
  config = runner.build_config(gan)
  started_with(gan, config)
  runner._check_same_config(gan, config)  # pylint: disable=protected-access
  for overrides in ({"max_minutes": 7.5}, {"num_train_steps": config.num_train_steps * 2}):
    runner._check_same_config(gan, with_overrides(config, overrides))  # pylint: disable=protected-access
  for key, value in (("num_train_steps", config.num_train_steps - 1), ("g_lr", 1.0)):
    with pytest.raises(UsageError, match=f"was started with {key}="):
      runner._check_same_config(gan, with_overrides(config, {key: value}))  # pylint: disable=protected-access

  directions = runner.run_of(tables.MNIST.row("directions"), str(tmp_path))
  config = runner.build_config(directions)
  started_with(directions, with_overrides(config, {"directions.max_minutes": 15.0}))
  longer = with_overrides(config, {"directions.max_minutes": 30.0, "directions.num_steps": 200_000})
  runner._check_same_config(directions, longer)  # pylint: disable=protected-access
  with pytest.raises(UsageError, match="was started with directions.num_directions="):
    runner._check_same_config(  # pylint: disable=protected-access
        directions, with_overrides(config, {"directions.num_directions": 3}))


def test_the_readme_rows_are_rewritten_between_the_markers_only(tmp_path):
  readme = tmp_path / "README.md"
  shutil.copy(os.path.join(REPO_ROOT, "README.md"), readme)
  before = readme.read_text(encoding="utf-8")
  results_md = tmp_path / "results.md"
  begin, end = report.markers("mnist")
  results_md.write_text(f"# title\n\n{begin}\n| a | b |\n|---|---|\n| new row | `cmd` |\n{end}\n\nsummary\n")
  report.check_readme(str(readme), "mnist")
  report.rewrite_readme(str(readme), str(results_md), "mnist")
  after = readme.read_text(encoding="utf-8")
  assert _marked(after) == f"{begin}\n| a | b |\n|---|---|\n| new row | `cmd` |\n{end}"
  assert after.replace(_marked(after), "") == before.replace(_marked(before), "")
  (tmp_path / "plain.md").write_text("no markers\n")
  with pytest.raises(UsageError, match="mnist-table:begin"):
    report.check_readme(str(tmp_path / "plain.md"), "mnist")


# ---- End to end ------------------------------------------------------------------------------------

def _rows(workdir):
  return {row["name"]: row for row in _read(os.path.join(workdir, "results.json"))["rows"]}


def test_the_tiny_mnist_table_stops_by_time_resumes_and_skips_what_is_done(tmp_path, mnist_data_dir, monkeypatch):
  monkeypatch.setenv("GANXAI_DATA_DIR", mnist_data_dir)
  workdir = str(tmp_path / "table")
  command = ["--table=mnist", f"--workdir={workdir}", "--tiny"]

  # 0. SIGTERM while the first run sets up: it stops at once with the preempted run's exit code.
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
  proc = subprocess.Popen([sys.executable, "-m", "experiments.reproduce", *command], cwd=REPO_ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  for line in proc.stderr:
    if "gan: python3 -m experiments.train" in line:
      proc.send_signal(signal.SIGTERM)
      break
  _, stderr = proc.communicate(timeout=300)
  assert proc.returncode == 75, stderr[-3000:]
  assert "stopped: SIGTERM received" in stderr
  assert _read(os.path.join(workdir, "progress.json"))["runs"]["gan"]["invocations"] == 1

  # 1. A budget of 3 s: the first run stops after its first step and is evaluated there; nothing else starts.
  proc = run_cli("experiments.reproduce", *command, "--max_minutes=0.05")
  rows = _rows(workdir)
  assert rows["gan"]["status"] == "incomplete" and 1 <= rows["gan"]["steps_done"] < rows["gan"]["steps_planned"] == 4
  assert rows["gan"]["numbers"][0]["value"] is not None  # Evaluated at the step it reached.
  assert {rows[name]["status"] for name in ("cgan", "sagan", "infogan")} == {"not started"}
  assert rows["directions"]["status"] == "waiting"
  md = _read(os.path.join(workdir, "results.md"))
  assert "**incomplete**" in md and f"{rows['gan']['steps_done']} / 4" in md
  assert "Remaining: gan (incomplete at step" in proc.stdout
  first_wall = rows["gan"]["wall_seconds"]

  # 2. `--rows=cgan` makes that row's run only; the results files still hold every row.
  proc = run_cli("experiments.reproduce", *command, "--rows=cgan", timeout=1800)
  rows = _rows(workdir)
  assert rows["cgan"]["status"] == "done" and rows["gan"]["status"] == "incomplete"
  assert rows["gan"]["note"] == "not among --rows" and rows["sagan"]["status"] == "not started"

  # 3. The same command without a budget or rows completes every row, resuming the first run (about 5 min of CPU).
  proc = run_cli("experiments.reproduce", *command, timeout=1800)
  results = _read(os.path.join(workdir, "results.json"))
  rows = {row["name"]: row for row in results["rows"]}
  assert results["done"] == [row.name for row in tables.MNIST.rows] and results["remaining"] == []
  assert "6 of 6 rows done" in proc.stdout
  assert rows["gan"]["steps_done"] == 4 and rows["gan"]["wall_seconds"] > first_wall
  assert rows["gan"]["command"] == (f"python3 -m experiments.train --config=configs/mnist.py:gan,tiny "
                                    f"--workdir={workdir}/gan")
  assert rows["cgan"]["numbers"][0]["label"] == "label accuracy" and rows["cgan"]["numbers"][0]["value"] is not None
  infogan = rows["infogan"]["numbers"][0]
  assert infogan["seeds"] == [0, 1, 2] and len(infogan["per_seed"]) == 3 and infogan["target"] == "≥ 0.95"
  assert rows["infogan"]["command"].endswith("--config.num_seeds=3") and rows["infogan"]["steps_done"] == 4
  for name in ("directions", "cgan_directions"):
    rca = rows[name]["numbers"][0]
    assert rows[name]["steps_done"] == rows[name]["steps_planned"] == 3
    assert rca["value"] is not None and rca["baselines"]["chance"] == 0.25
    assert set(rca["baselines"]) == {"random", "coordinate", "chance"}
    assert sum(rows[name]["tallies"]["learned directions"].values()) == 4
    distinct = rows[name]["numbers"][1]
    assert distinct["label"] == "distinct attributes" and 0 <= distinct["value"] <= 4
    assert set(distinct["baselines"]) == {"random"}
    assert f"--config.generator_workdir={workdir}/{'gan' if name == 'directions' else 'cgan'}" in rows[name]["command"]
    # The CGAN's directions are checked to keep the digit asked; the unconditional GAN's have none to keep.
    explain_dir = next(arg.split("=", 1)[1] for arg in rows[name]["command"].split() if arg.startswith("--workdir="))
    explained = _read(os.path.join(explain_dir, "explain.json"))
    if name == "cgan_directions":
      assert explained["content_judge"].startswith("share of images the evaluation classifier reads")
      assert {"learned_orthonormal", "random"} <= set(explained["content_table"])
      assert all(0 <= row["mean_shifted_error"] <= 1 for row in explained["content_table"].values())
    else:
      assert "content_table" not in explained and explained["content_judge"].endswith("not conditioned on its content")
  md = _read(os.path.join(workdir, "results.md"))
  assert "**incomplete**" not in md and md.count("\n| ") == 1 + len(tables.MNIST.rows)  # Header and rows.
  progress = _read(os.path.join(workdir, "progress.json"))
  assert progress["runs"]["gan"]["invocations"] == 3 and progress["runs"]["infogan"]["invocations"] == 1
  assert progress["runs"]["cgan"]["invocations"] == 1

  # 4. Once more, with a README to rewrite: every run is skipped, nothing is trained.
  readme = tmp_path / "README.md"
  shutil.copy(os.path.join(REPO_ROOT, "README.md"), readme)
  proc = run_cli("experiments.reproduce", *command, f"--readme={readme}")
  assert _read(os.path.join(workdir, "progress.json")) == progress
  assert "6 of 6 rows done" in proc.stdout and "Remaining" not in proc.stdout
  assert _marked(readme.read_text(encoding="utf-8")) == _marked(_read(os.path.join(workdir, "results.md")))
