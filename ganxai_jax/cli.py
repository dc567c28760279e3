"""What every command-line entry point shares: one-line errors with exit code 2, and quiet libraries.

`run(main)` replaces `absl.app.run(main)`. A bad flag, config key or value, or a `UsageError` raised by
the library (bad input: a missing folder, an unknown character, a workdir with no checkpoint) prints
`error: <message>` on one line and exits with code 2, with no traceback unless `--verbose`.
"""
from __future__ import annotations

import logging as std_logging
import os
import sys
from typing import Callable

import jax
from absl import app, flags

from ganxai_jax.errors import UsageError
from ganxai_jax.training import guards

flags.DEFINE_bool("verbose", False, "Show tracebacks of errors and the logs of third-party libraries.")
flags.DEFINE_string("coordinator_address", None,
                    "host:port of process 0 for a multi-process run (or $GANXAI_COORDINATOR_ADDRESS).")
flags.DEFINE_integer("num_processes", None, "Processes in a multi-process run (or $GANXAI_NUM_PROCESSES).")
flags.DEFINE_integer("process_id", None, "This process's index, 0..num_processes-1 (or $GANXAI_PROCESS_ID).")
flags.DEFINE_bool("distributed", False,
                  "Call jax.distributed.initialize() and let JAX find the hosts (TPU VM pods, SLURM).")

EXIT_BAD_INPUT = 2


# Errors that mean "the input is wrong", not "the program is wrong".
_INPUT_ERRORS = (UsageError, FileNotFoundError, NotADirectoryError, ValueError, KeyError, TypeError)


class _QuietThirdParty(std_logging.Filter):
  """Drops INFO lines that orbax and friends log by the dozen per checkpoint."""

  def filter(self, record: std_logging.LogRecord) -> bool:
    noisy = any(part in record.pathname for part in ("/orbax/", "/grain/", "/tensorflow_datasets/",
                                                     "/etils/", "/jax/_src/"))
    return record.levelno >= std_logging.WARNING or not noisy


def _fail(message: str) -> None:
  if "Traceback (most recent call last)" in message:  # A config file's own error: keep its last line.
    message = message.strip().splitlines()[-1]
  sys.stderr.write(f"error: {' '.join(str(message).split())}\n")
  sys.exit(EXIT_BAD_INPUT)


def _parse_flags(argv: list[str]) -> list[str]:
  try:
    return flags.FLAGS(argv)
  except (AttributeError, KeyError) as e:  # config_flags: an override of a key the config lacks.
    _fail(f"unknown config key {str(e).strip(chr(34))} in {' '.join(a for a in argv[1:] if a.startswith('--config'))}")
  except (flags.Error, TypeError, ValueError) as e:
    _fail(str(e))
  return argv


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


def run(main: Callable[[list[str]], None]) -> None:
  """Runs `main` under absl with the project's error and logging conventions."""

  def _main(argv):
    if not flags.FLAGS.verbose:
      for handler in std_logging.getLogger().handlers + std_logging.getLogger("absl").handlers:
        handler.addFilter(_QuietThirdParty())
      std_logging.getLogger("absl").addFilter(_QuietThirdParty())
    try:
      initialize_distributed()
      main(argv)
    except guards.Preempted as e:
      sys.stderr.write(f"stopped: {e}\n")
      sys.exit(guards.EXIT_PREEMPTED)
    except guards.NonFiniteLoss as e:
      if flags.FLAGS.verbose:
        raise
      sys.stderr.write(f"error: {e}\n")
      sys.exit(guards.EXIT_NON_FINITE)
    except _INPUT_ERRORS as e:
      if flags.FLAGS.verbose:
        raise
      _fail(str(e) if not isinstance(e, KeyError) else f"unknown key {e}")

  app.run(_main, flags_parser=_parse_flags)
