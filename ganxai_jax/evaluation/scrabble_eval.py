"""Scores of a ScrabbleGAN generator, read by a recognizer trained apart on real training words.

Protocol (fixed, so numbers compare across runs of the same data set and evaluation recognizer):

* Words: `eval_num_words` words of the test split (a seeded random subset), each written once by G
  with its own z (seeded) at its own width 32 × 16n, with no padding.
* CER / WER: the evaluation recognizer (`config.eval_recognizer_workdir`, trained by
  `experiments/train_recognizer.py` on real training words, never on generated ones) reads every
  generated word by greedy CTC decoding; CER is the total edit distance over the total characters,
  WER the share of words not read exactly. The same recognizer's CER/WER on the real test words is
  given beside it as the reference.
* FID: Fréchet distance between generated and real test words in the evaluation recognizer's feature
  space: ReLU of its last batch norm (the input of its classifier), averaged over each word's frames
  (T = W/4 + 1), on whole words at height 32. `fid_real_vs_real` is the same distance between as many
  real training words (same lengths) and the real test words: the floor for this sample size
  (`fid_real_vs_real_num_words` training words; a small data set may lack training words of some
  test lengths, and with fewer than two the floor is None).
* Split: `split_rule` says how the data set's train and test splits were made (for IAM, the standard
  partition lists when present, else a writer-disjoint hash split).
* Capitals: `cer_capitalised` and `wer_capitalised` are the same rates over the generated words whose
  first letter is a capital (`num_capitalised_words` of them; None when there are none).
* Style diversity: `eval_style_words` words each written in `eval_num_styles` styles; the mean
  pairwise distance between styles of the same word, in the same feature space
  (`style_diversity_features`) and as the root-mean-square pixel difference in [-1, 1]
  (`style_diversity_pixels`).
* Examples: `NUM_EXAMPLES` of the generated words, spread over the word lengths, each as the text G was
  asked to write and the text the evaluation recognizer read from its image (`examples`).
"""
from __future__ import annotations

import functools
import itertools
import json
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ganxai_jax.data import handwriting
from ganxai_jax.data import text
from ganxai_jax.data import words_pipeline
from ganxai_jax.evaluation import recognizer_eval
from ganxai_jax.evaluation.fid import frechet_distance
from ganxai_jax.generators import words as word_generators
from ganxai_jax.generators.interface import TrainedGenerator

_CHUNK = 64  # Images per forward pass.
NUM_EXAMPLES = 8  # Generated words in eval.json's `examples`: {'asked': text, 'read': transcription}.


@functools.partial(jax.jit, static_argnums=0)
def _read(model: nn.Module, variables: Any, images: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Per-frame argmax ids and mean frame features of unpadded words of one width."""
  logits, frame_features = model.apply(variables, images, train=False, return_features=True)
  return jnp.argmax(logits, axis=-1), frame_features.mean(axis=1)


def read_and_embed(model: nn.Module, variables: Any, images: np.ndarray, alphabet: text.Alphabet = text.IAM
                   ) -> tuple[list[str], np.ndarray]:
  """Greedy transcriptions (in `alphabet`, the recognizer's) and pooled features of same-width word
  images [N, 32, 16n, 1] in [-1, 1]."""
  readings, features = [], []
  for start in range(0, len(images), _CHUNK):
    frame_ids, pooled = _read(model, variables, jnp.asarray(images[start:start + _CHUNK]))
    readings += [alphabet.ctc_greedy_decode(row) for row in np.asarray(frame_ids)]
    features.append(np.asarray(pooled))
  return readings, np.concatenate(features)


def _pick_words(source: Sequence[dict[str, Any]], count: int, rng: np.random.Generator
                ) -> dict[int, tuple[np.ndarray, list[str]]]:
  """`count` random examples of `source`, grouped by length: {length: (images in [-1, 1], texts)}."""
  picked = rng.choice(len(source), size=min(count, len(source)), replace=False)
  groups: dict[int, tuple[list[np.ndarray], list[str]]] = {}
  for index in sorted(int(i) for i in picked):
    example = source[index]
    word = handwriting.example_text(example)
    image = np.asarray(example["image"])
    if image.shape[1] != words_pipeline.WIDTH_PER_CHAR * len(word):
      continue  # Not in the 16-px-per-character format; never the case for the two data sets.
    images, texts = groups.setdefault(len(word), ([], []))
    images.append(words_pipeline.scale_image(image))
    texts.append(word)
  return {n: (np.stack(images), texts) for n, (images, texts) in sorted(groups.items())}


def spread_examples(asked: Sequence[str], read: Sequence[str], count: int = NUM_EXAMPLES
                    ) -> list[dict[str, str]]:
  """`count` (asked, read) pairs at evenly spaced positions of the lists (sorted by length, so the
  examples cover short and long words alike)."""
  positions = sorted({int(i) for i in np.round(np.linspace(0, len(asked) - 1, min(count, len(asked))))})
  return [{"asked": asked[i], "read": read[i]} for i in positions]


def capitalised_rates(references: Sequence[str], readings: Sequence[str]) -> dict[str, Any]:
  """CER and WER of the words whose first letter is a capital (None when there are none), and their number."""
  pairs = [(r, h) for r, h in zip(references, readings) if r[:1].isupper()]
  if not pairs:
    return {"cer_capitalised": None, "wer_capitalised": None, "num_capitalised_words": 0}
  rates = text.character_and_word_error_rates([r for r, _ in pairs], [h for _, h in pairs])
  return {"cer_capitalised": rates["cer"], "wer_capitalised": rates["wer"], "num_capitalised_words": len(pairs)}


def mean_pairwise_distance(vectors: np.ndarray) -> float:
  """Mean Euclidean distance over all pairs of rows."""
  pairs = list(itertools.combinations(range(len(vectors)), 2))
  return float(np.mean([np.linalg.norm(vectors[i] - vectors[j]) for i, j in pairs]))


def evaluate_generator(generator: TrainedGenerator, recognizer: nn.Module, r_variables: Any,
                       test_source: Sequence[dict[str, Any]], train_source: Sequence[dict[str, Any]],
                       num_words: int, num_styles: int, style_words: Sequence[str], seed: int = 0
                       ) -> dict[str, Any]:
  """CER, WER, FID (with its real-vs-real floor) and style diversity (see the module docstring)."""
  alphabet = word_generators.alphabet_of(generator)
  read = functools.partial(read_and_embed, recognizer, r_variables, alphabet=alphabet)
  rng = np.random.default_rng([seed, 0x6576616C])  # 'eval'
  test_groups = _pick_words(test_source, num_words, rng)
  z_key = jax.random.key(seed)
  references, fake_readings, real_readings = [], [], []
  fake_features, real_features = [], []
  for length, (real_images, words) in test_groups.items():
    z = np.asarray(jax.random.normal(jax.random.fold_in(z_key, length), (len(words), generator.latent_dim)))
    fake_images = word_generators.write_words(generator, words, z, _CHUNK)
    readings, features = read(fake_images)
    fake_readings += readings
    fake_features.append(features)
    readings, features = read(real_images)
    real_readings += readings
    real_features.append(features)
    references += words

  # The floor: real training words of the same lengths against the real test words. A small data set
  # may lack training words of some test lengths: the floor then uses the ones it has, and says how many.
  train_groups = _pick_words(train_source, 4 * num_words, rng)
  train_features = []
  for length, (real_images, _) in test_groups.items():
    if length in train_groups:
      train_features.append(read(train_groups[length][0][:len(real_images)])[1])
  floor_words = sum(len(features) for features in train_features)

  fake_rates = text.character_and_word_error_rates(references, fake_readings)
  capital_rates = capitalised_rates(references, fake_readings)
  real_rates = text.character_and_word_error_rates(references, real_readings)
  fake_features, real_features = np.concatenate(fake_features), np.concatenate(real_features)

  style_z = np.asarray(jax.random.normal(jax.random.fold_in(z_key, 0x7374), (num_styles, generator.latent_dim)))
  feature_distances, pixel_distances = [], []
  # With a custom alphabet the configured (English) words may not be writable: test words instead.
  style_words = word_generators.writable_words(generator, style_words, fallback=references)
  for word in style_words:
    images = word_generators.write_words(generator, [word] * num_styles, style_z, _CHUNK)
    _, features = read(images)
    feature_distances.append(mean_pairwise_distance(features))
    flat = images.reshape(num_styles, -1)
    pixel_distances.append(mean_pairwise_distance(flat) / np.sqrt(flat.shape[1]))

  return {
      "cer": fake_rates["cer"], "wer": fake_rates["wer"],
      "real_cer": real_rates["cer"], "real_wer": real_rates["wer"],
      **capital_rates,
      "fid": frechet_distance(fake_features, real_features),
      # None when fewer than two training words share a test word's length: no floor to give.
      "fid_real_vs_real": (frechet_distance(np.concatenate(train_features), real_features)
                           if floor_words >= 2 else None),
      "fid_real_vs_real_num_words": floor_words,
      "num_words": len(references),
      "style_diversity_features": float(np.mean(feature_distances)),
      "style_diversity_pixels": float(np.mean(pixel_distances)),
      "num_styles": num_styles, "style_words": list(style_words),
      "protocol": "test words at 32x16n; FID in the eval recognizer's mean relu(batch_norm6) features",
      "examples": spread_examples(references, fake_readings),
  }


class CurveEval:
  """CER and WER of generated words during training, for a curve of legibility against steps and time.

  A fixed set of `num_words` test words (drawn once with the run's seed) is written in fixed styles at
  every call and read by the evaluation recognizer, so that successive points differ only by G. Cheaper
  and noisier than `evaluate` (no FID, no style diversity); it never replaces the final scores."""

  def __init__(self, config: ml_collections.ConfigDict, num_words: int):
    self._alphabet = text.alphabet_of(config)
    self._recognizer, self._r_variables = recognizer_eval.load_recognizer(config.eval_recognizer_workdir,
                                                                          self._alphabet)
    rng = np.random.default_rng([config.seed, 0x63757276])  # 'curv'
    self._groups = {n: words for n, (_, words) in _pick_words(handwriting.load_split(config, "test"),
                                                                num_words, rng).items()}
    self._z_key = jax.random.key(config.seed + 1)

  def __call__(self, generator: TrainedGenerator) -> dict[str, Any]:
    references, readings = [], []
    for length, words in self._groups.items():
      z = np.asarray(jax.random.normal(jax.random.fold_in(self._z_key, length), (len(words), generator.latent_dim)))
      images = word_generators.write_words(generator, words, z, _CHUNK)
      readings += read_and_embed(self._recognizer, self._r_variables, images, self._alphabet)[0]
      references += words
    rates = text.character_and_word_error_rates(references, readings)
    return {"cer": rates["cer"], "wer": rates["wer"], **capitalised_rates(references, readings)}


def read_curve(metrics_path: str) -> list[dict[str, Any]]:
  """The curve/* records of a metrics.jsonl, in order, without their prefix."""
  points = []
  with open(metrics_path, encoding="utf-8") as fh:
    for line in fh:
      record = json.loads(line)
      if "curve/cer" in record:
        points.append({"step": record["step"], **{k[len("curve/"):]: v for k, v in record.items()
                                                  if k.startswith("curve/")}})
  return points


def summarize_curve(points: Sequence[dict[str, Any]], thresholds: Sequence[float]) -> dict[str, Any]:
  """The curve, where a new process took over (a resumed run: another `started_at`, or, in curves logged
  without it, minutes that went down), and the first point at or below each CER."""

  def new_process(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if "started_at" in a and "started_at" in b:
      return a["started_at"] != b["started_at"]
    return b["minutes"] < a["minutes"]

  resumed = [b["step"] for a, b in zip(points, points[1:]) if new_process(a, b)]
  first = {}
  for threshold in thresholds:
    hit = next((p for p in points if p["cer"] <= threshold), None)
    first[f"{threshold:g}"] = None if hit is None else {"step": hit["step"], "minutes": hit["minutes"]}
  return {"points": list(points), "resumed_at_steps": resumed, "first_at_or_below": first}


def evaluate(config: ml_collections.ConfigDict, generator: TrainedGenerator) -> dict[str, Any]:
  """Scores of G in the protocol above, with the recognizer of `config.eval_recognizer_workdir`."""
  recognizer, r_variables = recognizer_eval.load_recognizer(config.eval_recognizer_workdir,
                                                            word_generators.alphabet_of(generator))
  scores = evaluate_generator(generator, recognizer, r_variables,
                              handwriting.load_split(config, "test"), handwriting.load_split(config, "train"),
                              num_words=config.eval_num_words, num_styles=config.eval_num_styles,
                              style_words=list(config.eval_style_words), seed=config.seed)
  scores["eval_recognizer_workdir"] = config.eval_recognizer_workdir
  scores["dataset"] = config.dataset
  scores["split_rule"] = handwriting.split_rule(config)
  return scores
