"""How far each character of a word reaches in ScrabbleGAN's image: gradient influence of its patch.

ScrabbleGAN draws character i from its own patch of the character filter bank (columns 4i..4i+3 of
the 4 × 4n map), which the up-blocks grow into the image's columns [16·i, 16·(i+1)), its *slot*; the
characters meet only through the 3×3 convolutions that follow (and self-attention, when G has it).
The influence of character i on pixel p is the squared norm of the gradient of p with respect to that
patch, I[p, i] = Σ_{d ∈ patch i} (∂x_p/∂f_d)². Squared gradients, not gradient × input: the products of
a patch's 16·C entries have both signs and cancel within the patch, so a character's sum can be zero or
negative where it plainly matters, and shares of a total then mean nothing; squared gradients are
non-negative, add over the patch's entries, and are zero exactly where the character cannot reach, so
their support is the receptive field actually used. The price: they measure sensitivity around this z
and word (a linearisation), not the patch's whole effect.

From each character's column profile (influence summed over rows):
* `own_share` and `outside_share`: the shares of its total influence on its own slot and outside it
  (they sum to 1); `uniform_outside_share` is what influence spread evenly over the word would give;
* `width_px`: the narrowest run of columns holding `mass_fraction` (0.9) of it (at most 16: the
  character stays inside a slot's width);
* `reach_px`: how far beyond its slot its influence is non-zero at all (the convolutions of G alone
  reach 9 px: ±2 columns at 8 px height, upsampled to ±4, then five more 3×3 convolutions).
All are computed for the trained G and for a freshly initialised G of the same config (the baseline:
what the architecture alone spreads), on the same words and z, and averaged over characters and words.

`run(config, workdir, generator)` writes `figures/influence_<i>.png` (per word, one row per character:
its influence over the word image, trained beside fresh, columns labelled with the text) and
`figures/influence_profile.png` (the mean share of a character's influence at each column offset from
its slot), and returns the numbers.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ganxai_jax.errors import UsageError
from ganxai_jax.explain.attention import column_slots
from ganxai_jax.generators import words as word_generators
from ganxai_jax.generators.interface import TrainedGenerator
from ganxai_jax.models import scrabblegan
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.viz.influence import character_influence_figure, influence_profile_figure

VALUE_RANGE = (-1.0, 1.0)
MEASURE = "squared norm of d(pixel)/d(character's filter-bank patch), summed over the patch"


# ---- Gradients (JAX) -------------------------------------------------------------------------------

def _word_influence(render: Callable, variables: Any, z: jax.Array, chars: jax.Array, bank_offset: jax.Array,
                    pixels_per_call: int) -> tuple[jax.Array, jax.Array]:
  """The image `[H, W]` of one word (`z` `[1, Z]`, `chars` `[1, n]`) and its influence `[n, H, W]`: one
  backward pass per pixel from G's linearisation at a zero filter-bank offset, `pixels_per_call` of
  them vmapped at a time (memory grows with it)."""

  def image_of(offset):
    return render(variables, z, chars, offset)[0, ..., 0]

  image, pullback = jax.vjp(image_of, bank_offset)
  height, width = image.shape
  num_chars, num_pixels = chars.shape[1], height * width
  num_calls = -(-num_pixels // pixels_per_call)
  pixel_ids = jnp.arange(num_calls * pixels_per_call).reshape(num_calls, pixels_per_call)

  def per_character(ids):
    # One-hot cotangents; ids past the last pixel are all-zero rows, cut off below.
    cotangents = jax.nn.one_hot(ids, num_pixels, dtype=image.dtype).reshape(-1, height, width)
    (grads,) = jax.vmap(pullback)(cotangents)                      # [P, 1, 4, 4n, C]
    grads = grads.reshape(len(ids), grads.shape[2], num_chars, -1, grads.shape[-1])
    return jnp.sum(jnp.square(grads.astype(jnp.float32)), axis=(1, 3, 4))   # [P, n]

  influence = jax.lax.map(per_character, pixel_ids).reshape(-1, num_chars)[:num_pixels]
  return image, influence.T.reshape(num_chars, height, width)


@functools.lru_cache(maxsize=16)
def _jitted_word_influence(render: Callable) -> Callable:
  return jax.jit(functools.partial(_word_influence, render), static_argnames=("pixels_per_call",))


def character_influence(generator: TrainedGenerator, z: np.ndarray, chars: np.ndarray,
                        pixels_per_call: int) -> tuple[np.ndarray, np.ndarray]:
  """Images `[B, H, W]` of the words `chars` `[B, n]` written with `z` `[B, Z]`, and each character's
  influence on each pixel `[B, n, H, W]` (the module docstring's I[p, i])."""
  render = word_generators.filter_bank_render_fn(generator.module)
  shape = word_generators.filter_bank_shape(generator, chars[:1])
  if shape[2] % chars.shape[1]:
    raise ValueError(f"a filter bank of {shape[2]} columns does not hold {chars.shape[1]} characters")
  compute = _jitted_word_influence(render)
  images, influence = [], []
  for row in range(len(chars)):
    image, word_influence = compute(generator.variables, jnp.asarray(z[row:row + 1]),
                                    jnp.asarray(chars[row:row + 1]), jnp.zeros(shape, jnp.float32),
                                    pixels_per_call=pixels_per_call)
    images.append(np.asarray(image))
    influence.append(np.asarray(word_influence, np.float64))
  return np.stack(images), np.stack(influence)


# ---- Scores (numpy) --------------------------------------------------------------------------------

def narrowest_width(profile: np.ndarray, mass_fraction: float) -> np.ndarray:
  """Width in columns of the narrowest run of consecutive columns holding at least `mass_fraction` of a
  non-negative profile `[..., W]`'s total; NaN for an all-zero profile."""
  profile = np.asarray(profile, np.float64)
  cumulative = np.concatenate([np.zeros(profile.shape[:-1] + (1,)), np.cumsum(profile, -1)], -1)
  needed = mass_fraction * cumulative[..., -1] * (1 - 1e-12)  # Rounding must not lose the full width.
  widths = np.full(profile.shape[:-1], np.nan)
  for width in range(1, profile.shape[-1] + 1):
    best = (cumulative[..., width:] - cumulative[..., :-width]).max(-1)
    widths = np.where(np.isnan(widths) & (best >= needed) & (cumulative[..., -1] > 0), width, widths)
  return widths


def influence_spread(influence: np.ndarray, mass_fraction: float) -> dict[str, Any]:
  """How far characters reach, from influence `[B, n, H, W]` (n characters in n equal slots).

  Per character: `own_share` and `outside_share` of its total influence (summing to 1), `width_px`
  (`narrowest_width` at `mass_fraction`) and `reach_px` (the farthest column with non-zero influence,
  in px beyond its slot). Returns their means over characters and words, `outside_share_by_position`
  (the mean for each position in the word: the first and last characters have a neighbour on one side
  only), `max_reach_px`, and `num_characters` (characters without any influence, e.g. every pixel
  saturated, are left out and counted in `num_silent_characters`).
  """
  influence = np.asarray(influence, np.float64)
  _, num_chars, _, width = influence.shape
  slots = column_slots(width, num_chars)
  profile = influence.sum(2)                                                   # [B, n, W]
  total = profile.sum(-1)
  own_columns = slots[None, :] == np.arange(num_chars)[:, None]               # [n, W]
  with np.errstate(invalid="ignore", divide="ignore"):
    own = (profile * own_columns).sum(-1) / total
    outside = (profile * ~own_columns).sum(-1) / total
  slot_width = width // num_chars
  columns = np.arange(width)
  beyond = np.maximum(np.maximum(np.arange(num_chars)[:, None] * slot_width - columns[None, :],
                                 columns[None, :] - (np.arange(num_chars)[:, None] + 1) * slot_width + 1), 0)
  reach = np.where(profile > 0, beyond[None], 0).max(-1).astype(np.float64)   # [B, n]
  speaking = total > 0
  reach = np.where(speaking, reach, np.nan)
  widths = narrowest_width(profile, mass_fraction)

  def mean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if speaking.any() else float("nan")

  return {
      "own_share": mean(own), "outside_share": mean(outside), "width_px": mean(widths),
      "reach_px": mean(reach), "max_reach_px": float(np.nanmax(reach)) if speaking.any() else float("nan"),
      "outside_share_by_position": [mean(outside[:, i]) for i in range(num_chars)],
      "num_characters": int(speaking.sum()), "num_silent_characters": int((~speaking).sum()),
  }


def offset_profile(influence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """The mean share of a character's influence at each column offset from its slot's first column:
  `(offsets [2W - 1], shares)`, averaged over the characters whose word reaches that offset, so the
  shares of one character's offsets sum to 1 before averaging."""
  influence = np.asarray(influence, np.float64)
  _, num_chars, _, width = influence.shape
  slot_width = width // num_chars
  profile = influence.sum(2)
  total = profile.sum(-1, keepdims=True)
  shares = np.divide(profile, total, out=np.zeros_like(profile), where=total > 0)
  offsets = np.arange(-(width - 1), width)
  summed, counts = np.zeros(len(offsets)), np.zeros(len(offsets))
  for index in range(num_chars):
    at = np.arange(width) - index * slot_width + width - 1
    speaking = total[:, index, 0] > 0
    summed[at] += shares[speaking, index].sum(0)
    counts[at] += speaking.sum()
  return offsets, np.divide(summed, counts, out=np.full(len(offsets), np.nan), where=counts > 0)


# ---- The explanation ------------------------------------------------------------------------------

def run(config: ml_collections.ConfigDict, workdir: str, generator: TrainedGenerator) -> dict[str, Any]:
  """Measures how far each character reaches in the trained and in a freshly initialised G, writes the
  figures of the module docstring to `workdir/figures/` and returns the numbers."""
  cfg = config.influence
  if generator.kind != "words":
    raise UsageError(f"the influence method explains word generators (ScrabbleGAN); the run "
                     f"{config.generator_workdir!r} holds {generator.name}; pass a run of configs/scrabble.py.")
  length = int(cfg.word_length) or generator.word_length
  try:
    words_generator = generator.with_word_length(length)
  except ValueError as e:  # The run's lexicon has no word of that length in its alphabet.
    raise UsageError(f"config.influence.word_length={length}: {e}") from e
  z, condition = words_generator.sample(jax.random.key(config.seed), cfg.num_words)
  chars = np.asarray(condition["chars"])
  z = np.asarray(z)
  texts = word_generators.condition_texts(condition, generator)
  models = {"trained": words_generator,
            "fresh": word_generators.fresh(words_generator, config.seed + 1)}
  images, influence, scores = {}, {}, {}
  for name, model in models.items():
    images[name], influence[name] = character_influence(model, z, chars, cfg.pixels_per_call)
    scores[name] = influence_spread(influence[name], cfg.mass_fraction)
  image_width = images["trained"].shape[2]
  if image_width != scrabblegan.WIDTH_PER_CHAR * length:
    raise ValueError(f"{length}-character words came out {image_width} px wide, not "
                     f"{scrabblegan.WIDTH_PER_CHAR} px per character")

  labels = {"trained": f"trained (step {generator.step})", "fresh": "freshly initialised"}
  figures = {}
  for index in range(min(cfg.num_figure_words, len(texts))):
    figures[f"influence_{index}"] = character_influence_figure(
        {labels[n]: images[n][index] for n in models}, {labels[n]: influence[n][index] for n in models},
        texts[index], value_range=VALUE_RANGE,
        title=f"{texts[index]!r}: each character's influence on the pixels (squared gradients)")
  profiles = {}
  for name in models:
    offsets, profiles[labels[name]] = offset_profile(influence[name])
  figures["influence_profile"] = influence_profile_figure(
      offsets, profiles, scrabblegan.WIDTH_PER_CHAR,
      title=f"where a character's influence lands ({len(texts)} words of {length} characters)")
  names = workdir_lib.write_figures(workdir, figures)
  return {
      "generator": f"{generator.name} (step {generator.step})", "measure": MEASURE,
      "word_length": length, "words": texts, "slot_width_px": scrabblegan.WIDTH_PER_CHAR,
      "image_width_px": int(image_width), "mass_fraction": float(cfg.mass_fraction),
      "uniform_outside_share": 1.0 - 1.0 / length,
      "trained": scores["trained"], "fresh": scores["fresh"], "figures": sorted(names),
  }
