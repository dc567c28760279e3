"""The PNGs of a run's `figures/` folder, with captions, for the report.

A caption comes from the file's name (`samples_000400.png`: samples at step 400; `sefa_direction03.png`:
direction 3 of the SeFa set) and, where the result file says more (the names the directions were given,
the words of an influence figure), from that. A training run draws its figures again every few steps
(`NAME_STEP.png` beside the final `NAME.png`): the final one is shown and the series folded under it, at
most `MAX_SERIES` of them spread evenly over the steps, so the page of a long run stays a few megabytes
(every file stays in figures/, and the fold says how many it leaves out).
"""
from __future__ import annotations

import os
import re
from typing import Any, Mapping, Sequence

from ganxai_jax.html_report import markup
from ganxai_jax.html_report.markup import Html

FIGURES_DIR = "figures"
MAX_SERIES = 12
_STEP = re.compile(r"^(?P<stem>.+)_(?P<step>\d{6,})$")
# What the figures that the commands draw show, by name (a regular expression of the name without .png).
CAPTIONS = (
    (r"samples", "Samples of the generator"),
    (r"style_content", "Style × content: each row one latent z, each column one digit asked for"),
    (r"aggregate", "Aggregate attention per image: the mean map of ink and of background queries per layer, "
                   "and the attention rollout over all layers (how much each location is drawn on)"),
    (r"queries_(?P<layer>.+)_(?P<index>\d+)", "Image {index}: each query's attention map in layer {layer} "
                                              "(○ queries on ink, □ on background)"),
    (r"influence_profile", "Where a character's influence lands: its mean share at each column offset from "
                           "its slot, trained G beside a fresh G"),
    (r"influence_(?P<index>\d+)", "Each character's influence on the pixels of word {index}{word}, trained G "
                                  "beside a fresh G"),
    (r"(?P<label>.+)_traversals", "Traversals of the {label} directions: one row per direction, "
                                  "G(z + t·d) from −t to +t"),
    (r"(?P<label>.+)_direction(?P<index>\d+)", "Direction {index} of the {label} set{named}: seeds (rows) moved "
                                               "along it"),
)


def figure_files(workdir: str) -> list[str]:
  """The PNG file names of `workdir/figures/`, sorted."""
  folder = os.path.join(workdir, FIGURES_DIR)
  if not os.path.isdir(folder):
    return []
  return sorted(name for name in os.listdir(folder) if name.endswith(".png") and not name.startswith("."))


def read_png(workdir: str, name: str) -> bytes:
  with open(os.path.join(workdir, FIGURES_DIR, name), "rb") as fh:
    return fh.read()


def caption(name: str, results: Mapping[str, Any]) -> str:
  """What the figure `name` shows: from `CAPTIONS` and the results, else its name in words."""
  stem = name[:-len(".png")] if name.endswith(".png") else name
  at_step = ""
  match = _STEP.match(stem)
  if match:
    stem, at_step = match.group("stem"), f", at step {int(match.group('step'))}"
  for pattern, text in CAPTIONS:
    found = re.fullmatch(pattern, stem)
    if found:
      fields = found.groupdict()
      index = int(fields["index"]) if "index" in fields else None
      words = results.get("words") or []
      names = (results.get("names") or {}).get(fields.get("label"), [])
      fields["word"] = f" ({words[index]!r})" if index is not None and index < len(words) else ""
      fields["named"] = (f", named {names[index]!r}" if index is not None and index < len(names)
                         and isinstance(names, list) else "")
      return text.format(**fields) + at_step
  return stem.replace("_", " ").capitalize() + at_step


def series_of(names: Sequence[str]) -> dict[str, list[str]]:
  """Figure names grouped by their stem: `samples` -> [samples.png, samples_000002.png, ...]; the final
  figure (no step) first, then by step."""
  groups: dict[str, list[str]] = {}
  for name in names:
    match = _STEP.match(name[:-len(".png")])
    groups.setdefault(match.group("stem") if match else name[:-len(".png")], []).append(name)
  return {stem: sorted(found, key=lambda n: (bool(_STEP.match(n[:-len(".png")])), n)) for stem, found in groups.items()}


def spread(items: Sequence[str], count: int) -> list[str]:
  """At most `count` of `items`, evenly spaced, the first and the last among them."""
  if len(items) <= count:
    return list(items)
  positions = sorted({round(i * (len(items) - 1) / (count - 1)) for i in range(count)})
  return [items[i] for i in positions]


def figures_body(workdir: str, names: Sequence[str], results: Mapping[str, Any]) -> Html:
  """Every figure of `names` with its caption; each step series folded under its final figure."""
  parts = []
  for stem, found in series_of(names).items():
    final = [n for n in found if not _STEP.match(n[:-len(".png")])]
    steps = [n for n in found if n not in final]
    if not final:  # A run stopped before its final figures: its latest step stands in for them.
      final, steps = steps[-1:], steps[:-1]
    for name in final:
      parts.append(markup.figure(read_png(workdir, name), caption(name, results), name))
    if steps:
      shown = spread(steps, MAX_SERIES)
      left_out = f"; {len(steps) - len(shown)} more in {FIGURES_DIR}/" if len(shown) < len(steps) else ""
      body = markup.join(markup.figure(read_png(workdir, n), caption(n, results), n) for n in shown)
      parts.append(markup.details(f"{stem.replace('_', ' ')} during training: {len(shown)} of {len(steps)} "
                                  f"steps{left_out}", body))
  return markup.join(parts)
