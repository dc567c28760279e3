"""The named directions of an explanation run (`directions`, `ganspace`, `sefa`), each with its strip.

explain.json's `direction_sets` holds, per set of directions, the name each direction was given
(`naming.direction_effects`: the attribute that changes most, consistently over seeds, or 'unclear'),
every attribute's effect (in population standard deviations at the naming radius) and its consistency,
and on a conditional generator how often the content is misread after the move. The figures of a set
are `LABEL_traversals.png` (one row per direction) and `LABEL_directionNN.png` (one direction over
several seeds): the report puts each set's overview above a table of its directions, each row with the
direction's name, its strongest effects and its own strip where one was drawn. Sets that were scored
but not drawn (random directions, the closed-form methods compared in a directions run) get the table
alone.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ganxai_jax.html_report import figures as figures_lib
from ganxai_jax.html_report import markup
from ganxai_jax.html_report.markup import Html

NUM_EFFECTS = 3  # Strongest effects listed per direction.


def has_named_directions(results: Mapping[str, Any]) -> bool:
  return isinstance(results.get("direction_sets"), Mapping) and bool(results["direction_sets"])


def strongest_effects(effect: Mapping[str, Any], consistency: Mapping[str, Any]) -> str:
  """'slant +0.48σ (consistent 0.67), ...' for the `NUM_EFFECTS` largest |effects|."""
  numbers = [(a, v) for a, v in effect.items() if isinstance(v, (int, float))]
  numbers.sort(key=lambda item: -abs(item[1]))
  parts = []
  for attribute, value in numbers[:NUM_EFFECTS]:
    agreed = consistency.get(attribute)
    parts.append(f"{attribute} {value:+.2f}σ" + (f" (consistent {agreed:.2f})" if isinstance(agreed, (int, float))
                                                  else ""))
  return ", ".join(parts)


def strip_name(label: str, index: int) -> str:
  """The file name of direction `index`'s own figure (directions_report.write_figures)."""
  return f"{label}_direction{index:02d}.png"


def overview_name(label: str) -> str:
  return f"{label}_traversals.png"


def directions_body(workdir: str, results: Mapping[str, Any], available: Sequence[str]
                    ) -> tuple[Html, list[str]]:
  """Every direction set with its overview, and a table of its directions with name, effects, content
  and strip; returns the markup and the figure files it showed."""
  parts, used = [], []
  for label, described in results["direction_sets"].items():
    if not isinstance(described, Mapping):
      continue
    names = list(described.get("names") or [])
    effects = list(described.get("effects") or [])
    content = described.get("content") if isinstance(described.get("content"), Mapping) else {}
    shifted = content.get("shifted_error") if isinstance(content.get("shifted_error"), list) else []
    overview = overview_name(label) if overview_name(label) in available else None
    drawn = overview is not None or any(strip_name(label, k) in available for k in range(len(names)))
    radius = described.get("naming_radius")
    intro = (f"{len(names)} directions, named by moving seeds by up to ±{markup.plain_number(radius)} along each"
             if radius is not None else f"{len(names)} directions")
    if not drawn:
      intro += "; scored, not drawn (a baseline or a method compared in this run)"
    parts.append(markup.tag("h3", label))
    parts.append(markup.tag("p", intro, class_="note"))
    if overview:
      parts.append(markup.figure(figures_lib.read_png(workdir, overview), figures_lib.caption(overview, results),
                                 overview))
      used.append(overview)
    rows = []
    for index, name in enumerate(names):
      effect = effects[index] if index < len(effects) and isinstance(effects[index], Mapping) else {}
      strip = strip_name(label, index)
      if strip in available:
        picture: Any = markup.image(figures_lib.read_png(workdir, strip), f"{label} direction {index}: {name}",
                                    class_="strip")
        used.append(strip)
      else:
        picture = f"row {index} of the overview above" if overview else "—"
      row = [index, markup.tag("strong", name),
             strongest_effects(effect.get("effect") or {}, effect.get("consistency") or {})]
      if shifted:
        row.append(shifted[index] if index < len(shifted) else None)
      rows.append(row + [picture])
    header = ["#", "name", "strongest effects (population σ at the naming radius)"]
    if shifted:
      header.append("content misread after the move")
    caption = ("Each direction's automatic name: the attribute that changes most and consistently over the "
               "seeds ('unclear' when none does)" + ("; the content column beside its unmoved level "
                                                       f"{markup.plain_number(content.get('unshifted_error'))}"
                                                       if shifted else "") + ".")
    parts.append(markup.table(header + ["traversal strip"], rows, caption,
                              row_classes=None, class_="directions"))
  return markup.join(parts), used
