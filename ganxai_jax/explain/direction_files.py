"""The direction sets an explanation found, saved beside its `explain.json` for other tools to move along.

`WORKDIR/directions.npz` holds, for every set a directions, GANSpace or SeFa run measured (learned,
random, coordinate, ganspace, sefa), its unit directions `[latent_dim, K]` (columns), the latent length
of one edit unit per direction and the traversal radius of its figures (in edit units); the automatic
names are in `explain.json['names']`. A point moved by `t` edit units along direction `k` is
`z + t · scales[k] · directions[:, k]`, as the traversal figures draw it (`naming.traversal_images`).
The latent explorer (`experiments.serve --explain=DIR`) reads them with `load`.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Mapping, Sequence

import numpy as np

from ganxai_jax.errors import UsageError
from ganxai_jax.run import workdir as workdir_lib

FILE = "directions.npz"


@dataclasses.dataclass(frozen=True)
class SavedDirections:
  """One saved set: `directions [latent_dim, K]`, `scales [K]`, the figures' radius and the names."""
  label: str
  directions: np.ndarray
  scales: np.ndarray
  traversal_radius: float
  names: tuple[str, ...]

  def name(self, k: int) -> str:
    return self.names[k] if k < len(self.names) else f"d{k}"


def save(workdir: str, sets: Sequence[SavedDirections]) -> str:
  """Writes the sets to `workdir/directions.npz` (process 0, through a temporary file); returns its path."""
  arrays = {}
  for saved in sets:
    arrays[f"{saved.label}.directions"] = np.asarray(saved.directions, np.float32)
    arrays[f"{saved.label}.scales"] = np.asarray(saved.scales, np.float32)
    arrays[f"{saved.label}.traversal_radius"] = np.float32(saved.traversal_radius)
  path = os.path.join(workdir, FILE)
  tmp = f"{path}.tmp{os.getpid()}.npz"
  if workdir_lib.is_writer():
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
  return path


def load(explain_dir: str) -> list[SavedDirections]:
  """The sets an explanation in `explain_dir` saved, with their names from its `explain.json`; a
  one-line UsageError when the folder holds none (an attention or influence run, or an older run)."""
  path = os.path.join(explain_dir, FILE)
  explain_json = os.path.join(explain_dir, "explain.json")
  if not os.path.isfile(path) or not os.path.isfile(explain_json):
    raise UsageError(f"explain folder {explain_dir!r} holds no {FILE} with explain.json: pass the folder of an "
                     "experiments.explain run of method directions, ganspace or sefa.")
  names: Mapping[str, list[str]] = workdir_lib.read_json(explain_json).get("names", {})
  with np.load(path) as data:
    labels = sorted({key.rsplit(".", 1)[0] for key in data.files})
    return [SavedDirections(label=label, directions=data[f"{label}.directions"], scales=data[f"{label}.scales"],
                            traversal_radius=float(data[f"{label}.traversal_radius"]),
                            names=tuple(names.get(label, ())))
            for label in labels]
