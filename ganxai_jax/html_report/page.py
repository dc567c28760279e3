"""`write_report(workdir)`: one self-contained HTML page of everything a run's folder holds.

The page, top to bottom (each part only where the folder has something for it):
  What was run       the commands (commands.jsonl), folder, kind, data set, steps, wall time (and where
                     it was read from), code version, and the whole config folded in a table (`folder.py`)
  Missing            the files a finished run would hold that this folder lacks, and what writes them
  Numbers            per result file (eval.json, explain.json, recognizer.json): the scores beside their
                     baselines, the known nested tables, then every other value (`numbers.py`)
  Named directions   each direction set of an explanation with its directions' names and strips
                     (`directions.py`)
  Training curves    metrics.jsonl, one plot per group of related keys (`curves.py`)
  Figures            every figures/*.png not shown above, with a caption (`figures.py`)
It reads only the folder, so it can be rebuilt at any time (`python -m experiments.report`), and costs a
fraction of a second for a small run: a few files read, a few curves drawn.
"""
from __future__ import annotations

import datetime
import os

from ganxai_jax.html_report import curves as curves_lib
from ganxai_jax.html_report import directions as directions_lib
from ganxai_jax.html_report import figures as figures_lib
from ganxai_jax.html_report import markup
from ganxai_jax.html_report import numbers
from ganxai_jax.html_report.folder import Folder, missing, run_body, utc
from ganxai_jax.run import workdir as workdir_lib

REPORT_FILE = "report.html"
# The files that make a folder a run's folder, for `experiments.report`'s check.
RUN_FILES = (workdir_lib.CONFIG_FILE, "eval.json", "explain.json")


def build(workdir: str) -> str:
  """The report page of `workdir` as one HTML string."""
  folder = Folder(workdir)
  name = os.path.basename(os.path.normpath(os.path.abspath(workdir)))
  sections = [("run", "What was run", run_body(folder))]
  lacking = missing(folder)
  if lacking:
    sections.append(("missing", "Missing", markup.tag("div", markup.join([
        markup.tag("p", "This folder lacks what a finished run holds:"),
        markup.tag("ul", markup.join(markup.tag("li", item) for item in lacking))]), class_="missing")))

  shown_figures: list[str] = []
  number_parts = []
  for file_name, results in folder.results.items():
    skip = ["figures", "names", "direction_sets"] if directions_lib.has_named_directions(results) else ["figures"]
    kind = folder.kind if file_name != "recognizer.json" else ""
    number_parts.append(markup.tag("h3", file_name))
    number_parts.append(numbers.numbers_body(kind, results, folder.config, skip))
  if number_parts:
    sections.append(("numbers", "Numbers", markup.join(number_parts)))

  if directions_lib.has_named_directions(folder.main):
    body, shown_figures = directions_lib.directions_body(workdir, folder.main, folder.figures)
    sections.append(("directions", "Named directions", body))

  plots, left_out = curves_lib.curve_plots(folder.metrics)
  if plots:
    body = markup.join(markup.figure(png, f"{title}: {', '.join(keys)} against the step", "metrics.jsonl")
                       for title, keys, png in plots)
    if left_out:
      body = markup.join([body, markup.tag("p", f"Not drawn (more than {curves_lib.MAX_PLOTS} plots): "
                                                f"{', '.join(left_out)}.", class_="note")])
    sections.append(("curves", "Training curves", body))

  rest = [n for n in folder.figures if n not in shown_figures]
  if rest:
    note = (markup.tag("p", "The traversal figures are under Named directions above.", class_="note")
            if shown_figures else "")
    sections.append(("figures", "Figures", markup.join([note, figures_lib.figures_body(workdir, rest, folder.main)])))

  nav = markup.tag("nav", markup.join(markup.tag("a", title, href=f"#{anchor}") for anchor, title, _ in sections))
  header = markup.tag("header", markup.join([
      markup.tag("h1", f"Run report: {name}"),
      markup.tag("p", f"{folder.describe()}. Written {utc(datetime.datetime.now().timestamp())} by "
                      f"ganxai_jax {workdir_lib.code_version()}; rebuild it with "
                      f"python -m experiments.report --workdir={workdir}", class_="subtitle"),
      nav]))
  body = markup.join([header] + [markup.section(anchor, title, content) for anchor, title, content in sections])
  return markup.page(f"{name} — ganxai_jax run report", body)


def write_report(workdir: str) -> str:
  """Writes `workdir/report.html` (process 0 only, through a temporary file) and returns its path."""
  path = os.path.join(workdir, REPORT_FILE)
  if workdir_lib.is_writer():
    workdir_lib.write_file(path, build(workdir))
  return path
