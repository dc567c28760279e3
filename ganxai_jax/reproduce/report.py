"""What a reproduced table says: `WORKDIR/results.json`, `WORKDIR/results.md`, and the README's rows.

`results(table, outcomes, ...)` reads every row's numbers from its run (`table.read_number`) into one
JSON-ready dict; `markdown(results)` writes it as a Markdown table between the table's two marker
comments, `<!-- NAME-table:begin -->` and `<!-- NAME-table:end -->`; `rewrite_readme` copies that block
into the same markers of a README. `summary(results)` is what the command says at the end.
"""
from __future__ import annotations

import datetime
import os
from typing import Any, Sequence

from ganxai_jax.errors import UsageError
from ganxai_jax.reproduce.runner import RowOutcome
from ganxai_jax.reproduce.table import Table, read_number, read_tally
from ganxai_jax.run import workdir as workdir_lib

RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
MISSING = "—"


def markers(table_name: str) -> tuple[str, str]:
  """The two comment lines that enclose a table's rows in results.md and in a README."""
  return f"<!-- {table_name}-table:begin -->", f"<!-- {table_name}-table:end -->"


def _row_met(numbers: Sequence[dict[str, Any]]) -> bool | None:
  """False when a target is missed, True when every target is met, None while one cannot be judged."""
  judged = [n["target_met"] for n in numbers if n["target"] is not None]
  if any(met is False for met in judged):
    return False
  return True if judged and all(met is True for met in judged) else None


def results(table: Table, outcomes: Sequence[RowOutcome], command: str, tiny: bool, device: str) -> dict[str, Any]:
  """Every row's numbers with their baselines, targets, published values and whether the targets are met,
  its status, steps done and planned, wall time and the standalone command that makes its run."""
  rows = []
  for outcome in outcomes:
    result = outcome.state.result
    numbers = [read_number(number, result) for number in outcome.row.numbers]
    numbers = [n for n, number in zip(numbers, outcome.row.numbers) if not (number.optional and n["value"] is None)]
    rows.append({
        "name": outcome.row.name, "status": outcome.status, "note": outcome.note, "config": outcome.row.config,
        "command": outcome.run.command_line(), "steps_done": outcome.state.steps_done,
        "steps_planned": outcome.state.steps_planned, "seeds": list((result or {}).get("seeds", [])),
        "wall_seconds": round(outcome.wall_seconds, 1), "numbers": numbers,
        "tallies": {tally.label: read_tally(tally, result) for tally in outcome.row.tallies},
        "target_met": _row_met(numbers)})
  return {"table": table.name, "title": table.title, "command": command, "tiny": tiny, "device": device,
          "written": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
          "done": [r["name"] for r in rows if r["status"] == "done"],
          "remaining": [r["name"] for r in rows if r["status"] != "done"], "rows": rows}


# ---- Markdown --------------------------------------------------------------------------------------

def format_value(value: float | int | None) -> str:
  """A number as the table shows it: counts whole, FIDs to one decimal, accuracies and shares to three."""
  if value is None:
    return MISSING
  if isinstance(value, int):
    return f"{value:,}"
  return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def format_wall(seconds: float) -> str:
  """'42 s', '12 min 05 s', '3 h 07 min'."""
  seconds = int(round(seconds))
  if seconds < 60:
    return f"{seconds} s"
  if seconds < 3600:
    return f"{seconds // 60} min {seconds % 60:02d} s"
  return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _result_cell(row: dict[str, Any]) -> str:
  if all(number["value"] is None for number in row["numbers"]) and not any(row["tallies"].values()):
    return MISSING
  parts = []
  for number in row["numbers"]:
    beside = [f"{label} {format_value(value)}" for label, value in number["baselines"].items()]
    if "per_seed" in number:
      seeds = ", ".join(map(str, number["seeds"]))
      beside.insert(0, f"median; seeds {seeds}: {' / '.join(map(format_value, number['per_seed']))}")
    parts.append(f"{number['label']} {format_value(number['value'])}" + (f" ({', '.join(beside)})" if beside else ""))
  for label, counts in row["tallies"].items():
    if counts:
      parts.append(f"{label}: " + ", ".join(f"{count} × `{name}`" for name, count in counts.items()))
  return "; ".join(parts)


def _steps_cell(row: dict[str, Any]) -> str:
  planned = f"{row['steps_planned']:,}" if row["steps_planned"] is not None else MISSING
  cell = f"{row['steps_done']:,} / {planned}"
  if row["seeds"]:
    cell += f" (each of {len(row['seeds'])} seeds)"
  if row["status"] != "done":
    cell += f", **{row['status']}**" + (f": {row['note']}" if row["note"] else "")
  return cell


def _met_cell(met: bool | None) -> str:
  return MISSING if met is None else ("yes" if met else "no")


def table_rows(results_: dict[str, Any]) -> list[str]:
  """The Markdown table of `results_`: one line per row, after the header."""
  lines = ["| row | result (baseline) | target | published | target met | steps done / planned | wall time | command |",
           "|---|---|---|---|---|---|---|---|"]
  for row in results_["rows"]:
    targets = "; ".join(f"{n['label']} {n['target']}" for n in row["numbers"] if n["target"]) or MISSING
    published = "; ".join(f"{n['label']} {n['published']}" for n in row["numbers"] if n["published"]) or MISSING
    cells = [row["name"], _result_cell(row), targets, published, _met_cell(row["target_met"]), _steps_cell(row),
             format_wall(row["wall_seconds"]), f"`{row['command']}`"]
    lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
  return lines


def markdown(results_: dict[str, Any]) -> str:
  """results.md: how it was made, the marked table, and what remains."""
  begin, end = markers(results_["table"])
  made = (f"Made by `{results_['command']}` (last run {results_['written']}, on {results_['device']}); "
          "running the same command again continues what is not done.")
  lines = [f"# {results_['title']} results", "", made, "", begin, *table_rows(results_), end, "", summary(results_)]
  return "\n".join(lines) + "\n"


def summary(results_: dict[str, Any]) -> str:
  """What is done and what remains, in one paragraph."""
  rows = {row["name"]: row for row in results_["rows"]}
  done = ", ".join(results_["done"]) or "none"
  remaining = []
  for name in results_["remaining"]:
    row = rows[name]
    planned = f"{row['steps_planned']:,}" if row["steps_planned"] is not None else MISSING
    where = f" at step {row['steps_done']:,} of {planned}" if row["status"] == "incomplete" else ""
    remaining.append(f"{name} ({row['status']}{where}" + (f", {row['note']}" if row["note"] else "") + ")")
  text = f"{len(results_['done'])} of {len(rows)} rows done: {done}."
  if remaining:
    text += f" Remaining: {'; '.join(remaining)}. Run the same command again to continue."
  return text


def write(workdir: str, results_: dict[str, Any]) -> None:
  """Writes `WORKDIR/results.json` and `WORKDIR/results.md` (atomically)."""
  workdir_lib.write_json(os.path.join(workdir, RESULTS_JSON), results_)
  workdir_lib.write_file(os.path.join(workdir, RESULTS_MD), markdown(results_))


# ---- The README ------------------------------------------------------------------------------------

def _marked_span(text: str, table_name: str, where: str) -> tuple[int, int]:
  """The start and end offsets of the lines between the table's markers in `text`."""
  begin, end = markers(table_name)
  start, stop = text.find(begin), text.find(end)
  if start < 0 or stop < start:
    raise UsageError(f"{where} holds no {begin!r} line followed by an {end!r} line; put the two around the "
                     f"rows of the {table_name} table.")
  return start + len(begin), stop


def check_readme(path: str, table_name: str) -> None:
  """Raises `UsageError` unless `path` is a file with the table's two markers, in order."""
  if not os.path.isfile(path):
    raise UsageError(f"--readme={path!r} is not a file; give the README whose {table_name} rows to rewrite.")
  with open(path, encoding="utf-8") as fh:
    _marked_span(fh.read(), table_name, f"--readme={path!r}")


def rewrite_readme(path: str, results_md: str, table_name: str) -> None:
  """Replaces the lines between the table's markers in the README at `path` by those of `results_md`."""
  with open(results_md, encoding="utf-8") as fh:
    source = fh.read()
  start, stop = _marked_span(source, table_name, results_md)
  with open(path, encoding="utf-8") as fh:
    readme = fh.read()
  begin, end = _marked_span(readme, table_name, path)
  workdir_lib.write_file(path, readme[:begin] + source[start:stop] + readme[end:])
