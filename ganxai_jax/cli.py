"""What every command-line entry point shares: errors that tell bad input from bugs, help, quiet libraries.

`run(main, check)` replaces `absl.app.run(main)`:
* bad input (a bad flag or config value, an unknown config key, a config file that is not there, or a
  `UsageError` raised by `check` or the library) prints `error: <message>` on one line and exits with
  code 2, with no traceback unless `--verbose`; `check` runs before `main`, so nothing is written;
* any other exception is a bug: it propagates and Python prints its traceback (exit code 1);
* `--help` (`-h`) prints the command's flags and, with `--config=FILE`, the config's keys and values;
* a preempted run exits with `guards.EXIT_PREEMPTED`, diverged losses with `guards.EXIT_NON_FINITE`.
"""
from __future__ import annotations

import difflib
import logging as std_logging
import os
import re
import sys
import traceback
from typing import Any, Callable, NoReturn, Sequence

import jax
import ml_collections
from absl import app, flags
from ml_collections.config_flags import config_flags as config_flags_lib

from ganxai_jax.errors import UsageError
from ganxai_jax.run import guards
from ganxai_jax.run.workdir import flatten as flatten_config  # `(dotted key, value)` of a config's leaves.

flags.DEFINE_bool("verbose", False, "Show tracebacks of errors and the logs of third-party libraries.")
flags.DEFINE_string("coordinator_address", None,
                    "host:port of process 0 for a multi-process run (or $GANXAI_COORDINATOR_ADDRESS).")
flags.DEFINE_integer("num_processes", None, "Processes in a multi-process run (or $GANXAI_NUM_PROCESSES).")
flags.DEFINE_integer("process_id", None, "This process's index, 0..num_processes-1 (or $GANXAI_PROCESS_ID).")
flags.DEFINE_bool("distributed", False,
                  "Call jax.distributed.initialize() and let JAX find the hosts (TPU VM pods, SLURM).")

EXIT_BAD_INPUT = 2
_HELP_ARGS = ("--help", "-help", "-h", "-?", "--helpshort", "-helpshort")
# config_flags re-raises a config file's own TypeError/ValueError with this prefix and its traceback.
_CONFIG_FILE_RAISED = "Error whilst parsing config file"


class _QuietThirdParty(std_logging.Filter):
  """Drops INFO lines that orbax and friends log by the dozen per checkpoint."""

  def filter(self, record: std_logging.LogRecord) -> bool:
    noisy = any(part in record.pathname for part in ("/orbax/", "/grain/", "/tensorflow_datasets/",
                                                     "/etils/", "/jax/_src/"))
    return record.levelno >= std_logging.WARNING or not noisy


def _fail(message: str, verbose: bool = False) -> NoReturn:
  """Reports bad input in one line (after the traceback of the exception being handled, if `verbose`)."""
  if verbose and sys.exc_info()[0] is not None:
    traceback.print_exc()
  sys.stderr.write(f"error: {' '.join(str(message).split())}\n")
  sys.exit(EXIT_BAD_INPUT)


def _verbose_asked(argv: Sequence[str]) -> bool:
  # Read from argv: when parsing fails, FLAGS.verbose may not have been set yet.
  return any(a in ("--verbose", "-verbose", "--verbose=true", "--verbose=True", "--verbose=1") for a in argv)


def _root_cause(error: BaseException) -> BaseException:
  while error.__cause__ is not None or error.__context__ is not None:
    error = error.__cause__ or error.__context__
  return error


# ---- Config files --------------------------------------------------------------------------------

def _config_flags() -> dict[str, flags.Flag]:
  """The command's `config_flags.DEFINE_config_file` flags by name."""
  return {name: flags.FLAGS[name] for name in flags.FLAGS
          if isinstance(flags.FLAGS[name].parser, config_flags_lib.ConfigFileFlagParser)}


def _config_argument(name: str, argv: Sequence[str]) -> str | None:
  """The last value given to `--name` in `argv` (`--name=X` or `--name X`), or None."""
  found = None
  for i, arg in enumerate(argv[1:], 1):
    match = re.match(rf"^--?{re.escape(name)}(=(.*))?$", arg)
    if match and match.group(1):
      found = match.group(2)
    elif match and i + 1 < len(argv):
      found = argv[i + 1]
  return found


def _load_config(flag: flags.Flag, argument: str, config_files: Sequence[str]) -> ml_collections.ConfigDict:
  """The config that `--flag=argument` names, loaded as config_flags loads it, without overrides.

  Raises UsageError for a config file that is not there or cannot be read, and for a variant the file
  rejects; any other exception of the config file's own code propagates (a bug in the config file).
  """
  try:
    config = flag.parser.parse(argument)
  except (TypeError, ValueError) as e:  # config_flags wraps the config file's own error: raise that one.
    raise _root_cause(e) from None
  if not isinstance(config, ml_collections.ConfigDict):  # config_flags defers a load error to first use.
    path = argument.split(":", 1)[0]
    problem = "not found" if not os.path.exists(path) else (
        "is not a file" if not os.path.isfile(path) else "could not be read")
    known = f"; the configs are {', '.join(config_files)}" if config_files else ""
    raise UsageError(f"config file {path!r} {problem}{known}")
  return config


def _unknown_key(config: ml_collections.ConfigDict, key: str) -> str | None:
  """A one-line message if the dotted `key` is not in `config` (with the nearest key), else None."""
  node, done = config, []
  for part in key.split("."):
    if not isinstance(node, ml_collections.ConfigDict) or part not in node:
      keys = list(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
      close = difflib.get_close_matches(part, keys, n=1)
      if close:
        return f"unknown config key {key!r} (did you mean {'.'.join(done + close)!r}?)"
      return f"unknown config key {key!r}; --config=FILE --help lists the keys"
    node, done = node[part], done + [part]
  return None


def _config_problem(argv: Sequence[str], config_files: Sequence[str]) -> str | None:
  """What is wrong with the config flags of `argv`: a config file that does not load, a variant it
  rejects, an override of a key it lacks. None when nothing is."""
  for name, flag in _config_flags().items():
    argument = _config_argument(name, argv)
    if argument is None:
      continue
    try:
      config = _load_config(flag, argument, config_files)
    except UsageError as e:
      return str(e)
    for arg in argv[1:]:
      override = re.match(rf"^--?(?:no)?{re.escape(name)}\.([^=]+)", arg)
      message = override and _unknown_key(config, override.group(1))
      if message:
        return message
  return None


def _print_help(argv: Sequence[str], config_files: Sequence[str]) -> NoReturn:
  """Prints the command's doc and flags and, given `--config=FILE`, the config's keys; exits 0."""
  lines = [(sys.modules["__main__"].__doc__ or "").strip(), "", "flags:",
           flags.FLAGS.main_module_help().rstrip(), "", "flags of every command:",
           flags.FLAGS.module_help(__name__).rstrip()]
  for name, flag in _config_flags().items():
    argument = _config_argument(name, argv)
    lines.append("")
    if argument is None:
      files = ", ".join(config_files) if config_files else "a config file"
      lines.append(f"--{name}=FILE[:VARIANT,OPTIONS] takes {files}; --{name}=FILE --help lists the "
                   f"keys of FILE and their values, each one changed with --{name}.KEY=VALUE.")
      continue
    try:
      config = _load_config(flag, argument, config_files)
    except UsageError as e:
      _fail(str(e))
    lines.append(f"keys of --{name}={argument} and their values (change one with --{name}.KEY=VALUE):")
    lines += [f"  {key}={value!r}" for key, value in flatten_config(config)]
  sys.stdout.write("\n".join(lines) + "\n")
  sys.exit(0)


def _parse_flags(argv: list[str], config_files: Sequence[str]) -> list[str]:
  """absl's flag parsing, with help and one-line errors for bad flags and config files."""
  if any(arg in _HELP_ARGS for arg in argv[1:]):
    _print_help(argv, config_files)
  verbose = _verbose_asked(argv)
  try:
    remaining = flags.FLAGS(argv)
  except flags.Error as e:  # A bad flag value, an unknown flag, a missing required flag.
    root = _root_cause(e)
    if isinstance(root, UsageError):  # A config file rejected its variant.
      _fail(str(root), verbose)
    if _CONFIG_FILE_RAISED in str(e):  # Any other error of a config file's code is a bug in it.
      raise root from None
    _fail(str(e), verbose)
  except (AttributeError, KeyError, OSError):  # config_flags: an override of a missing key or file.
    message = _config_problem(argv, config_files)
    if message is None:
      raise
    _fail(message, verbose)
  # A config file that did not load is reported by config_flags only when the config is first read.
  if any(not isinstance(flag.value, (ml_collections.ConfigDict, type(None)))
         for flag in _config_flags().values()):
    _fail(_config_problem(argv, config_files) or "the config file did not load", verbose)
  return remaining


def initialize_distributed() -> None:
  """Joins a multi-process run when the flags or environment ask for one; a no-op otherwise."""
  env = os.environ
  address = flags.FLAGS.coordinator_address or env.get("GANXAI_COORDINATOR_ADDRESS")
  if address:
    num_processes = flags.FLAGS.num_processes or int(env.get("GANXAI_NUM_PROCESSES", "0"))
    process_id = flags.FLAGS.process_id if flags.FLAGS.process_id is not None else env.get("GANXAI_PROCESS_ID")
    if not num_processes or process_id is None:
      raise UsageError(f"coordinator_address={address!r} needs --num_processes and --process_id.")
    jax.distributed.initialize(coordinator_address=address, num_processes=num_processes,
                               process_id=int(process_id))
  elif flags.FLAGS.distributed:
    jax.distributed.initialize()


def run(main: Callable[[list[str]], None], check: Callable[[flags.FlagValues], None] | None = None) -> None:
  """Runs `main` under absl with the project's error, help and logging conventions (module docstring).

  `check(FLAGS)` runs after the flags are parsed and the process joined its run, before `main`: it
  raises `UsageError` for bad input, so that nothing is read or written before the input is known to
  be good. A `config_files` attribute of `check` (see `config_checks.for_command`) names the config
  files the command takes, for `--help` and for the error about a config file that is not there.
  """
  config_files = tuple(getattr(check, "config_files", ()))

  def _main(argv):
    verbose = flags.FLAGS.verbose
    if not verbose:
      for handler in std_logging.getLogger().handlers + std_logging.getLogger("absl").handlers:
        handler.addFilter(_QuietThirdParty())
      std_logging.getLogger("absl").addFilter(_QuietThirdParty())
    try:
      initialize_distributed()
      if check is not None:
        check(flags.FLAGS)
      main(argv)
    except guards.Preempted as e:
      sys.stderr.write(f"stopped: {e}\n")
      sys.exit(guards.EXIT_PREEMPTED)
    except guards.NonFiniteLoss as e:
      if verbose:
        traceback.print_exc()
      sys.stderr.write(f"error: {e}\n")
      sys.exit(guards.EXIT_NON_FINITE)
    except UsageError as e:
      _fail(str(e), verbose)
    # Anything else is a bug: absl lets it propagate, and Python prints its traceback and exits with 1.

  app.run(_main, flags_parser=lambda argv: _parse_flags(argv, config_files))
