"""The project's exception for bad user input (reported by the CLIs in one line, exit code 2)."""


class UsageError(ValueError):
  """Bad input from the user: a missing folder or checkpoint, an unknown character, a bad value."""
