"""The latent explorer's model, apart from HTTP: what a request asks for, checked, and its image.

A request names a style seed, the content (a text for a word generator, a class for a CGAN; a plain GAN
has none) and shifts along saved directions (`explain.direction_files`): `{"seed": 3, "text": "hello",
"shifts": [{"set": "sefa", "index": 0, "t": 2.5}]}`. Its latent is
`z_seed + Σ t · scales[k] · directions[:, k]`, the traversal figures' own move, rendered as one batch of
one through the generator's compiled call (one program per image shape, cached by JAX). Everything a
user can type is checked first: a bad request raises `BadRequest` with a message for the page, never an
exception the server does not expect.
"""
from __future__ import annotations

import dataclasses
import math
import threading
from typing import Any, Mapping, Sequence

import jax
import numpy as np

from ganxai_jax import generation
from ganxai_jax.errors import UsageError
from ganxai_jax.explain import attention as attention_lib
from ganxai_jax.explain import attention_report
from ganxai_jax.explain.direction_files import SavedDirections
from ganxai_jax.generators import words as word_generators
from ganxai_jax.generators.interface import Condition, TrainedGenerator

# Shifts beyond this many traversal radii (or, without a radius, edit units) are refused: they leave the
# region any figure or name was measured in, and large ones only produce saturated noise.
MAX_RADII = 10.0
MAX_SEED = 2**31 - 1
DEFAULT_TEXT_LENGTH = 32


class BadRequest(ValueError):
  """A request the explorer refuses; its message is shown on the page."""


@dataclasses.dataclass(frozen=True)
class Request:
  """A checked request: seed, content, shifts as (set label, direction index, t)."""
  seed: int
  text: str = ""
  label: int | None = None
  shifts: tuple[tuple[str, int, float], ...] = ()


@dataclasses.dataclass(frozen=True)
class Rendered:
  """One image (uint8 `[H, W]`) and the latent record that reproduces it (`generation.latent_record`)."""
  image: np.ndarray
  record: dict[str, Any]


def _integer(value: Any, name: str, low: int, high: int) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, float, str)):
    raise BadRequest(f"{name} must be a whole number from {low} to {high}, got {value!r}.")
  try:
    number = float(value)
  except ValueError:
    raise BadRequest(f"{name} must be a whole number from {low} to {high}, got {value!r}.") from None
  if not math.isfinite(number) or number != int(number) or not low <= number <= high:
    raise BadRequest(f"{name} must be a whole number from {low} to {high}, got {value!r}.")
  return int(number)


class Explorer:
  """A trained generator and the direction sets of its explanations, answering render requests."""

  def __init__(self, generator: TrainedGenerator, direction_sets: Sequence[SavedDirections] = (),
               workdir: str = "", max_text_length: int = DEFAULT_TEXT_LENGTH):
    self.generator = generator
    self.sets = {s.label: s for s in direction_sets}
    self.workdir = workdir
    self.max_text_length = max_text_length
    for saved in direction_sets:
      if saved.directions.shape[0] != generator.latent_dim:
        raise UsageError(f"the {saved.label} directions are {saved.directions.shape[0]}-dimensional; the "
                         f"generator of {workdir!r} has a {generator.latent_dim}-dimensional latent: the "
                         "explanation was made for another generator.")
    self._lock = threading.Lock()  # One generator call at a time; JAX's caches are shared.
    self._query_grids: dict[Any, dict[str, tuple[int, int]]] = {}

  # ---- What the page needs to draw its controls ---------------------------------------------------

  def info(self) -> dict[str, Any]:
    """The generator and direction sets, as the page's controls show them."""
    g = self.generator
    info: dict[str, Any] = {
        "workdir": self.workdir, "generator": g.name, "kind": g.kind, "step": int(g.step),
        "latent_dim": int(g.latent_dim), "num_classes": int(g.num_classes),
        "has_attention": bool(g.attention_gammas()), "max_shift_radii": MAX_RADII,
        "direction_sets": [{"label": s.label, "traversal_radius": s.traversal_radius,
                            "max_shift": self.max_shift(s),
                            "directions": [s.name(k) for k in range(s.directions.shape[1])]}
                           for s in self.sets.values()]}
    if g.kind == "words":
      alphabet = word_generators.alphabet_of(g)
      info.update(alphabet=alphabet.symbols, max_text_length=self.max_text_length,
                  default_text=word_generators.writable_words(g, ["Shalom"], count=1)[0])
    return info

  def max_shift(self, saved: SavedDirections) -> float:
    return MAX_RADII * (saved.traversal_radius or 1.0)

  # ---- Checking ----------------------------------------------------------------------------------

  def parse(self, payload: Any) -> Request:
    """The checked `Request` of a JSON payload; `BadRequest` naming the bad value and what is allowed."""
    if not isinstance(payload, Mapping):
      raise BadRequest("the request must be a JSON object with seed, text or label, and shifts.")
    seed = _integer(payload.get("seed", 0), "seed", 0, MAX_SEED)
    text, label = "", None
    if self.generator.kind == "words":
      text = payload.get("text", "")
      if not isinstance(text, str):
        raise BadRequest(f"text must be a string, got {text!r}.")
      text = " ".join(text.split())
      if not text:
        raise BadRequest("the text is empty: type a word to write.")
      if len(text) > self.max_text_length:
        raise BadRequest(f"the text has {len(text)} characters; the explorer writes at most "
                         f"{self.max_text_length}.")
      try:
        word_generators.check_text(text, alphabet=word_generators.alphabet_of(self.generator))
      except UsageError as e:
        raise BadRequest(str(e)) from None
    elif self.generator.num_classes:
      label = _integer(payload.get("label", 0), "label", 0, self.generator.num_classes - 1)
    shifts = payload.get("shifts", [])
    if not isinstance(shifts, list):
      raise BadRequest(f"shifts must be a list of {{set, index, t}}, got {shifts!r}.")
    return Request(seed=seed, text=text, label=label, shifts=tuple(self._shift(s) for s in shifts))

  def _shift(self, shift: Any) -> tuple[str, int, float]:
    if not isinstance(shift, Mapping):
      raise BadRequest(f"a shift must be an object {{set, index, t}}, got {shift!r}.")
    label = shift.get("set")
    if label not in self.sets:
      known = ", ".join(self.sets) or "none: start the explorer with --explain=DIR"
      raise BadRequest(f"unknown direction set {label!r}; the sets are {known}.")
    saved = self.sets[label]
    count = saved.directions.shape[1]
    index = _integer(shift.get("index"), f"the {label} direction index", 0, count - 1)
    t = shift.get("t", 0.0)
    limit = self.max_shift(saved)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or abs(t) > limit:
      raise BadRequest(f"shift t={t!r} along {label} {saved.name(index)!r} is outside [-{limit:g}, {limit:g}] "
                       f"({MAX_RADII:g} times the traversal radius).")
    return label, index, float(t)

  # ---- Rendering ---------------------------------------------------------------------------------

  def inputs(self, request: Request) -> tuple[np.ndarray, Condition]:
    """The moved latent `[1, latent_dim]` (float32) and the condition (batch of one) of a request."""
    g = self.generator
    if g.kind == "words":
      z = word_generators.style_latents(request.seed, 1, g.latent_dim)  # As experiments.generate draws styles.
      condition = {"chars": word_generators.encode_words([request.text], word_generators.alphabet_of(g))}
    else:
      z, condition = g.sample(jax.random.key(request.seed), 1)
      if request.label is not None:
        condition = {**condition, "labels": np.full((1,), request.label, np.int32)}
    moved = np.asarray(z, np.float64).reshape(1, -1)
    for label, index, t in request.shifts:
      saved = self.sets[label]
      moved = moved + t * float(saved.scales[index]) * np.asarray(saved.directions[:, index], np.float64)
    return moved.astype(np.float32), {k: np.asarray(v) for k, v in condition.items()}

  def render(self, request: Request) -> Rendered:
    """The image of `request` and the latent record that reproduces it."""
    z, condition = self.inputs(request)
    about = {"seed": request.seed,
             "shifts": [{"set": s, "index": k, "name": self.sets[s].name(k), "t": t} for s, k, t in request.shifts]}
    if request.text:
      about["text"] = request.text
    if request.label is not None:
      about["label"] = request.label
    record = generation.latent_record(self.generator, z[0], condition, **about)
    with self._lock:
      image = generation.render_record(self.generator, record)
    return Rendered(image, record)

  def attention(self, request: Request, row: int, col: int) -> dict[str, Any]:
    """The attention map of the query under pixel (row, col), per self-attention layer, upsampled to
    the image `[H, W]` and scaled to [0, 1] for an overlay; `BadRequest` when G has no attention."""
    if not self.generator.attention_gammas():
      raise BadRequest(f"this {self.generator.name} generator has no self-attention layer.")
    z, condition = self.inputs(request)
    with self._lock:
      images, maps = self.generator.render_with_maps(z, condition)
    image_hw = images.shape[1:3]
    if not (0 <= row < image_hw[0] and 0 <= col < image_hw[1]):
      raise BadRequest(f"pixel ({row}, {col}) is outside the {image_hw[0]} × {image_hw[1]} image.")
    shapes = tuple(sorted((k, np.shape(v)) for k, v in condition.items()))
    if shapes not in self._query_grids:  # A word's grids depend on its length: traced once per shape.
      self._query_grids[shapes] = attention_report.attention_query_grids(self.generator, z, condition)
    grids = self._query_grids[shapes]
    layers = {}
    for name, layer_maps in maps.items():
      query_hw, pool_kv = attention_report.layer_geometry(layer_maps, image_hw, grids.get(name))
      heat = attention_lib.query_maps(layer_maps[0], np.array([[row, col]]), image_hw, query_hw, pool_kv)[0]
      layers[name] = {"heat": heat / max(float(heat.max()), 1e-12), "query_grid": list(query_hw),
                      "uniform_level": 1.0 / layer_maps.shape[-1]}
    return {"image_hw": list(image_hw), "layers": layers}
