"""Does the content survive a move along a direction? For conditional generators only.

A direction of a conditional generator should change how the content is drawn, not what is drawn. For
each direction the content error of the images is read at the seeds themselves and at both ends of the
naming traversal (±`naming_radius` latent units, the distance the names were measured at):

* ScrabbleGAN: the character error rate of each generated word against the text it was asked to write,
  read by the run's evaluation recognizer (`config.eval_recognizer_workdir` of the generator's run);
* the MNIST CGAN: whether the run's evaluation classifier reads another digit than the one asked.

`shifted_error - unshifted_error` is how much of the content the move destroys; a set's random
directions, moved by the same distance on the same seeds, are its baseline. Unconditional generators
(GAN, InfoGAN, whose digit is the direction's business) have no asked content and are not scored.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from ganxai_jax.data import pipeline
from ganxai_jax.data import text
from ganxai_jax.evaluation import classifier as classifier_lib
from ganxai_jax.evaluation import recognizer_eval
from ganxai_jax.evaluation import scrabble_eval
from ganxai_jax.explain import naming
from ganxai_jax.generators import words as word_generators
from ganxai_jax.generators.interface import Condition, TrainedGenerator
from ganxai_jax.run import workdir as workdir_lib

# judge(images [N, H, W, 1], condition of N) -> content error of each image in [0, 1] (CER may exceed 1).
Judge = Callable[[np.ndarray, Condition], np.ndarray]


def word_error_judge(generator: TrainedGenerator, recognizer_workdir: str) -> Judge:
  """Per-word CER of generated words against the text asked, read by the recognizer in `recognizer_workdir`."""
  alphabet = word_generators.alphabet_of(generator)
  model, variables = recognizer_eval.load_recognizer(recognizer_workdir, alphabet)

  def judge(images: np.ndarray, condition: Condition) -> np.ndarray:
    asked = word_generators.condition_texts(condition, generator)
    readings, _ = scrabble_eval.read_and_embed(model, variables, np.asarray(images), alphabet)
    return np.array([text.edit_distance(a, r) / max(len(a), 1) for a, r in zip(asked, readings)])

  return judge


def digit_error_judge(classifier_params: Any) -> Judge:
  """1 where the evaluation classifier reads another digit than the label asked, else 0."""

  def judge(images: np.ndarray, condition: Condition) -> np.ndarray:
    logits, _ = classifier_lib.predict(classifier_params, np.asarray(images))
    return (np.argmax(logits, axis=-1) != np.asarray(condition["labels"])).astype(np.float64)

  return judge


def content_judge(generator_workdir: str, generator: TrainedGenerator) -> tuple[Judge | None, str]:
  """The judge of the generator's content and what it reads, or (None, why there is none)."""
  run_config = workdir_lib.load_run_config(generator_workdir)
  if generator.kind == "words":
    recognizer = run_config.get("eval_recognizer_workdir") or ""
    if not recognizer:
      return None, "the run has no eval_recognizer_workdir to read its words"
    return (word_error_judge(generator, recognizer),
            f"CER of the asked words, read by the evaluation recognizer in {recognizer}")
  if run_config.get("model") == "cgan":
    # The classifier the run's own evaluation uses (cached beside the data; trained once if missing).
    builder = pipeline.prepare_builder(run_config.dataset, run_config.data_dir, run_config.manual_dir or None)
    train, test = (pipeline.load_arrays(builder.as_data_source(split)) for split in ("train", "test"))
    cache = os.path.join(run_config.data_dir or pipeline.default_data_dir(), "ganxai_classifiers",
                         run_config.dataset)
    params, _ = classifier_lib.load_or_train(cache, train, test, steps=run_config.classifier_steps)
    return digit_error_judge(params), "share of images the evaluation classifier reads as another digit than asked"
  return None, f"{generator.name} is not conditioned on its content"


def content_survival(generator: TrainedGenerator, directions: np.ndarray, scales: np.ndarray,
                     latents: np.ndarray, condition: Condition, radius: float, judge: Judge
                     ) -> dict[str, Any]:
  """The content error of every direction (columns of `directions`) at ±`radius` against the seeds'
  own: `unshifted_error` (one number, the same seeds for all), `shifted_error` and `error_increase`
  per direction, and their means."""
  shifts = np.array([-radius, 0.0, radius])
  unshifted = float(np.mean(judge(naming.generate_images(generator, jnp.asarray(latents, jnp.float32),
                                                          condition), condition)))
  shifted = []
  for k in range(directions.shape[1]):
    images = naming.traversal_images(generator, directions[:, k], float(scales[k]), latents, condition,
                                     shifts[[0, 2]])
    both_ends = naming.repeat_condition(condition, 2)
    # traversal_images orders [seed, shift]; repeat_condition repeats each row per shift, in that order.
    shifted.append(float(np.mean(judge(images.reshape(-1, *images.shape[2:]), both_ends))))
  shifted_array = np.asarray(shifted)
  return {"unshifted_error": unshifted, "shifted_error": shifted,
          "error_increase": (shifted_array - unshifted).tolist(),
          "mean_shifted_error": float(shifted_array.mean()),
          "mean_error_increase": float(shifted_array.mean() - unshifted), "radius": float(radius)}


def survival_table(described: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
  """set label -> {unshifted, mean shifted error, mean increase} of every set that was scored."""
  return {label: {"unshifted_error": result["content"]["unshifted_error"],
                  "mean_shifted_error": result["content"]["mean_shifted_error"],
                  "mean_error_increase": result["content"]["mean_error_increase"]}
          for label, result in described.items() if "content" in result}

