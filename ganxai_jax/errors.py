"""The project's exceptions for bad user input, which the CLIs report in one line with exit code 2.

Anything else that escapes a command is a bug in the code and is reported with its traceback (exit 1).
"""


class UsageError(ValueError):
  """Bad input from the user: a missing folder or checkpoint, an unknown character, a bad value."""


class ConfigError(UsageError):
  """A config key or a flag holds a value outside its allowed range; the message names the key, the
  value and what is allowed, e.g. `config.num_train_steps=-5: must be an integer >= 1`."""
