"""The report page's building blocks: escaped text, tables, folded parts, embedded images, one page.

Every string that comes from a run (config values, words, names, file names) goes through `text()`,
which escapes it, so a word like `<b>` is shown as written, never read as markup. What the builders
return is `Html`, markup already safe to place; a plain `str` given to a builder is escaped, so
forgetting to escape cannot happen by passing a string along. Images are embedded as data: URIs and the
CSS is inline: the page reaches nothing outside its own file, so it reads the same offline, mailed, or
printed (`@media print` unfolds and unclutters it).
"""
from __future__ import annotations

import base64
import html
import math
from typing import Any, Iterable, Sequence


class Html(str):
  """Markup that is safe to place as it is (built here, with every piece of run text escaped)."""


def text(value: Any) -> Html:
  """`value` as escaped text (quotes too, so it may also stand in an attribute)."""
  return value if isinstance(value, Html) else Html(html.escape(str(value), quote=True))


def join(parts: Iterable[Any], separator: str = "") -> Html:
  """The parts (markup kept, text escaped) one after another."""
  return Html(separator.join(text(part) for part in parts))


def tag(name: str, body: Any = "", **attributes: Any) -> Html:
  """`<name attributes>body</name>`; an attribute `class_` is written `class`, None leaves it out."""
  written = "".join(f' {key.rstrip("_")}="{text(value)}"' for key, value in attributes.items()
                    if value is not None)
  return Html(f"<{name}{written}>{text(body)}</{name}>")


def is_scalar(value: Any) -> bool:
  """A number, a string, a bool or None: one cell of a table."""
  return value is None or isinstance(value, (bool, int, float, str))


def plain_number(value: Any) -> str:
  """A scalar as a table shows it, unescaped: floats to 4 significant digits, None as a dash."""
  if value is None:
    return "—"
  if isinstance(value, bool):
    return "yes" if value else "no"
  if isinstance(value, float):
    if math.isnan(value):
      return "NaN"
    if value.is_integer() and abs(value) < 1e15:
      return str(int(value))
    return f"{value:.4g}"
  return str(value)


def number(value: Any) -> Html:
  """`plain_number(value)`, escaped."""
  return value if isinstance(value, Html) else text(plain_number(value))


def cell(value: Any) -> Html:
  """Any JSON value as one table cell: scalars by `number`, a list of scalars joined by commas, a flat
  mapping as `key: value` pairs, anything deeper as compact JSON text."""
  if isinstance(value, Html) or is_scalar(value):
    return value if isinstance(value, Html) else number(value)
  if isinstance(value, (list, tuple)) and all(is_scalar(v) for v in value):
    return join((number(v) for v in value), ", ") if value else Html("[]")
  if isinstance(value, dict) and all(is_scalar(v) for v in value.values()):
    return join((Html(f"{text(k)}: {number(v)}") for k, v in value.items()), ", ") if value else Html("{}")
  return tag("code", compact(value))


def compact(value: Any) -> str:
  """Short text for a nested value no table fits: dicts and lists in JSON-like form, floats shortened."""
  if isinstance(value, dict):
    return "{" + ", ".join(f"{k}: {compact(v)}" for k, v in value.items()) + "}"
  if isinstance(value, (list, tuple)):
    return "[" + ", ".join(compact(v) for v in value) + "]"
  return plain_number(value) if not isinstance(value, str) else repr(value)


def table(header: Sequence[Any] | None, rows: Sequence[Sequence[Any]], caption: Any = "",
          row_classes: Sequence[str | None] | None = None, class_: str | None = None) -> Html:
  """A table (each cell by `cell`) under its caption, a line saying what it holds (escaped unless
  `Html`); no header row when `header` is None."""
  head = tag("thead", tag("tr", join(tag("th", h) for h in header))) if header is not None else ""
  body = []
  for index, row in enumerate(rows):
    row_class = row_classes[index] if row_classes else None
    body.append(tag("tr", join(tag("td", cell(c)) for c in row), class_=row_class))
  return tag("div", join([tag("p", caption, class_="caption") if caption else "",
                          tag("table", join([head, tag("tbody", join(body))]), class_=class_)]),
             class_="table")


def details(summary: Any, body: Any, open_: bool = False) -> Html:
  """A folded part: `summary` always shown, `body` on a click (and always when printed)."""
  return tag("details", join([tag("summary", summary), body]), open="" if open_ else None)


def png_uri(data: bytes) -> str:
  return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def image(data: bytes, alt: str, class_: str | None = None) -> Html:
  """A PNG embedded in the page."""
  return Html(f'<img src="{png_uri(data)}" alt="{text(alt)}"' + (f' class="{text(class_)}"' if class_ else "")
              + ">")


def figure(data: bytes, caption: Any, name: str = "") -> Html:
  """A PNG with its caption under it (and its file name, so a reader can find the file)."""
  under = join([caption, tag("span", f" ({name})", class_="file") if name else ""])
  return tag("figure", join([image(data, name or str(caption)), tag("figcaption", under)]))


def section(anchor: str, title: Any, body: Any) -> Html:
  return tag("section", join([tag("h2", title), body]), id=anchor)


CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 1rem 2rem 3rem; color: #1b1f24; background: #fff; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { border-bottom: 2px solid #d0d7de; padding-bottom: .2rem;
margin-top: 2.2rem; } h3 { margin-top: 1.6rem; }
.subtitle { color: #57606a; margin-top: 0; }
nav { font-size: .95rem; margin: .6rem 0 1rem; } nav a { margin-right: 1rem; }
table { border-collapse: collapse; margin: .4rem 0 1.2rem; font-size: .92rem; }
div.table { margin: .8rem 0 1.3rem; overflow-x: auto; } div.table table { margin: 0; }
p.caption { color: #3d444d; margin: 0 0 .3rem; max-width: 75rem; font-size: .92rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .55rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td { font-variant-numeric: tabular-nums; }
tr.baseline td { color: #57606a; background: #fbfbfc; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .88em; }
pre { background: #f6f8fa; padding: .5rem .7rem; white-space: pre-wrap; word-break: break-all; }
figure { margin: .8rem 0 1.4rem; } figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #3d444d; font-size: .92rem; margin-top: .2rem; } .file { color: #8c959f; }
img.strip { max-width: 560px; width: 100%; height: auto; }
details { margin: .4rem 0 1rem; } summary { cursor: pointer; color: #0a3069; }
.missing { border-left: 4px solid #bf8700; background: #fff8c5; padding: .5rem .9rem; }
.note { color: #57606a; font-size: .92rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav, summary::marker { display: none; }
  h2 { break-after: avoid; } figure, tr, img { break-inside: avoid; } div.table { overflow: visible; }
  a { color: inherit; text-decoration: none; }
}
"""

# Folded parts open for printing, so that paper holds everything the screen can unfold.
PRINT_SCRIPT = ("window.addEventListener('beforeprint', function () { "
                "document.querySelectorAll('details').forEach(function (d) { d.open = true; }); });")


def page(title: str, body: Any) -> str:
  """The whole document: inline CSS and script, nothing fetched from anywhere."""
  return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          f"<title>{text(title)}</title>\n<style>{CSS}</style>\n<script>{PRINT_SCRIPT}</script>\n"
          f"</head>\n<body>\n{text(body)}\n</body>\n</html>\n")
