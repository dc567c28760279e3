"""Config files, one per family of runs; `get_config(arg)` of each takes the text after the `:` of
`--config=FILE:arg`, parsed by `parse_variant` below so that every file reads its argument alike."""
from __future__ import annotations

from typing import Sequence

from ganxai_jax.errors import UsageError


def parse_variant(arg: str | None, config_file: str, variants: Sequence[str], options: Sequence[str],
                  default: str | None = None) -> tuple[str | None, set[str]]:
  """Splits the comma-separated `arg` of `config_file` into its variant and its options.

  Parts may come in any order (`cgan,tiny`, `tiny,cgan`); at most one of them is one of `variants`
  (`default` when none is, so `tiny` alone is the default variant made tiny), the others are among
  `options`. An unknown part, or two variants, raise a one-line `UsageError` that lists what the file
  takes. Returns `(variant, options)`.
  """
  parts = [p.strip() for p in (arg or "").split(",") if p.strip()]
  chosen = [p for p in parts if p in variants]
  unknown = [p for p in parts if p not in variants and p not in options]
  takes = "; ".join(f"{kind}: {', '.join(names)}"
                    for kind, names in (("variants", variants), ("options", options)) if names)
  example = ",".join(([default] if default else []) + list(options[:1]))
  where = f"--config={config_file}:{arg}"
  if unknown:
    raise UsageError(f"{where}: unknown {'part' if len(unknown) == 1 else 'parts'} "
                     f"{', '.join(map(repr, unknown))}; {config_file} takes {takes} "
                     f"(comma-separated, e.g. {config_file}:{example}).")
  if len(chosen) > 1:
    raise UsageError(f"{where}: {' and '.join(map(repr, chosen))} are both variants; choose one of "
                     f"{', '.join(variants)}.")
  return (chosen[0] if chosen else default), {p for p in parts if p in options}
