"""Errors of the commands: bad input is one line and exit code 2 before anything is written, a bug is a
traceback and exit code 1, `--help` exits 0 and lists the flags and the config's keys.

The command-line tests run every command in a subprocess; the checks of single config keys run in
process (`config_checks` directly), so that each allowed range is tested without starting a command.
"""
import json
import os
import subprocess
import sys

import jax
import ml_collections
import pytest

from configs import explain as explain_configs
from configs import mnist as mnist_configs
from configs import scrabble as scrabble_configs
from ganxai_jax import cli
from ganxai_jax import config_checks
from ganxai_jax import kinds
from ganxai_jax.errors import ConfigError, UsageError
from tests.conftest import REPO_ROOT, run_cli


def _fake_run(folder, **config) -> str:
  """A folder that looks like a training run to the checks: config.json and an empty checkpoints/."""
  os.makedirs(os.path.join(folder, "checkpoints"))
  with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as fh:
    json.dump(config, fh)
  return str(folder)


@pytest.fixture
def places(tmp_path) -> dict[str, str]:
  """Paths the command lines below name: `out` must never be created by a rejected command."""
  (tmp_path / "a_file").write_text("not a folder")
  (tmp_path / "empty").mkdir()
  (tmp_path / "explain_run").mkdir()
  (tmp_path / "explain_run" / "directions.npz").write_bytes(b"")  # Passes the folder check, never read.
  return {
      "tmp": str(tmp_path), "out": str(tmp_path / "out"), "file": str(tmp_path / "a_file"),
      "empty": str(tmp_path / "empty"), "explain_run": str(tmp_path / "explain_run"),
      "mnist_run": _fake_run(tmp_path / "mnist_run", model="gan"),
      "cgan_run": _fake_run(tmp_path / "cgan_run", model="cgan", num_classes=10),
      "cgan_info_run": _fake_run(tmp_path / "cgan_info_run", model="cgan", num_classes=10, num_categorical=10),
      "scrabble_run": _fake_run(tmp_path / "scrabble_run", model="scrabblegan", lexicon_max_length=20,
                                eval_recognizer_workdir=""),
  }


MNIST = "--config=configs/mnist.py:gan,tiny"
SCRABBLE = "--config=configs/scrabble.py:tiny"
DIRECTIONS = "--config=configs/explain.py:directions,tiny"

# (command, arguments, fragments the one error line must hold); {name} is a path of `places`.
BAD_INPUT = [
    # The five cases of issue 12.
    ("explain", [DIRECTIONS, "--config.generator_workdir={mnist_run}", "--workdir={out}",
                 "--config.directions.num_directions=-1"],
     ["config.directions.num_directions=-1: must be an integer >= 0"]),
    ("train", [MNIST, "--workdir={out}", "--config.num_train_steps=-5"],
     ["config.num_train_steps=-5: must be an integer >= 1"]),
    ("train", ["--config=configs/nope.py", "--workdir={out}"],
     ["config file 'configs/nope.py' not found; the configs are configs/mnist.py, configs/scrabble.py"]),
    ("train", [SCRABBLE, "--workdir={out}", "--config.max_minute=1"],
     ["unknown config key 'max_minute' (did you mean 'max_minutes'?)"]),
    ("train", ["--config=configs/nope.py", "--workdir={out}", "--config.seed=1"],
     ["config file 'configs/nope.py' not found"]),
    # train
    ("train", ["--config=configs/mnist.py:wgan", "--workdir={out}"], ["'wgan'", "gan, cgan, sagan, infogan"]),
    # A style code with one value carries no information.
    ("train", ["--config=configs/mnist.py:cgan_info,tiny", "--workdir={out}", "--config.num_categorical=1"],
     ["config.num_categorical=1"]),
    ("train", ["--config=configs/scrabble.py:tiny,info", "--workdir={out}", "--config.num_categorical=1"],
     ["config.num_categorical=1"]),
    ("train", [MNIST, "--workdir={out}", "--config.loss=wgan"], ["config.loss='wgan'", "'hinge'"]),
    ("train", [MNIST, "--workdir={out}", "--config.batch_size=abc"], ["batch_size=abc"]),
    ("train", [MNIST, "--workdir={out}", "--config.g_attention=(9,)"], ["config.g_attention=(9,)", "7, 14"]),
    ("train", [MNIST, "--workdir={out}", "--config.dataset=mnist_idx", "--config.manual_dir={tmp}/no_mnist"],
     ["config.manual_dir=", "does not exist", "t10k-images-idx3-ubyte"]),
    ("train", [MNIST, "--workdir={file}"], ["--workdir=", "is a file"]),
    ("train", [MNIST, "--workdir={file}/run"], ["--workdir=", "cannot be created"]),
    ("train", [SCRABBLE, "--workdir={out}", "--config.r_warmup_steps=4"],
     ["config.r_warmup_steps=4: must be below config.num_train_steps=4"]),
    ("train", [SCRABBLE, "--workdir={out}", "--config.conv_impl=fast"], ["'auto', 'lax', 'shifted_matmul'"]),
    ("train", [SCRABBLE, "--workdir={out}", "--config.eval_recognizer_workdir={tmp}/no_recognizer"],
     ["config.eval_recognizer_workdir=", "does not exist"]),
    # evaluate
    ("evaluate", ["--workdir={empty}"], ["--workdir=", "holds no config.json"]),
    ("evaluate", ["--workdir={out}"], ["--workdir=", "does not exist"]),
    ("evaluate", ["--workdir={scrabble_run}"], ["eval_recognizer_workdir"]),
    # generate
    ("generate", ["--workdir={scrabble_run}", "--text= ", "--output={out}/x.png"], ["--text=' '", "empty"]),
    ("generate", ["--workdir={scrabble_run}", "--text=Shalom עולם", "--output={tmp}/x.png"], ["U+05E2"]),
    ("generate", ["--workdir={scrabble_run}", "--text=Shalom", "--num_styles=0", "--output={tmp}/x.png"],
     ["--num_styles=0: must be an integer >= 1"]),
    ("generate", ["--workdir={scrabble_run}", "--text=Shalom", "--output={out}/x.png"],
     ["--output=", "does not exist"]),
    ("generate", ["--workdir={mnist_run}", "--text=Shalom", "--output={tmp}/x.png"],
     ["model='gan'", "'scrabblegan'"]),
    ("generate", ["--workdir={scrabble_run}", f"--text={'a' * 21}", "--output={tmp}/x.png"], ["at most 20"]),
    ("generate", ["--workdir={scrabble_run}", "--output={tmp}/x.png"], ["--text=None", "or --latent=FILE"]),
    ("generate", ["--workdir={scrabble_run}", "--latent={file}", "--output={tmp}/x.png"],
     ["latent=", "is not JSON"]),
    ("generate", ["--workdir={scrabble_run}", "--latent={tmp}/none.json", "--output={tmp}/x.png"],
     ["latent=", "does not exist"]),
    ("generate", ["--workdir={scrabble_run}", "--latent={file}", "--text=hi", "--output={tmp}/x.png"],
     ["--text='hi'", "not both"]),
    # generate in the style of a real word
    ("generate", ["--workdir={scrabble_run}", "--text=hi", "--style_image={tmp}/none.png", "--style_text=word",
                  "--output={tmp}/x.png"], ["--style_image='{tmp}/none.png': does not exist", "png, jpg"]),
    ("generate", ["--workdir={scrabble_run}", "--text=hi", "--style_image={file}", "--style_text=word",
                  "--output={tmp}/x.png"], ["--style_image='{file}': is not an image"]),
    ("generate", ["--workdir={scrabble_run}", "--text=hi", "--style_image={file}", "--output={tmp}/x.png"],
     ["--style_image=", "needs --style_text=WORD"]),
    ("generate", ["--workdir={scrabble_run}", "--text=hi", "--style_text=word", "--output={tmp}/x.png"],
     ["--style_text='word'", "goes with --style_image=FILE"]),
    ("generate", ["--workdir={scrabble_run}", "--text=hi", "--style_image={file}", "--style_text=café",
                  "--output={tmp}/x.png"], ["--style_text='café'", "'é' (U+00E9)", "it writes only"]),
    ("generate", ["--workdir={scrabble_run}", "--text=hi", "--style_image={file}", "--style_text=two words",
                  "--output={tmp}/x.png"], ["--style_text='two words'", "the one word"]),
    ("generate", ["--workdir={mnist_run}", "--text=hi", "--style_image={file}", "--style_text=word",
                  "--output={tmp}/x.png"], ["model='gan'", "'scrabblegan'"]),
    # Digits in the style of a real digit (a CGAN run).
    ("generate", ["--workdir={cgan_run}", "--text=0 1", "--style_image={tmp}/none.png", "--style_text=3",
                  "--output={tmp}/x.png"], ["--style_image='{tmp}/none.png': does not exist", "of one digit"]),
    ("generate", ["--workdir={cgan_run}", "--text=0 1", "--style_image={file}", "--style_text=3",
                  "--output={tmp}/x.png"], ["--style_image='{file}': is not an image"]),
    ("generate", ["--workdir={cgan_run}", "--text=0 x", "--style_image={file}", "--style_text=3",
                  "--output={tmp}/x.png"], ["--text='0 x'", "'x' is not one of the digits the CGAN draws (0-9)"]),
    ("generate", ["--workdir={cgan_run}", "--text=0 1", "--style_image={file}", "--style_text=12",
                  "--output={tmp}/x.png"], ["--style_text='12'", "'12' is not one of the digits"]),
    ("generate", ["--workdir={cgan_run}", "--text=0 1", "--style_image={file}", "--style_text=1 2",
                  "--output={tmp}/x.png"], ["--style_text='1 2'", "the one digit"]),
    ("generate", ["--workdir={cgan_run}", "--text=0 1", "--style_text=3", "--output={tmp}/x.png"],
     ["--style_text='3'", "goes with --style_image=FILE"]),
    ("generate", ["--workdir={cgan_run}", "--text=0 1", "--style_image={file}", "--style_text=3",
                  "--feature_weight=1", "--output={tmp}/x.png"], ["--feature_weight=1.0", "applies to word runs"]),
    ("generate", ["--workdir={cgan_info_run}", "--text=0 1", "--style_image={file}", "--style_text=3",
                  "--output={tmp}/x.png"], ["--workdir=", "InfoGAN codes"]),
    ("generate", ["--workdir={cgan_run}", "--text=0 1", "--output={tmp}/x.png"],
     ["--workdir=", "holds a CGAN run", "--style_image=FILE --style_text=DIGIT"]),
    ("generate", ["--workdir={scrabble_run}", "--latent={file}", "--style_image={file}", "--style_text=word",
                  "--output={tmp}/x.png"], ["--latent=", "neither --style_image nor --style_text"]),
    # place_styles
    ("place_styles", ["--explain={empty}", "--styles={file}", "--output={tmp}/x.png"],
     ["--explain=", "directions.npz"]),
    ("place_styles", ["--explain={explain_run}", "--styles={tmp}/none.json", "--output={tmp}/x.png"],
     ["--styles='{tmp}/none.json': does not exist"]),
    ("place_styles", ["--explain={explain_run}", "--styles={empty}", "--output={tmp}/x.png"],
     ["--styles='{empty}': is a folder without", "experiments.generate --style_image"]),
    ("place_styles", ["--explain={explain_run}", "--styles={file}", "--output={tmp}/x.png"],
     ["--styles='{file}': must be the JSON"]),
    # serve
    ("serve", ["--workdir={empty}"], ["--workdir=", "holds no config.json"]),
    ("serve", ["--workdir={scrabble_run}", "--port=70000"], ["--port=70000", "[0, 65535]"]),
    ("serve", ["--workdir={scrabble_run}", "--explain={empty}"], ["--explain=", "directions.npz"]),
    # explain
    ("explain", ["--config=configs/explain.py:lime", "--config.generator_workdir={mnist_run}", "--workdir={out}"],
     ["'lime'", "attention, directions, ganspace, sefa, influence"]),
    ("explain", [DIRECTIONS, "--config.generator_workdir={empty}", "--workdir={out}"],
     ["config.generator_workdir=", "holds no config.json"]),
    ("explain", [DIRECTIONS, "--config.generator_workdir={mnist_run}", "--workdir={out}",
                 "--config.directions.kind=diagonal"],
     ["config.directions.kind='diagonal'", "'linear', 'orthonormal'"]),
    ("explain", [DIRECTIONS, "--config.generator_workdir={mnist_run}", "--workdir={mnist_run}"],
     ["--workdir=", "a folder of their own"]),
    # sweep
    ("sweep", [MNIST, "--sweep=g_lr=1e-4,-1", "--workdir={out}"], ["run g_lr=-1.0", "config.g_lr=-1.0: must be"]),
    ("sweep", [MNIST, "--sweep=no_key=1", "--workdir={out}"], ["'no_key'"]),
    ("sweep", [MNIST, "--sweep=seed=0", "--workdir={out}", "--config.beta1=1.0"], ["config.beta1=1.0"]),
    # show_data
    ("show_data", ["--config=configs/scrabble.py:huge", "--workdir={out}"], ["'huge'", "tiny, cpu, attention, info, iam, rimes, cvl"]),
    ("show_data", ["--config=configs/scrabble.py:iam", "--workdir={out}"], ["config.manual_dir=None", "IAM"]),
    ("show_data", [SCRABBLE, "--workdir={out}", "--config.dataset=iam"],
     ["config.dataset='iam'", "'synthetic_handwriting', 'iam_words'"]),
    ("show_data", [SCRABBLE, "--workdir={out}", "--num_writers=0"], ["--num_writers=0"]),
    ("show_data", [SCRABBLE, "--workdir={out}", "--export_words=-1"], ["--export_words=-1", "0: none"]),
    ("show_data", [SCRABBLE, "--workdir={out}", "--export_digits=3"], ["--export_digits=3", "configs/mnist.py"]),
    ("show_data", [MNIST, "--workdir={out}", "--export_words=2"], ["--export_words=2", "--export_digits=N"]),
    ("show_data", [MNIST, "--workdir={out}", "--export_digits=-1"], ["--export_digits=-1", "0: none"]),
    # train_recognizer
    ("train_recognizer", [SCRABBLE, "--workdir={out}", "--config.recognizer.learning_rate=0"],
     ["config.recognizer.learning_rate=0.0: must be a number > 0"]),
    ("train_recognizer", [SCRABBLE, "--workdir={out}", "--config.iam.test_percent=101"],
     ["config.iam.test_percent=101: must be an integer in [0, 100]"]),
    ("train_recognizer", [SCRABBLE, "--workdir={out}", "--config.recognizer.batch_siz=3"],
     ["unknown config key 'recognizer.batch_siz' (did you mean 'recognizer.batch_size'?)"]),
    ("train_recognizer", [SCRABBLE, "--workdir={file}"], ["is a file"]),
    # reproduce
    ("reproduce", ["--table=words", "--workdir={out}"], ["--table=words", "one of <mnist>"]),
    ("reproduce", ["--table=mnist", "--workdir={out}", "--max_minutes=-1"],
     ["--max_minutes=-1", "must be a number of minutes >= 0"]),
    ("reproduce", ["--table=mnist"], ["--workdir", "must have a value"]),
    ("reproduce", ["--table=mnist", "--workdir={file}"], ["--workdir=", "is a file"]),
    ("reproduce", ["--table=mnist", "--workdir={out}", "--rows=gan,gna"],
     ["--rows: 'gna' is not a row of table 'mnist'; its rows are gan, cgan, sagan, infogan"]),
    ("reproduce", ["--table=mnist", "--workdir={out}", "--readme={file}"],
     ["--readme=", "'<!-- mnist-table:begin -->'"]),
    # --help with a config file that is not there is bad input too.
    ("explain", ["--config=configs/nope.py", "--help"],
     ["config file 'configs/nope.py' not found; the configs are configs/explain.py"]),
]


@pytest.mark.parametrize("command, args, fragments", BAD_INPUT,
                         ids=[f"{c}:{' '.join(a[-2:])}" for c, a, _ in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(command, args, fragments, places):
  args = [a.format(**places) for a in args]
  proc = run_cli(f"experiments.{command}", *args, check=False)
  assert proc.returncode == cli.EXIT_BAD_INPUT, proc.stderr[-3000:]
  lines = proc.stderr.splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-3000:]
  for fragment in fragments:
    assert fragment.format(**places) in lines[0], lines[0]
  assert not os.path.exists(places["out"])
  assert sorted(os.listdir(places["mnist_run"])) == ["checkpoints", "config.json"]


def test_batch_size_must_split_over_the_devices(places):
  proc = run_cli("experiments.train", MNIST, f"--workdir={places['out']}", "--config.batch_size=12",
                 devices=8, check=False)
  assert proc.returncode == 2, proc.stderr[-3000:]
  assert proc.stderr == "error: config.batch_size=12: must be a multiple of the 8 devices of the run\n"
  assert not os.path.exists(places["out"])


# A bug in the code that a command runs: the library function each command calls first raises TypeError.
_INJECT_BUG = """
import importlib, runpy, sys
module, name, command = sys.argv[1:4]
def injected(*args, **kwargs):
  raise TypeError(f"injected bug in {name}")
setattr(importlib.import_module(module), name, injected)
sys.argv = [sys.argv[0]] + sys.argv[4:]
runpy.run_module(f"experiments.{command}", run_name="__main__", alter_sys=True)
"""

BUGS = [
    ("train", "ganxai_jax.kinds", "train", [MNIST, "--workdir={out}"]),
    ("evaluate", "ganxai_jax.kinds", "evaluate_workdir", ["--workdir={mnist_run}"]),
    ("generate", "ganxai_jax.generation", "write_text_image",
     ["--workdir={scrabble_run}", "--text=Shalom", "--output={tmp}/x.png"]),
    ("explain", "ganxai_jax.explain.runner", "run",
     ["--config=configs/explain.py:sefa,tiny", "--config.generator_workdir={mnist_run}", "--workdir={out}"]),
    ("sweep", "ganxai_jax.training.sweep", "run_sweep", [MNIST, "--sweep=seed=0,1", "--workdir={out}"]),
    ("show_data", "ganxai_jax.data.handwriting", "prepare", [SCRABBLE, "--workdir={out}"]),
    ("train_recognizer", "ganxai_jax.training.recognizer_training", "train_recognizer",
     [SCRABBLE, "--workdir={out}"]),
    ("reproduce", "ganxai_jax.reproduce.runner", "reproduce", ["--table=mnist", "--workdir={out}", "--tiny"]),
    ("serve", "ganxai_jax.serve.server", "serve", ["--workdir={scrabble_run}"]),
]


@pytest.mark.parametrize("command, module, function, args", BUGS, ids=[b[0] for b in BUGS])
def test_a_bug_is_a_traceback_and_exit_1(command, module, function, args, places):
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
  proc = subprocess.run([sys.executable, "-c", _INJECT_BUG, module, function, command,
                         *[a.format(**places) for a in args]],
                        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 1, proc.stderr[-3000:]
  assert "Traceback (most recent call last)" in proc.stderr
  assert f"TypeError: injected bug in {function}" in proc.stderr
  assert "error:" not in proc.stderr


def test_help_without_a_config_names_the_config_files_and_the_flags():
  proc = run_cli("experiments.train", "--help")
  assert "--workdir:" in proc.stdout and "--[no]verbose:" in proc.stdout
  assert "takes configs/mnist.py, configs/scrabble.py" in proc.stdout
  assert "--config=FILE --help lists the keys" in proc.stdout
  proc = run_cli("experiments.generate", "-h")
  assert "--text:" in proc.stdout and "--num_styles:" in proc.stdout


@pytest.mark.parametrize("command, config_arg, get_config", [
    ("train", "configs/mnist.py:gan", lambda: mnist_configs.get_config("gan")),
    ("train_recognizer", "configs/scrabble.py:cpu", lambda: scrabble_configs.get_config("cpu")),
    ("explain", "configs/explain.py:sefa", lambda: explain_configs.get_config("sefa")),
])
def test_help_with_a_config_lists_every_key_and_its_value(command, config_arg, get_config):
  proc = run_cli(f"experiments.{command}", f"--config={config_arg}", "--help")
  printed = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  ") and "=" in line]
  expected = [f"{key}={value!r}" for key, value in cli.flatten_config(get_config())]
  assert [line for line in printed if line in expected] == expected
  assert any(line.startswith("num_train_steps=") or line.startswith("recognizer.num_steps=")
             or line.startswith("sefa.num_directions=") for line in printed)


# ---- The checks themselves, in process -----------------------------------------------------------

def _fake_iam(folder) -> str:
  os.makedirs(os.path.join(folder, "words"))
  open(os.path.join(folder, "words.txt"), "w", encoding="utf-8").close()
  return str(folder)


def _configs(tmp_path) -> list[tuple[str, str, ml_collections.ConfigDict]]:
  """(config file, check, config) for every variant of every config file, with the paths they need."""
  run = _fake_run(tmp_path / "run", model="cgan")
  configs = []
  for variant in mnist_configs.VARIANTS:
    for arg in (variant, f"{variant},tiny"):
      configs.append(("mnist", "train", mnist_configs.get_config(arg)))
  for arg in ("", "tiny", "cpu", "tiny,cpu", "iam", "tiny,info"):
    config = scrabble_configs.get_config(arg)
    if "iam" in arg:
      config.manual_dir = _fake_iam(tmp_path / "iam")
    # tiny,cpu cannot train: cpu's 3000 recognizer warm-up steps exceed tiny's 4 steps (the trainer agrees).
    checks = ("recognizer", "data") + (("train",) if arg != "tiny,cpu" else ())
    configs += [("scrabble", check, config) for check in checks]
  for method in explain_configs.METHODS:
    for arg in (method, f"{method},tiny"):
      config = explain_configs.get_config(arg)
      config.generator_workdir = run
      configs.append(("explain", "explain", config))
  return configs


_CHECKS = {"train": kinds.check_config, "recognizer": config_checks.check_recognizer,
           "data": config_checks.check_data,
           "explain": lambda config: config_checks.check_explain(config, kinds.MODELS)}


def test_every_variant_of_every_config_file_passes_its_checks(tmp_path, monkeypatch):
  monkeypatch.setattr(jax, "device_count", lambda: 1)  # The configs' batches are sized for one device.
  for _, check, config in _configs(tmp_path):
    _CHECKS[check](config)


def test_every_key_of_every_config_file_is_checked(tmp_path, monkeypatch):
  """A key added to a config file without a check fails here, naming it."""
  monkeypatch.setattr(jax, "device_count", lambda: 1)
  read = {"mnist": set(), "scrabble": set(), "explain": set()}
  keys = {"mnist": set(), "scrabble": set(), "explain": set()}
  get = config_checks._get  # pylint: disable=protected-access
  for family, check, config in _configs(tmp_path):
    monkeypatch.setattr(config_checks, "_get", lambda c, key, family=family: read[family].add(key) or get(c, key))
    _CHECKS[check](config)
    keys[family] |= {key for key, _ in cli.flatten_config(config)}
  assert {family: sorted(keys[family] - read[family]) for family in keys} == {f: [] for f in keys}


# (check, config file and variant, key, bad value, what the message says is allowed)
BAD_VALUES = [
    ("train", "mnist:gan", "model", "dcgan", "'gan', 'cgan', 'sagan', 'infogan', 'scrabblegan'"),
    ("train", "mnist:gan", "log_every_steps", 0, "an integer >= 1"),
    ("train", "mnist:gan", "checkpoint_every_steps", -1, "an integer >= 1"),
    ("train", "mnist:gan", "sample_every_steps", -1, "an integer >= 0 (0: only at the end)"),
    ("train", "mnist:gan", "eval_every_steps", -2, "an integer >= 0"),
    ("train", "mnist:gan", "g_lr", 0.0, "a number > 0"),
    ("train", "mnist:gan", "d_lr", float("nan"), "a number > 0"),
    ("train", "mnist:gan", "beta2", 1.0, "a number in [0, 1)"),
    ("train", "mnist:gan", "ema_decay", -0.1, "a number in [0, 1)"),
    ("train", "mnist:gan", "num_classes", 5, "one of 0, 10"),
    ("train", "mnist:gan", "latent_dim", 0, "an integer >= 1"),
    ("train", "mnist:gan", "keep_checkpoints", 0, "an integer >= 1"),
    ("train", "mnist:gan", "dataset", "mnist_full", "'mnist_embedded', 'mnist_idx'"),
    ("train", "mnist:gan", "data_dir", "{file}", "is a file"),
    ("train", "mnist:infogan", "info_weight", -1.0, "a number >= 0"),
    ("train", "scrabble:tiny", "z_dim", 130, "a multiple of 4"),
    ("train", "scrabble:tiny", "g_schedule", "loop", "'host', 'cond'"),
    ("train", "scrabble:tiny", "lr_constant_fraction", 1.5, "a number in [0, 1]"),
    ("train", "scrabble:tiny", "g_attention", (4,), "integers among 8, 16, 32"),
    ("train", "scrabble:tiny", "d_attention", (32,), "integers among 4, 8, 16"),
    ("train", "scrabble:tiny", "sample_words", ("two words",), "a non-empty tuple of words"),
    ("train", "scrabble:tiny", "eval_style_words", ("café",), "U+00E9"),
    ("train", "scrabble:tiny", "width_multiplier", 0.0, "a number > 0"),
    ("train", "scrabble:tiny", "max_minutes", -1.0, "a number >= 0 (0: no limit)"),
    ("data", "scrabble:tiny", "synthetic_size", "huge", "'default', 'tiny'"),
    ("data", "scrabble:tiny", "bucket_size", 0, "an integer >= 1"),
    ("data", "scrabble:tiny", "iam.max_width_per_char", 5.0, "a number > 5.33"),
    ("recognizer", "scrabble:tiny", "recognizer.num_steps", 0, "an integer >= 1"),
    ("recognizer", "scrabble:tiny", "recognizer.width_multiplier", -0.5, "a number > 0"),
    ("recognizer", "scrabble:tiny", "recognizer.max_minutes", -1.0, "a number >= 0"),
    ("explain", "explain:directions,tiny", "directions.baselines", ("random", "pca"), "'random', 'coordinate'"),
    ("explain", "explain:directions,tiny", "directions.min_shift", 7.0, "a number in [0, 6]"),
    ("explain", "explain:directions,tiny", "directions.reconstructor_channels", (4, 0), "integers >= 1"),
    ("explain", "explain:ganspace,tiny", "ganspace.num_samples", 1, "an integer >= 2"),
    ("explain", "explain:sefa,tiny", "sefa.naming_steps", 1, "an integer >= 2"),
    ("explain", "explain:sefa,tiny", "sefa.min_consistency", 1.5, "a number in [0, 1]"),
    ("explain", "explain:sefa,tiny", "sefa.word", "two words", "one word"),
    ("explain", "explain:attention,tiny", "attention.ink_query_fraction", 0.0, "a number in (0, 1]"),
    ("explain", "explain:attention,tiny", "method", "lime", "'attention', 'directions', 'influence', 'ganspace', 'sefa'"),
]
_CONFIG_MODULES = {"mnist": mnist_configs, "scrabble": scrabble_configs, "explain": explain_configs}


@pytest.mark.parametrize("check, source, key, value, allowed", BAD_VALUES,
                         ids=[f"{r[2]}={r[3]}" for r in BAD_VALUES])
def test_a_value_out_of_range_names_key_value_and_range(check, source, key, value, allowed, tmp_path,
                                                         monkeypatch):
  monkeypatch.setattr(jax, "device_count", lambda: 1)
  name, arg = source.split(":")
  config = _CONFIG_MODULES[name].get_config(arg)
  if name == "explain":
    config.generator_workdir = _fake_run(tmp_path / "run", model="gan")
  _CHECKS[check](config)  # The config itself is good ...
  (tmp_path / "a_file").write_text("")
  value = value.format(file=tmp_path / "a_file") if isinstance(value, str) else value
  *sections, last = key.split(".")
  node = config
  for section in sections:
    node = node[section]
  node[last] = value
  with pytest.raises(ConfigError) as error:  # ... and one bad value is named.
    _CHECKS[check](config)
  message = str(error.value)
  assert message.startswith(f"config.{key}={value!r}: "), message
  assert allowed in message and "\n" not in message, message


def test_batch_size_is_checked_against_the_devices_of_the_run():
  if jax.device_count() == 1:
    pytest.skip("every batch splits over one device")
  config = mnist_configs.get_config("gan,tiny")
  config.batch_size = jax.device_count() + 1
  with pytest.raises(ConfigError, match=f"multiple of the {jax.device_count()} devices"):
    kinds.check_config(config)


def test_workdir_must_be_a_folder_that_exists_or_can_be_created(tmp_path):
  (tmp_path / "a_file").write_text("")
  config_checks.check_workdir(str(tmp_path))
  config_checks.check_workdir(str(tmp_path / "new" / "deeper"))
  assert not (tmp_path / "new").exists()  # Checked, not created.
  for bad, expected in ((tmp_path / "a_file", "is a file"), (tmp_path / "a_file" / "run", "cannot be created"),
                        ("", "must name a folder")):
    with pytest.raises(ConfigError, match=expected):
      config_checks.check_workdir(str(bad))


@pytest.mark.parametrize("module, arg, expected", [
    (mnist_configs, "cgan,tiny", ("cgan", 8)),
    (mnist_configs, "tiny", ("cgan", 8)),
    (mnist_configs, "tiny,sagan", ("sagan", 8)),
    (mnist_configs, None, ("cgan", 64)),
    (scrabble_configs, "cpu", ("scrabblegan", 0.25)),
    (scrabble_configs, "tiny,cpu", ("scrabblegan", 1 / 16)),
    (scrabble_configs, "iam", ("scrabblegan", 1.0)),
    (explain_configs, "directions,tiny", ("directions", True)),
    (explain_configs, "sefa", ("sefa", False)),
])
def test_every_variant_string_still_works(module, arg, expected):
  config = module.get_config(arg)
  if module is mnist_configs:
    assert (config.model, config.latent_dim) == expected
  elif module is scrabble_configs:
    assert (config.model, config.width_multiplier) == expected
    assert (config.dataset == "iam_words") == ("iam" in (arg or ""))
  else:
    assert (config.method, config.tiny) == expected


@pytest.mark.parametrize("module, arg, expected", [
    (mnist_configs, "wgan", "configs/mnist.py takes variants: gan, cgan, sagan, infogan, cgan_info; options: tiny"),
    (mnist_configs, "gan,cgan", "'gan' and 'cgan' are both variants"),
    (scrabble_configs, "gpu", "configs/scrabble.py takes options: tiny, cpu, attention, info, iam, rimes, cvl"),
    (explain_configs, "directions,huge", "variants: attention, directions, ganspace, sefa, influence; options: tiny"),
])
def test_an_unknown_variant_lists_what_the_file_takes(module, arg, expected):
  with pytest.raises(UsageError, match=expected) as error:
    module.get_config(arg)
  assert "\n" not in str(error.value)
