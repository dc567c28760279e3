"""What each command checks before it runs: `for_command(name)`, for `cli.run(main, check=...)`.

Every check runs once the flags are parsed and before anything is read, prepared, compiled or written
(see `config_checks`); a training config is checked by its run kind (`kinds.check_config`). Each entry
also names the config files its command takes, for `--help` and for the error of a missing file.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import os
from typing import Callable

import ml_collections
from absl import flags

from ganxai_jax import config_checks
from ganxai_jax import generation
from ganxai_jax import html_report
from ganxai_jax import kinds
from ganxai_jax.data import text
from ganxai_jax.errors import ConfigError
from ganxai_jax.reproduce import report
from ganxai_jax.training import sweep

MNIST_AND_SCRABBLE = ("configs/mnist.py", "configs/scrabble.py")


@dataclasses.dataclass(frozen=True)
class CommandCheck:
  """What `cli.run(main, check=...)` calls with the parsed flags before `main`, and the config files
  the command takes (listed by `--help` and by the error for a config file that is not there)."""
  name: str
  config_files: tuple[str, ...]
  check: Callable[[flags.FlagValues], None]

  def __call__(self, flag_values: flags.FlagValues) -> None:
    self.check(flag_values)


def _train(f: flags.FlagValues) -> None:
  kinds.check_config(f.config)
  config_checks.check_workdir(f.workdir)


def _evaluate(f: flags.FlagValues) -> None:
  run_config = config_checks.check_run_folder("--workdir", f.workdir, kinds.MODELS)
  kinds.kind_of(ml_collections.ConfigDict(run_config)).check_run("--workdir", f.workdir, run_config)


def _style(f: flags.FlagValues, alphabet: text.Alphabet, max_length: int) -> None:
  """--style_image and --style_text: both or neither; one word in the run's alphabet; a readable image."""
  if f.style_image is None:
    config_checks.fail("--style_text", f.style_text, "goes with --style_image=FILE, the real word it transcribes")
  if f.style_text is None:
    config_checks.fail("--style_image", f.style_image, "needs --style_text=WORD, the word the image shows")
  if len(f.style_text.split()) != 1:
    config_checks.fail("--style_text", f.style_text, "must be the one word that --style_image shows")
  config_checks.check_word("--style_text", f.style_text, max_length, alphabet)
  config_checks.check_int("--inversion_steps", f.inversion_steps, 1)
  config_checks.check_number("--feature_weight", f.feature_weight, 0.0)
  generation.read_style_image(f.style_image, f.style_text)


def _generate(f: flags.FlagValues) -> None:
  styled = f.style_image is not None or f.style_text is not None
  if f.latent is not None and styled:
    config_checks.fail("--latent", f.latent, "goes with neither --style_image nor --style_text: a latent file "
                       "holds its z")
  if f.latent is not None:
    if f.text is not None:
      config_checks.fail("--text", f.text, "goes with --text or --latent, not both: a latent file holds its text")
    config_checks.check_output_file("--output", f.output)
    config_checks.check_run_folder("--workdir", f.workdir, kinds.MODELS)
    generation.read_latent(f.latent)
    return
  if f.text is None:
    config_checks.fail("--text", None, "is required (or --latent=FILE): the words to write, e.g. --text='Shalom world'")
  if (config_checks.run_config_or_none(f.workdir) or {}).get("model") == "cgan":
    if not styled:
      config_checks.fail("--workdir", f.workdir, "holds a CGAN run: it draws digits in the style of a real digit "
                         "(--style_image=FILE --style_text=DIGIT --text='0 1 2'); --text alone takes a ScrabbleGAN run")
    _digit_style(f)
    return
  # Before the workdir is checked: the text in the run's alphabet (IAM's when the run cannot be read).
  alphabet = config_checks.run_alphabet(f.workdir)
  config_checks.check_word("--text", f.text or "", alphabet=alphabet)
  config_checks.check_int("--num_styles", f.num_styles, 1)
  config_checks.check_output_file("--output", f.output)
  run_config = config_checks.check_run_folder("--workdir", f.workdir, kinds.TEXT_MODELS)
  # Words longer than G learnt to write.
  config_checks.check_word("--text", f.text, run_config.get("lexicon_max_length", 0), alphabet)
  if styled:
    _style(f, alphabet, run_config.get("lexicon_max_length", 0))


def _digit_style(f: flags.FlagValues) -> None:
  """--style_image, --style_text and --text of a CGAN run: a real digit, the digit it shows and the digits
  to draw in its style."""
  run_config = config_checks.check_run_folder("--workdir", f.workdir, ("cgan",))
  if run_config.get("num_categorical") or run_config.get("num_continuous"):
    config_checks.fail("--workdir", f.workdir, "holds a CGAN with InfoGAN codes; --style_image inverts the noise "
                       "of a CGAN without codes")
  if f.style_image is None:
    config_checks.fail("--style_text", f.style_text, "goes with --style_image=FILE, the real digit it names")
  if f.style_text is None:
    config_checks.fail("--style_image", f.style_image, "needs --style_text=DIGIT, the digit the image shows")
  num_classes = int(run_config.get("num_classes", 10))
  generation.style_digit(f.style_text, num_classes)
  generation.parse_digits("--text", f.text, num_classes)
  config_checks.check_int("--inversion_steps", f.inversion_steps, 1)
  if f.feature_weight:
    config_checks.fail("--feature_weight", f.feature_weight, "applies to word runs (a recognizer's features); a "
                       "CGAN's inversion matches pixels: leave it at 0")
  config_checks.check_output_file("--output", f.output)
  generation.read_style_digit(f.style_image)


def _explain(f: flags.FlagValues) -> None:
  config_checks.check_explain(f.config, kinds.MODELS)
  config_checks.check_workdir(f.workdir)
  # Explanations checkpoint into their workdir: the generator's checkpoints would be read as theirs.
  if os.path.realpath(f.workdir) == os.path.realpath(f.config.generator_workdir):
    config_checks.fail("--workdir", f.workdir, "is config.generator_workdir; explanations need a folder of their own")


def sweep_configs(config: ml_collections.ConfigDict, spec: str
                  ) -> list[tuple[str, ml_collections.ConfigDict]]:
  """(run name, config) of every point of the grid `spec` (see `training/sweep.py`) over `config`."""
  axes = sweep.parse_sweep(spec, config)
  points = []
  for values in itertools.product(*[v for _, v in axes]):
    overrides = dict(zip([k for k, _ in axes], values))
    points.append((sweep.run_name(overrides), sweep.with_overrides(config, overrides)))
  return points


def _sweep(f: flags.FlagValues) -> None:
  kinds.check_config(f.config)
  for name, point in sweep_configs(f.config, f.sweep):
    try:
      kinds.check_config(point)
    except ConfigError as e:
      raise ConfigError(f"--sweep run {name}: {e}") from None
  config_checks.check_workdir(f.workdir)


def _show_data(f: flags.FlagValues) -> None:
  digits = "model" in f.config and f.config.model != "scrabblegan"  # configs/mnist.py
  if digits:
    kinds.check_config(f.config)
    if f.export_words:
      config_checks.fail("--export_words", f.export_words, "exports words of a handwriting config "
                         "(configs/scrabble.py); for digits use --export_digits=N")
  else:
    config_checks.check_data(f.config)
    if f.export_digits:
      config_checks.fail("--export_digits", f.export_digits, "exports digits of an MNIST config (configs/mnist.py); "
                         "for words use --export_words=N")
  config_checks.check_int("--num_writers", f.num_writers, 1)
  config_checks.check_int("--words_per_writer", f.words_per_writer, 1)
  config_checks.check_int("--export_words", f.export_words, 0, zero="none")
  config_checks.check_int("--export_digits", f.export_digits, 0, zero="none")
  config_checks.check_workdir(f.workdir)


def _train_recognizer(f: flags.FlagValues) -> None:
  config_checks.check_recognizer(f.config)
  config_checks.check_workdir(f.workdir)


def _explain_folder(name: str, folder: str) -> None:
  if not os.path.isfile(os.path.join(folder, "directions.npz")):
    config_checks.fail(name, folder, "must be the folder of an experiments.explain run of method directions, "
                       "ganspace or sefa (it holds directions.npz)")


def _serve(f: flags.FlagValues) -> None:
  config_checks.check_run_folder("--workdir", f.workdir, kinds.MODELS)
  config_checks.check_int("--port", f.port, 0, 65535, zero="any free port")
  for folder in f.explain:
    _explain_folder("--explain", folder)


def _place_styles(f: flags.FlagValues) -> None:
  _explain_folder("--explain", f.explain)
  config_checks.check_int("--num_directions", f.num_directions, 1)
  config_checks.check_output_file("--output", f.output)
  for path in generation.expand_style_files(f.styles):
    generation.read_style_record(path)


def _report(f: flags.FlagValues) -> None:
  files = ", ".join(html_report.RUN_FILES[:-1]) + " or " + html_report.RUN_FILES[-1]
  if not f.workdir or not os.path.isdir(f.workdir):
    problem = "it is empty" if not f.workdir else "it is a file" if os.path.exists(f.workdir) else "it does not exist"
    config_checks.fail("--workdir", f.workdir, f"must be a run's folder (it holds {files}), and {problem}")
  if not any(os.path.isfile(os.path.join(f.workdir, name)) for name in html_report.RUN_FILES):
    config_checks.fail("--workdir", f.workdir, f"holds none of {files}: it is not a run's folder")
  if not os.access(f.workdir, os.W_OK | os.X_OK):
    config_checks.fail("--workdir", f.workdir, "is a folder this user cannot write in (the report goes there)")


def _reproduce(f: flags.FlagValues) -> None:
  config_checks.check_workdir(f.workdir)
  if f.readme is not None:
    report.check_readme(f.readme, f.table)


COMMANDS = {
    "train": CommandCheck("train", MNIST_AND_SCRABBLE, _train),
    "evaluate": CommandCheck("evaluate", (), _evaluate),
    "generate": CommandCheck("generate", (), _generate),
    "explain": CommandCheck("explain", ("configs/explain.py",), _explain),
    "sweep": CommandCheck("sweep", MNIST_AND_SCRABBLE, _sweep),
    "show_data": CommandCheck("show_data", ("configs/scrabble.py", "configs/mnist.py"), _show_data),
    "train_recognizer": CommandCheck("train_recognizer", ("configs/scrabble.py",), _train_recognizer),
    "reproduce": CommandCheck("reproduce", (), _reproduce),
    "report": CommandCheck("report", (), _report),
    "serve": CommandCheck("serve", (), _serve),
    "place_styles": CommandCheck("place_styles", (), _place_styles),
}


def for_command(name: str) -> CommandCheck:
  """The check of `experiments/<name>.py`, for `cli.run(main, check=commands.for_command(name))`."""
  return COMMANDS[name]
