"""One generator call at a time, and only the newest waiting request of each client.

A slider sends a request per pixel it moves; a render takes tens of milliseconds. Rendering every one in
order would leave the image ever further behind the slider. `Coalescer.submit(client, arg)` runs
`fn(arg)` when no call is running; a request that waits is dropped (`Superseded`) as soon as a newer one
of the same client arrives, so a burst of moves costs one call for the move in progress and one for the
last.
"""
from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Hashable


class Superseded(Exception):
  """A newer request of the same client arrived while this one waited; it was not run."""


class Coalescer:
  """Runs `fn` for one request at a time; see the module docstring."""

  def __init__(self, fn: Callable[[Any], Any]):
    self._fn = fn
    self._condition = threading.Condition()
    self._busy = False
    self._waiting: dict[Hashable, int] = {}  # client -> ticket of its newest waiting request
    self._tickets = itertools.count()
    self.calls = 0
    self.superseded = 0

  def submit(self, client: Hashable, arg: Any) -> Any:
    """`fn(arg)`, once every call before it has finished; `Superseded` if a newer request of `client`
    arrives first."""
    with self._condition:
      ticket = next(self._tickets)
      self._waiting[client] = ticket
      self._condition.notify_all()  # An older waiting request of this client learns it is superseded.
      while True:
        if self._waiting.get(client) != ticket:
          self.superseded += 1
          raise Superseded()
        if not self._busy:
          self._busy = True
          del self._waiting[client]
          break
        self._condition.wait()
    try:
      self.calls += 1
      return self._fn(arg)
    finally:
      with self._condition:
        self._busy = False
        self._condition.notify_all()
