"""A real writer's style as a latent: inverting a real word image to ScrabbleGAN's z (or a real digit to
the MNIST CGAN's noise z), and scoring it.

`invert` looks for the z with which G, asked for the word's transcription, draws the real image: Adam
on z from several random starts at once (one batch, one jitted step), minimising a pixel loss (L1 or
L2 on [-1, 1] images), a feature loss (the squared distance between the frame features of a
recognizer reading both images, relative to the real image's own feature energy) and a small prior
penalty on |z|²/d (z is N(0, I) in training, so this keeps the search where G learned to draw). The
start with the lowest final loss wins. G writes every word 16 px per character at height 32, so the
real image must already be in that format (`data.iam_words.load_word_image(path, len(word), ...)`).

Which recognizer gives the features: the caller passes one (`FeatureNet`). The generate command uses
the GAN's own R from the run's checkpoint: every ScrabbleGAN run has it (a run needs no separate
evaluation recognizer), it reads exactly the generator's alphabet, and it learned from real words
only, so its features describe real handwriting; the evaluation recognizer stays independent of the
inversion. Measured on the cpu run (6 real test words of 6 writers, 200 steps), the feature loss did
not help: pixels alone reconstructed best (mean absolute error 0.108 against 0.197 with feature
weight 1, and the factor reader's distance 0.59 against 0.88), weight 0.1 lay between. So the
feature weight defaults to 0 (R is then not run); it is an option for other data and generators.

`score` says how good the inversion is, beside random styles: the reconstruction's mean absolute
pixel error against random z's (same word), and the factor reader's (`explain/factor_reader`)
agreement between the real word and new words written in the inverted style, against the same words
in random styles. Everything here is pure: images and arrays in, arrays and numbers out.

Digits (`invert_digit`, `score_digit`): the same search through `invert_image`, the generic inversion
under any condition, with the CGAN asked for the digit the image shows; MNIST has no known style factors,
so the style is compared by measured attributes (slant, stroke thickness, width, height, ink intensity),
each read within its class, and the content by the evaluation classifier.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

from ganxai_jax.data import iam_words
from ganxai_jax.evaluation import measure
from ganxai_jax.explain.factor_reader import Reader
from ganxai_jax.generators import words as word_generators
from ganxai_jax.generators.interface import Condition, TrainedGenerator

PIXEL_LOSSES = ("l1", "l2")


@dataclasses.dataclass(frozen=True)
class FeatureNet:
  """A network whose features the inversion matches: `apply_fn(variables, images [B, 32, W, 1]) ->
  features [B, ...]`, pure and jit-friendly (the variables are an argument, not a constant)."""
  apply_fn: Callable[[Any, jax.Array], jax.Array]
  variables: Any
  name: str


@functools.lru_cache(maxsize=8)
def _recognizer_frames(model: nn.Module) -> Callable[[Any, jax.Array], jax.Array]:
  # One function per model, so the jitted inversion step of one run compiles once.
  return lambda variables, images: model.apply(variables, images, train=False, return_features=True)[1]


def recognizer_features(model: nn.Module, variables: Any, name: str = "recognizer") -> FeatureNet:
  """The frame features `[B, T, C]` of a `models.recognizer.Recognizer` (the input of its classifier,
  one vector per 4 columns) in inference mode."""
  return FeatureNet(_recognizer_frames(model), variables, name)


@dataclasses.dataclass(frozen=True)
class InversionSettings:
  """How `invert` searches: `restarts` random starts, `steps` Adam steps of `learning_rate` each; the
  loss is the pixel loss + `feature_weight` · feature loss + `prior_weight` · |z|²/d."""
  steps: int = 200
  restarts: int = 4
  learning_rate: float = 0.05
  pixel_loss: str = "l1"
  feature_weight: float = 0.0  # Measured: pixels alone did best (module docstring).
  prior_weight: float = 0.01
  seed: int = 0


@dataclasses.dataclass(frozen=True)
class Inversion:
  """The z found for one real word, G's image of the word with it, and how the search went."""
  z: np.ndarray  # [latent_dim], the best start's
  reconstruction: np.ndarray  # [32, 16n, 1] in [-1, 1]
  losses: np.ndarray  # [steps]: the best start's loss before each step
  restart_losses: np.ndarray  # [restarts]: each start's final loss
  pixel_error: float  # Mean absolute pixel difference of reconstruction and real image, on [-1, 1].


def pixel_error(images: np.ndarray, real: np.ndarray) -> np.ndarray:
  """Mean absolute difference `[N]` of images `[N, H, W, 1]` and one real image `[H, W, 1]`, in
  [-1, 1] units (0: equal; 2: black where white)."""
  return np.mean(np.abs(np.asarray(images, np.float32) - np.asarray(real, np.float32)[None]), axis=(1, 2, 3))


def _word_chars(generator: TrainedGenerator, word: str, n: int) -> np.ndarray:
  return word_generators.encode_words([word] * n, word_generators.alphabet_of(generator))


def check_real_image(image: np.ndarray, word: str) -> None:
  """A ValueError unless `image` is a word image of G's format for `word`: [32, 16·len(word), 1]."""
  expected = (iam_words.IMAGE_HEIGHT, iam_words.WIDTH_PER_CHAR * len(word), 1)
  if tuple(np.shape(image)) != expected:
    raise ValueError(f"the real image of {word!r} has shape {np.shape(image)}; G writes it as {expected} "
                     "(resize it with data.iam_words.load_word_image).")


@functools.lru_cache(maxsize=16)
def _inversion_step(apply_fn: Callable, feature_fn: Callable | None, learning_rate: float, pixel_loss: str,
                    bounded: bool = False):
  """The jitted step `(z, opt_state, g_vars, f_vars, condition, target, target_features, weights) ->
  (z, opt_state, loss [R], pixel [R])` for a batch of R starts (the condition repeated for each); one per
  generator, feature net and optimizer, so repeated inversions with one run compile once. `bounded`: z
  stays in [-1, 1] (a generator trained on uniform noise)."""
  tx = optax.adam(learning_rate)

  def losses(z, g_vars, f_vars, condition, target, target_features, weights):
    images = apply_fn(g_vars, z, condition)
    difference = images - target
    per_pixel = jnp.abs(difference) if pixel_loss == "l1" else jnp.square(difference)
    pixel = per_pixel.mean(axis=(1, 2, 3))
    total = pixel + weights["prior"] * jnp.mean(jnp.square(z), axis=1)
    if feature_fn is not None:
      features = feature_fn(f_vars, images)
      energy = jnp.mean(jnp.square(target_features)) + 1e-6
      feature = jnp.mean(jnp.square(features - target_features), axis=tuple(range(1, features.ndim))) / energy
      total = total + weights["feature"] * feature
    return total, jnp.mean(jnp.abs(difference), axis=(1, 2, 3))

  def step(z, opt_state, g_vars, f_vars, condition, target, target_features, weights):
    # The starts are independent: the gradient of their sum is each start's own gradient.
    def summed(z):
      total, absolute = losses(z, g_vars, f_vars, condition, target, target_features, weights)
      return total.sum(), (total, absolute)

    (_, (total, absolute)), grad = jax.value_and_grad(summed, has_aux=True)(z)
    updates, opt_state = tx.update(grad, opt_state, z)
    z = optax.apply_updates(z, updates)
    return (jnp.clip(z, -1.0, 1.0) if bounded else z), opt_state, total, absolute

  return tx, jax.jit(step)


def output_shape(generator: TrainedGenerator, condition: Condition) -> tuple[int, ...]:
  """The shape `(H, W, 1)` of the image G draws for `condition` (a batch of one), without drawing it."""
  z = jax.ShapeDtypeStruct((1, generator.latent_dim), jnp.float32)
  return tuple(jax.eval_shape(generator.apply_fn, generator.variables, z, condition).shape[1:])


def invert_image(generator: TrainedGenerator, image: np.ndarray, condition: Condition,
                 features: FeatureNet | None = None, settings: InversionSettings = InversionSettings(),
                 about: str = "the image") -> Inversion:
  """The z with which `generator`, given `condition` (a batch of one: the content the image shows), draws
  the real `image` (`[H, W, 1]` in [-1, 1], G's own format for that condition); see the module
  docstring. Without `features` (or at feature weight 0), pixels and prior only. `about` names the
  image in the log."""
  if settings.pixel_loss not in PIXEL_LOSSES:
    raise ValueError(f"pixel_loss={settings.pixel_loss!r}: must be one of {PIXEL_LOSSES}.")
  condition = {name: np.asarray(value)[:1] for name, value in condition.items()}
  expected = output_shape(generator, condition)
  if tuple(np.shape(image)) != expected:
    raise ValueError(f"{about} has shape {np.shape(image)}; G draws it as {expected}.")
  features = features if settings.feature_weight > 0 else None
  # A generator trained on U[-1, 1] noise: z stays in that box, where the prior is flat (no |z|² penalty).
  bounded = generator.noise == "uniform"
  tx, step = _inversion_step(generator.apply_fn, features.apply_fn if features else None,
                             float(settings.learning_rate), settings.pixel_loss, bounded)
  base = jax.random.key(settings.seed)
  z = jnp.concatenate([generator.sample_latent(jax.random.fold_in(base, start), 1)
                       for start in range(settings.restarts)])
  starts = {name: jnp.asarray(np.repeat(value, settings.restarts, axis=0)) for name, value in condition.items()}
  target = jnp.asarray(image, jnp.float32)[None]
  f_vars = features.variables if features else None
  target_features = features.apply_fn(f_vars, target) if features else jnp.zeros(())
  weights = {"prior": jnp.float32(0.0 if bounded else settings.prior_weight),
             "feature": jnp.float32(settings.feature_weight)}
  opt_state = tx.init(z)
  history = []
  for i in range(settings.steps):
    z, opt_state, total, absolute = step(z, opt_state, generator.variables, f_vars, starts, target,
                                         target_features, weights)
    history.append(total)
    if i % max(1, settings.steps // 5) == 0:
      logging.info("inverting %s, step %d/%d: loss %.4f, pixel error %.4f (best of %d starts)", about, i + 1,
                   settings.steps, float(jnp.min(total)), float(jnp.min(absolute)), settings.restarts)
  # The loss at the final z (the step reports the loss before its update).
  _, _, final, _ = step(z, opt_state, generator.variables, f_vars, starts, target, target_features, weights)
  final = np.asarray(final)
  best = int(np.argmin(final))
  z_best = np.asarray(z[best])
  reconstruction = generator.render(z_best[None], condition)[0]
  return Inversion(z=z_best, reconstruction=reconstruction,
                   losses=np.asarray(jnp.stack(history))[:, best] if history else np.zeros(0, np.float32),
                   restart_losses=final, pixel_error=float(pixel_error(reconstruction[None], image)[0]))


def invert(generator: TrainedGenerator, image: np.ndarray, word: str, features: FeatureNet | None = None,
           settings: InversionSettings = InversionSettings()) -> Inversion:
  """The z with which `generator` (a word generator) writes `word` as the real `image` ([32, 16·len(word),
  1] in [-1, 1], white +1) looks; see the module docstring. Without `features` (or at feature weight 0),
  pixels and prior only."""
  if generator.kind != "words":
    raise ValueError(f"inversion needs a word generator, not a {generator.kind} one ({generator.name}).")
  check_real_image(image, word)
  return invert_image(generator, image, {"chars": _word_chars(generator, word, 1)}, features, settings,
                      about=repr(word))


def digit_condition(generator: TrainedGenerator, labels: Sequence[int]) -> Condition:
  """The condition with which a class-conditional digit generator (the CGAN) draws `labels`; a ValueError
  for a generator without classes, one with style codes besides its noise (an InfoGAN code would be part
  of the style that the inversion leaves fixed), or a label outside its classes."""
  if generator.kind != "digits" or not generator.num_classes:
    raise ValueError(f"digit inversion needs a class-conditional digit generator (the CGAN), not "
                     f"{generator.name}: without the asked digit, z would have to carry the content too.")
  codes = sorted(set(generator.latent_layout) - {"noise", "labels"})
  if codes:
    raise ValueError(f"{generator.name} has the style codes {codes} besides its noise; the inversion searches "
                     "the noise z alone.")
  labels = np.asarray(labels, np.int32).reshape(-1)
  if labels.size and (labels.min() < 0 or labels.max() >= generator.num_classes):
    raise ValueError(f"labels {labels.tolist()}: the generator draws the classes 0-{generator.num_classes - 1}.")
  return {"labels": labels}


def invert_digit(generator: TrainedGenerator, image: np.ndarray, label: int,
                 settings: InversionSettings = InversionSettings()) -> Inversion:
  """The noise z with which a CGAN, asked for the digit `label`, draws the real `image` (`[H, W, 1]` in G's
  format: MNIST's, white ink (+1) on black (-1)); pixels and prior (no feature network)."""
  return invert_image(generator, image, digit_condition(generator, [label]), None, settings,
                      about=f"the digit {label}")


# ---- Scoring ------------------------------------------------------------------------------------------

def random_styles(generator: TrainedGenerator, seed: int, count: int) -> np.ndarray:
  """`count` random z `[count, latent_dim]` from the prior: the baseline styles (their own key stream)."""
  return np.asarray(generator.sample_latent(jax.random.fold_in(jax.random.key(seed), 0x72616e64), count))  # 'rand'


def write_in_styles(generator: TrainedGenerator, words: Sequence[str], z: np.ndarray) -> list[np.ndarray]:
  """Each word written in every style of `z [S, latent_dim]`: one array `[S, 32, 16·len(word), 1]` per word."""
  return [generator.render(z, {"chars": _word_chars(generator, word, len(z))}) for word in words]


def factor_distance(factors: np.ndarray, reference: np.ndarray, scale: np.ndarray) -> np.ndarray:
  """Mean absolute difference `[...]` of factor vectors `[..., F]` and `reference [F]`, each factor in
  units of `scale [F]` (the reader's training standard deviations): 0 when they agree."""
  return np.mean(np.abs((np.asarray(factors) - reference) / scale), axis=-1)


def score(generator: TrainedGenerator, image: np.ndarray, word: str, inversion: Inversion,
          new_words: Sequence[str], reader: Reader, num_random: int = 16, seed: int = 0) -> dict[str, Any]:
  """The inversion's scores, each beside `num_random` random styles (z from the prior):

  * `pixel_error`: the reconstruction's mean absolute pixel error against the real image, and
    `random_pixel_error` (mean over random z writing the same word) and `random_pixel_error_best` (the
    best of them). Lower is better.
  * `reader_distance`: the mean absolute difference of the factor reader's factors (in the reader's
    standard deviations) between the real word and each new word written in the inverted style,
    averaged over the new words; `random_reader_distance` the same for random styles (mean over
    styles), `share_of_random_styles_closer` the share of random styles that agree better. Lower is
    better; `reconstruction_reader_distance` is the reconstruction's (same word) distance.
  """
  random_z = random_styles(generator, seed, num_random)
  random_same_word = write_in_styles(generator, [word], random_z)[0]
  random_errors = pixel_error(random_same_word, image)

  real_factors = reader.predict(np.asarray(image, np.float32)[None])[0]
  inverted = write_in_styles(generator, new_words, inversion.z[None])
  inverted_factors = np.stack([reader.predict(images)[0] for images in inverted])  # [words, F]
  random_factors = np.stack([reader.predict(images) for images in write_in_styles(generator, new_words, random_z)],
                            axis=1)  # [styles, words, F]
  scale = np.asarray(reader.std)
  inverted_distance = float(np.mean(factor_distance(inverted_factors, real_factors, scale)))
  random_distances = np.mean(factor_distance(random_factors, real_factors, scale), axis=1)  # [styles]
  reconstruction_factors = reader.predict(inversion.reconstruction[None])[0]
  per_factor = {name: {"inverted": float(np.mean(np.abs(inverted_factors[:, i] - real_factors[i]) / scale[i])),
                       "random": float(np.mean(np.abs(random_factors[..., i] - real_factors[i]) / scale[i]))}
                for i, name in enumerate(reader.factor_names)}
  return {
      "word": word, "new_words": list(new_words), "num_random_styles": int(num_random),
      "pixel_error": inversion.pixel_error, "random_pixel_error": float(random_errors.mean()),
      "random_pixel_error_best": float(random_errors.min()),
      "reader_distance": inverted_distance, "random_reader_distance": float(random_distances.mean()),
      "share_of_random_styles_closer": float(np.mean(random_distances < inverted_distance)),
      "reconstruction_reader_distance": float(factor_distance(reconstruction_factors, real_factors, scale)),
      "reader_distance_per_factor": per_factor,
      "real_factors": dict(zip(reader.factor_names, map(float, real_factors))),
      "reader_r2": reader.r2_dict(),
  }


# The measured attributes (`evaluation.measure.measure_style`) that describe a digit's style. Each is read
# within its class (digits differ in width and skeleton by class alone): as standard scores against the
# random styles drawing the same digit.
DIGIT_STYLE_ATTRIBUTES = ("slant", "thickness", "width", "height", "intensity")


def digit_attributes(images: np.ndarray) -> np.ndarray:
  """`[N, A]`: the `DIGIT_STYLE_ATTRIBUTES` of MNIST-format images `[N, H, W, 1]` (white ink)."""
  measured = measure.measure_style(np.asarray(images, np.float32), ink_polarity="bright")
  return np.stack([np.asarray(measured[name], np.float64) for name in DIGIT_STYLE_ATTRIBUTES], axis=-1)


def _standard_scores(attributes: np.ndarray, reference: np.ndarray) -> np.ndarray:
  """`attributes [..., A]` as standard scores against the rows of `reference [S, A]` (a constant one: 0)."""
  mean, std = reference.mean(axis=0), reference.std(axis=0)
  return (attributes - mean) / np.where(std > 1e-6, std, 1.0)


def score_digit(generator: TrainedGenerator, image: np.ndarray, label: int, inversion: Inversion,
                new_labels: Sequence[int], judge: Callable[[np.ndarray, Condition], np.ndarray] | None = None,
                num_random: int = 64, seed: int = 0) -> dict[str, Any]:
  """The inversion of a real digit, scored beside `num_random` random styles (z from the prior) as `score`
  scores words, with the measured attributes in place of the factor reader (MNIST has no known style
  factors):

  * `pixel_error`, `random_pixel_error`, `random_pixel_error_best`: as for words, on the digit `label`.
  * `style_distance`: each attribute of a digit is read as its standard score among the random styles
    drawing the same class, so that a 1 is not "thin" for being a 1. The distance is the mean absolute
    difference of those scores between the real digit and each new digit written in the inverted style
    (over attributes and new digits); `random_style_distance` the same for the random styles (mean),
    `share_of_random_styles_closer` the share that agree better. Lower is better.
  * `content_error` (with a `judge`, e.g. `explain.content.digit_error_judge`): the share of the new digits
    in the inverted style that the judge reads as another digit than asked, and `random_content_error`
    the same for the random styles: the style must not change which digit is drawn.
  """
  random_z = random_styles(generator, seed, num_random)

  def draw(z: np.ndarray, digit: int) -> np.ndarray:
    return generator.render(z, digit_condition(generator, [digit] * len(z)))

  classes = sorted({int(label), *map(int, new_labels)})
  random_images = {digit: draw(random_z, digit) for digit in classes}  # [S, H, W, 1] each
  random_errors = pixel_error(random_images[label], image)
  reference = {digit: digit_attributes(images) for digit, images in random_images.items()}  # [S, A] each
  real = _standard_scores(digit_attributes(np.asarray(image)[None])[0], reference[label])
  inverted_images = [draw(inversion.z[None], digit)[0] for digit in new_labels]
  inverted = np.stack([_standard_scores(digit_attributes(image_[None])[0], reference[digit])
                       for image_, digit in zip(inverted_images, new_labels)])  # [W, A]
  random = np.stack([_standard_scores(reference[digit], reference[digit]) for digit in new_labels], axis=1)  # [S, W, A]
  inverted_distance = float(np.mean(np.abs(inverted - real)))
  random_distances = np.mean(np.abs(random - real), axis=(1, 2))  # [S]
  reconstruction = _standard_scores(digit_attributes(inversion.reconstruction[None])[0], reference[label])
  scores = {
      "digit": int(label), "new_digits": [int(d) for d in new_labels], "num_random_styles": int(num_random),
      "pixel_error": inversion.pixel_error, "random_pixel_error": float(random_errors.mean()),
      "random_pixel_error_best": float(random_errors.min()),
      "style_distance": inverted_distance, "random_style_distance": float(random_distances.mean()),
      "share_of_random_styles_closer": float(np.mean(random_distances < inverted_distance)),
      "reconstruction_style_distance": float(np.mean(np.abs(reconstruction - real))),
      "style_distance_per_attribute": {
          name: {"inverted": float(np.mean(np.abs(inverted[:, i] - real[i]))),
                 "random": float(np.mean(np.abs(random[..., i] - real[i])))}
          for i, name in enumerate(DIGIT_STYLE_ATTRIBUTES)},
      "real_attribute_scores": dict(zip(DIGIT_STYLE_ATTRIBUTES, map(float, real))),
  }
  if judge is not None and len(new_labels):
    asked = np.asarray(new_labels, np.int32)
    scores["content_error"] = float(np.mean(judge(np.stack(inverted_images), {"labels": asked})))
    scores["random_content_error"] = float(np.mean(judge(np.concatenate([random_images[d] for d in new_labels]),
                                                         {"labels": np.repeat(asked, len(random_z))})))
  return scores


# ---- Real writers on discovered directions ------------------------------------------------------------

def direction_coordinates(z: np.ndarray, directions: np.ndarray, scales: np.ndarray) -> np.ndarray:
  """Coordinates `[N, K]` of latents `z [N, d]` along unit directions `directions [d, K]` (an explanation's
  columns), in its edit units (`scales [K]`: the latent length of one unit): the projection of z on
  direction k is `t · scales[k] · directions[:, k]`. The origin is G's mean style (z = 0), and random
  styles spread about it with a standard deviation of `1 / scales[k]`."""
  return (np.asarray(z, np.float64) @ np.asarray(directions, np.float64)) / np.asarray(scales, np.float64)
