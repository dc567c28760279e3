"""What a results table is, as data: rows, each one run of a project command, and the numbers read from it.

A table (`configs/tables.py` holds them) lists `Row`s; a row names the config its run is trained or
explained with (`configs/mnist.py:gan`), its overrides, the row whose run it needs (an explanation needs
its generator), and the `Number`s to read from the run's result file (`eval.json`, `explain.json`),
each with the baselines to show beside it, a `Target` and the published value. `read_number` and
`read_tally` turn a run's result file into what the table shows; nothing here runs anything.

A run of several seeds (`config.num_seeds`) has a result of the shape `{"seeds", "per_seed": [scores...],
"median", "mean", "step"}`: its numbers are the medians, with each seed's value beside them.
"""
from __future__ import annotations

import collections
import dataclasses
from typing import Any, Mapping, Sequence

Scores = Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Target:
  """A range a number should reach: at least `low`, at most `high` (None: no bound)."""
  low: float | None = None
  high: float | None = None

  def met(self, value: float) -> bool:
    return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

  def describe(self) -> str:
    """'≥ 0.95', '≤ 60' or 'in [0.07, 0.13]'."""
    if self.low is not None and self.high is not None:
      return f"in [{self.low:g}, {self.high:g}]"
    return f"≥ {self.low:g}" if self.low is not None else f"≤ {self.high:g}"


@dataclasses.dataclass(frozen=True)
class Number:
  """One number of a row: `key` is its dotted path in the run's result file (`rca.random.rca`);
  `baselines` are `(label, dotted key)` pairs shown beside it; `optional` numbers are left out where the
  result file lacks them (rather than shown as missing)."""
  label: str
  key: str
  baselines: tuple[tuple[str, str], ...] = ()
  target: Target | None = None
  published: str = ""
  optional: bool = False


@dataclasses.dataclass(frozen=True)
class Tally:
  """A list of names in the result file (dotted `key`), shown as how often each name occurs."""
  label: str
  key: str


@dataclasses.dataclass(frozen=True)
class Row:
  """One run of the table. `config` is `FILE:VARIANT` as the command takes it; `command` is the
  project command that makes the run (`train` or `explain`); `overrides` are dotted config keys and
  their values, and `full_size` those that apply only without the `tiny` option (the run lengths a
  test-sized run does not take); `depends_on` names the row whose run this one reads (its folder becomes the config's
  input folder, e.g. `generator_workdir`)."""
  name: str
  config: str
  numbers: tuple[Number, ...]
  command: str = "train"
  overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  full_size: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  depends_on: str = ""
  tallies: tuple[Tally, ...] = ()


@dataclasses.dataclass(frozen=True)
class Table:
  """A results table: its name (`--table=NAME`, the README markers `<!-- NAME-table:begin -->`), a title
  and its rows, in the order they run (a row comes after the row it depends on)."""
  name: str
  title: str
  rows: tuple[Row, ...]

  def row(self, name: str) -> Row:
    return next(row for row in self.rows if row.name == name)


def lookup(scores: Scores | None, key: str) -> Any:
  """The value at the dotted `key` of `scores`, or None where any part is missing."""
  node: Any = scores
  for part in key.split("."):
    if not isinstance(node, Mapping) or part not in node:
      return None
    node = node[part]
  return node


def _number(value: Any) -> float | int | None:
  """A number of a result file as it is there (a count stays an int); None for anything else."""
  return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def read_number(number: Number, scores: Scores | None) -> dict[str, Any]:
  """What the table shows of `number` in a run's `scores`: its value (the median for several seeds,
  with `per_seed` beside it), its baselines, target, published value and whether the target is met
  (None when the value or the target is missing)."""
  several = isinstance(scores, Mapping) and "per_seed" in scores
  source = scores["median"] if several else scores
  value = _number(lookup(source, number.key))
  read = {"label": number.label, "key": number.key, "value": value,
          "baselines": {label: _number(lookup(source, key)) for label, key in number.baselines},
          "target": number.target.describe() if number.target else None,
          "published": number.published or None,
          "target_met": number.target.met(value) if number.target and value is not None else None}
  if several:
    read["per_seed"] = [_number(lookup(s, number.key)) for s in scores["per_seed"]]
    read["seeds"] = list(scores.get("seeds", []))
  return read


def read_tally(tally: Tally, scores: Scores | None) -> dict[str, int] | None:
  """How often each name of the list at `tally.key` occurs, most frequent first; None without it."""
  names = lookup(scores, tally.key)
  if not isinstance(names, Sequence) or isinstance(names, str):
    return None
  return dict(collections.Counter(map(str, names)).most_common())
