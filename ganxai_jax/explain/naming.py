"""What a latent direction does, measured: automatic names and a ground-truth score.

For every direction d (with its edit scale s) and a few seeds z, the images G(z + t·s·d) along a grid
of shifts t are measured with `measure.measure_style`. Per attribute (width, height, slant, thickness,
intensity) the slope over t is fitted per seed; its mean over seeds times the largest |t|, divided by
the attribute's spread over random samples, is the direction's *effect* (how many population standard
deviations the attribute moves at the edge of the traversal), and the share of seeds whose slope has
the mean's sign is its *consistency*. A direction is named after the attribute with the largest
consistent effect ("slant +", "width -") or "unclear".

On the synthetic handwriting the true style factors are known: `calibrate` regresses each factor on
the measured attributes of rendered words (the real data's renderer), and `ground_truth_scores` applies
that regression to generated traversals; per factor the score is the best absolute correlation between
the shift t and the predicted factor that any one direction achieves.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from ganxai_jax.data import lexicon
from ganxai_jax.data import synthetic_handwriting as synth
from ganxai_jax.evaluation import disentanglement
from ganxai_jax.evaluation import measure
from ganxai_jax.generators.interface import Condition, TrainedGenerator

ATTRIBUTES = ("width", "height", "slant", "thickness", "intensity")
# Floors of the population spread: a generator whose samples barely vary in an attribute (a collapsed
# or untrained one) must not turn measurement noise into large effects.
MIN_SPREAD = {"width": 0.5, "height": 0.5, "slant": 0.5, "thickness": 0.05, "intensity": 0.005}
# Ignore this fraction of ink at each side for width and height: GAN samples have stray specks.
TRIM = 0.02


@functools.lru_cache(maxsize=8)
def _jitted_apply(generator: TrainedGenerator):
  return jax.jit(generator.apply_fn)


def generate_images(generator: TrainedGenerator, latent: jax.Array, condition: Condition) -> np.ndarray:
  """G's images under jit, with G's variables an argument: as closed-over constants XLA would fold
  them (spectral norms included) and compile for minutes."""
  return np.asarray(_jitted_apply(generator)(generator.variables, latent, condition))


def repeat_condition(condition: Condition, times: int) -> Condition:
  """Each row of the condition repeated `times` times in place (row i → rows i·times .. )."""
  return {key: jnp.repeat(jnp.asarray(value), times, axis=0) for key, value in condition.items()}


def traversal_images(generator: TrainedGenerator, direction: np.ndarray, scale: float,
                     latents: np.ndarray, condition: Condition, shifts: np.ndarray) -> np.ndarray:
  """Images `[S, T, H, W, 1]` of G(z_s + t·scale·direction) for the seeds' latents and shifts."""
  num_seeds, num_shifts = len(latents), len(shifts)
  moved = (np.asarray(latents)[:, None, :]
           + np.asarray(shifts)[None, :, None] * scale * np.asarray(direction)[None, None, :])
  images = generate_images(generator, jnp.asarray(moved.reshape(num_seeds * num_shifts, -1), jnp.float32),
                           repeat_condition(condition, num_shifts))
  return images.reshape(num_seeds, num_shifts, *images.shape[1:])


def measure_attributes(images: np.ndarray, ink_polarity: str) -> dict[str, np.ndarray]:
  """The named attributes of a batch of images `[..., H, W, 1]`, shaped like the batch dims."""
  batch_shape = images.shape[:-3]
  flat = images.reshape(-1, *images.shape[-3:])
  measured = measure.measure_style(flat, ink_polarity=ink_polarity, trim=TRIM)
  return {name: measured[name].reshape(batch_shape) for name in ATTRIBUTES}


def measure_traversals(generator: TrainedGenerator, directions: np.ndarray, scales: np.ndarray,
                       latents: np.ndarray, condition: Condition, shifts: np.ndarray
                       ) -> dict[str, np.ndarray]:
  """Attributes `[K, S, T]` of every direction's traversals (columns of `directions`)."""
  per_direction = [measure_attributes(traversal_images(generator, directions[:, k], float(scales[k]),
                                                       latents, condition, shifts),
                                      generator.ink_polarity)
                   for k in range(directions.shape[1])]
  return {name: np.stack([m[name] for m in per_direction]) for name in ATTRIBUTES}


def population_spread(generator: TrainedGenerator, rng: jax.Array, num_samples: int = 256
                      ) -> dict[str, float]:
  """Standard deviation of every attribute over random samples of the generator."""
  z_key, c_key = jax.random.split(rng)
  images = generate_images(generator, generator.sample_latent(z_key, num_samples),
                           generator.sample_condition(c_key, num_samples))
  measured = measure_attributes(images, generator.ink_polarity)
  return {name: float(np.std(values)) for name, values in measured.items()}


def slopes(values: np.ndarray, shifts: np.ndarray) -> np.ndarray:
  """Least-squares slope over the last axis (the shifts) of `values [..., T]`."""
  centred = np.asarray(shifts, np.float64) - np.mean(shifts)
  return (np.asarray(values, np.float64) - values.mean(-1, keepdims=True)) @ centred / np.sum(centred ** 2)


@dataclasses.dataclass(frozen=True)
class DirectionEffect:
  """What one direction does: per attribute its change per unit shift (mean over seeds), its effect
  in population standard deviations at the traversal's edge, its sign consistency, and the name."""
  slope: dict[str, float]
  effect: dict[str, float]
  consistency: dict[str, float]
  name: str

  def as_dict(self) -> dict[str, object]:
    return dataclasses.asdict(self)


def name_from_effects(effect: dict[str, float], consistency: dict[str, float], min_effect: float = 0.5,
                      min_consistency: float = 0.75) -> str:
  """'attribute +/-' for the attribute with the largest effect among the consistent ones, if that
  effect reaches `min_effect` standard deviations; otherwise 'unclear'."""
  candidates = [(abs(effect[a]), a) for a in effect if consistency[a] >= min_consistency]
  if not candidates:
    return "unclear"
  size, attribute = max(candidates)
  if size < min_effect:
    return "unclear"
  return f"{attribute} {'+' if effect[attribute] > 0 else '-'}"


def coverage(names: list[str]) -> dict[str, Any]:
  """How many different attributes a set of direction names covers: `distinct_attributes` (signs
  merged: 'slant +' and 'slant -' are one attribute), `attribute_counts` per attribute, `named` and
  `unclear` counts. Many directions with one name ('thickness -' twenty times) cover one attribute."""
  attributes = [name.rsplit(" ", 1)[0] for name in names if name != "unclear"]
  counts = {a: attributes.count(a) for a in ATTRIBUTES if a in attributes}
  return {"distinct_attributes": len(counts), "attribute_counts": counts, "named": len(attributes),
          "unclear": len(names) - len(attributes)}


def direction_effects(measured: dict[str, np.ndarray], shifts: np.ndarray, spread: dict[str, float],
                      min_effect: float = 0.5, min_consistency: float = 0.75) -> list[DirectionEffect]:
  """One `DirectionEffect` per direction from traversal measurements `[K, S, T]`."""
  reach = float(np.max(np.abs(shifts)))
  per_attribute = {name: slopes(values, shifts) for name, values in measured.items()}  # [K, S]
  num_directions = next(iter(per_attribute.values())).shape[0]
  results = []
  for k in range(num_directions):
    slope, effect, consistency = {}, {}, {}
    for name, seed_slopes in per_attribute.items():
      mean = float(np.mean(seed_slopes[k]))
      slope[name] = mean
      effect[name] = mean * reach / max(spread[name], MIN_SPREAD[name])
      consistency[name] = float(np.mean(np.sign(seed_slopes[k]) == np.sign(mean))) if mean != 0 else 0.0
    results.append(DirectionEffect(slope=slope, effect=effect, consistency=consistency,
                                   name=name_from_effects(effect, consistency, min_effect, min_consistency)))
  return results


# ---- Ground truth on the synthetic handwriting ---------------------------------------------------

def render_calibration_set(num_images: int, word_length: int, seed: int = 0
                           ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
  """Rendered words of `word_length` characters, one random writer each, as the synthetic data set
  draws them: images `[N, 32, 16·L, 1]` in [-1, 1] (white +1), their continuous style factors `[N, F]`
  and the factors' names (font, a category, is left out)."""
  names = tuple(n for n in synth.STYLE_FACTOR_NAMES if n != "font")
  columns = [synth.STYLE_FACTOR_NAMES.index(n) for n in names]
  rng = np.random.default_rng([seed, 0x63616c])  # 'cal'
  words = lexicon.load_lexicon(word_length, word_length)
  images, factors = [], []
  for index in range(num_images):
    style = synth.sample_writer_style(seed + 1_000_003, index)  # Writers unlike the data set's own.
    word = words[int(rng.integers(len(words)))]
    image = synth.render_word(word, style, rng)
    images.append(image.astype(np.float32) / 127.5 - 1.0)
    factors.append(style.as_vector()[columns])
  return np.stack(images)[..., None], np.stack(factors), names


@dataclasses.dataclass(frozen=True)
class Calibration:
  """A linear map from measured attributes to true style factors, fitted on rendered words."""
  factor_names: tuple[str, ...]
  mean: np.ndarray  # [A] attribute means
  std: np.ndarray  # [A] attribute stds
  coefficients: np.ndarray  # [A + 1, F] (intercept last)
  r2: np.ndarray  # [F] on the calibration set

  def read(self, images: np.ndarray, ink_polarity: str = "dark") -> np.ndarray:
    """Predicted factors `[N, F]` of images `[N, H, W, 1]`, from their measured attributes."""
    return self.predict(measure_attributes(images, ink_polarity))

  def predict(self, attributes: dict[str, np.ndarray]) -> np.ndarray:
    """Predicted factors `[..., F]` from attributes shaped `[...]` each."""
    x = np.stack([attributes[a] for a in ATTRIBUTES], -1)
    x = (x - self.mean) / self.std
    return np.concatenate([x, np.ones(x.shape[:-1] + (1,))], -1) @ self.coefficients


def calibrate(images: np.ndarray, factors: np.ndarray, factor_names: tuple[str, ...],
              ink_polarity: str = "dark") -> Calibration:
  """Least-squares regression of every factor on the standardised measured attributes."""
  measured = measure_attributes(images, ink_polarity)
  x = np.stack([measured[a] for a in ATTRIBUTES], -1).astype(np.float64)
  mean, std = x.mean(0), np.where(x.std(0) > 0, x.std(0), 1.0)
  design = np.concatenate([(x - mean) / std, np.ones((len(x), 1))], -1)
  coefficients, *_ = np.linalg.lstsq(design, factors, rcond=None)
  residual = factors - design @ coefficients
  r2 = 1.0 - residual.var(0) / np.where(factors.var(0) > 0, factors.var(0), 1.0)
  return Calibration(factor_names=factor_names, mean=mean, std=std, coefficients=coefficients, r2=r2)


def attribute_reader(ink_polarity: str) -> Callable[[np.ndarray], np.ndarray]:
  """`read(images [N, H, W, 1]) -> [N, A]`: the measured attributes themselves (`ATTRIBUTES` order) as
  the factors, for generators whose true factors are unknown (MNIST): the metrics then say whether each
  measured attribute moves with one direction only, not whether a true factor does."""
  def read(images: np.ndarray) -> np.ndarray:
    measured = measure_attributes(images, ink_polarity)
    return np.stack([measured[a] for a in ATTRIBUTES], -1)
  return read


def disentanglement_scores(generator: TrainedGenerator, directions: np.ndarray, scales: np.ndarray,
                           latents: np.ndarray, condition: Condition, radius: float,
                           read: Callable[[np.ndarray], np.ndarray], seed: int = 0) -> dict[str, float]:
  """MIG, SAP and DCI (`evaluation.disentanglement`) of a direction set: every sample moves along all K
  directions at once by codes c ~ U[-radius, radius]^K (in each direction's scale), and the code is
  compared with the factors `read(images)` gives (`[N, F]`: a learned reader, or the calibrated hand
  measurements, `Calibration.read`)."""
  rng = np.random.default_rng([seed, 0x64636931])  # 'dci1'
  codes = rng.uniform(-radius, radius, (len(latents), directions.shape[1]))
  shifted = np.asarray(latents) + (codes * np.asarray(scales)[None]) @ np.asarray(directions).T
  images = generate_images(generator, jnp.asarray(shifted, jnp.float32), condition)
  return disentanglement.all_metrics(codes, read(images))


def traversal_factors(generator: TrainedGenerator, directions: np.ndarray, scales: np.ndarray,
                      latents: np.ndarray, condition: Condition, shifts: np.ndarray,
                      read: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
  """Factors `[K, S, T, F]` that `read` (images `[N, H, W, 1]` → `[N, F]`) gives along every
  direction's traversals."""
  per_direction = []
  for k in range(directions.shape[1]):
    images = traversal_images(generator, directions[:, k], float(scales[k]), latents, condition, shifts)
    factors = read(images.reshape(-1, *images.shape[2:]))
    per_direction.append(factors.reshape(images.shape[0], images.shape[1], -1))
  return np.stack(per_direction)


def ground_truth_scores(measured: dict[str, np.ndarray], shifts: np.ndarray, calibration: Calibration
                        ) -> dict[str, dict[str, float]]:
  """Per true factor: the best |correlation| over directions between the shift t and the factor
  predicted from the traversal measurements `[K, S, T]`, and which direction reaches it."""
  return ground_truth_from_factors(calibration.predict(measured), shifts, calibration.factor_names,
                                   calibration.r2, "calibration_r2")


def ground_truth_from_factors(predicted: np.ndarray, shifts: np.ndarray, factor_names: tuple[str, ...],
                              r2: np.ndarray, r2_name: str) -> dict[str, dict[str, float]]:
  """`ground_truth_scores` from factors already read along the traversals, `[K, S, T, F]`; `r2` (how
  well the reader reads each factor) goes with each score under `r2_name`."""
  num_directions, num_seeds, num_shifts, _ = predicted.shape
  t = np.broadcast_to(np.asarray(shifts, np.float64), (num_seeds, num_shifts)).reshape(-1)
  t = (t - t.mean()) / t.std()
  scores = {}
  for f, name in enumerate(factor_names):
    correlations = []
    for k in range(num_directions):
      values = predicted[k, :, :, f].reshape(-1)
      spread = values.std()
      correlations.append(float(np.mean(t * (values - values.mean())) / spread) if spread > 0 else 0.0)
    best = int(np.argmax(np.abs(correlations)))
    scores[name] = {"best_abs_correlation": abs(correlations[best]), "direction": best,
                    "correlation": correlations[best],
                    r2_name: float(r2[f])}
  return scores
