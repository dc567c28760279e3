"""Scores of an MNIST generator: FID in the project classifier's feature space and label accuracy.

Protocol (fixed, so numbers compare across runs): FID between `N` generated digits and the `N` held-out
test digits of the data set, in the 128-d penultimate features of the project's LeNet; beside it the same
distance between `N` training digits and the test digits ("real vs real"), the floor for that `N`. For a
conditional generator, the classifier's accuracy on generated digits against the labels asked for
(labels balanced over the ten classes). For an unconditional one, the share of each digit among the
classifier's predictions on `CLASS_SHARE_SAMPLES` samples: a generator that covers MNIST's modes gives
each about 10%, a collapsed one leaves some near 0.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from ganxai_jax.evaluation import classifier as classifier_lib
from ganxai_jax.evaluation.fid import frechet_distance
from ganxai_jax.models.latent import LatentSpec

CLASS_SHARE_SAMPLES = 10_000
GenerateFn = Callable[[dict[str, Any]], np.ndarray]


def generate_in_batches(generate_fn: GenerateFn, latent: dict[str, np.ndarray], batch_size: int = 500
                        ) -> np.ndarray:
  """Images for every latent, `batch_size` at a time."""
  total = len(latent["noise"])
  out = [np.asarray(generate_fn({k: v[s:s + batch_size] for k, v in latent.items()}))
         for s in range(0, total, batch_size)]
  return np.concatenate(out)


def evaluate_generator(generate_fn: GenerateFn, spec: LatentSpec, classifier_params: Any,
                       real_train: dict[str, np.ndarray], real_test: dict[str, np.ndarray],
                       seed: int = 0, class_share_samples: int = CLASS_SHARE_SAMPLES) -> dict[str, float]:
  """FID (and its real-vs-real floor) and, for conditional generators, label accuracy; for
  unconditional ones the predicted class shares of `class_share_samples` samples."""
  n = len(real_test["image"])
  latent = jax.tree_util.tree_map(np.asarray, spec.sample(jax.random.key(seed), n))
  if spec.num_classes:
    latent["labels"] = np.arange(n) % spec.num_classes
  fake = generate_in_batches(generate_fn, latent)
  fake_logits, fake_features = classifier_lib.predict(classifier_params, fake)
  _, test_features = classifier_lib.predict(classifier_params, real_test["image"])
  train_pick = np.random.default_rng(seed).choice(len(real_train["image"]), n, replace=False)
  _, train_features = classifier_lib.predict(classifier_params, real_train["image"][train_pick])
  scores = {
      "fid": frechet_distance(fake_features, test_features),
      "fid_real_vs_real": frechet_distance(train_features, test_features),
      "fid_num_samples": float(n),
  }
  if spec.num_classes:
    scores["label_accuracy"] = float(np.mean(np.argmax(fake_logits, -1) == latent["labels"]))
  else:
    scores.update(class_shares(generate_fn, spec, classifier_params, seed, class_share_samples))
  return scores


def class_shares(generate_fn: GenerateFn, spec: LatentSpec, classifier_params: Any, seed: int = 0,
                 num_samples: int = CLASS_SHARE_SAMPLES) -> dict[str, Any]:
  """The classifier's predicted digit shares among `num_samples` unconditional samples: `class_shares`
  (ten floats), their `class_share_min` and `class_share_max`."""
  latent = jax.tree_util.tree_map(np.asarray, spec.sample(jax.random.key(seed + 1), num_samples))
  logits, _ = classifier_lib.predict(classifier_params, generate_in_batches(generate_fn, latent))
  shares = np.bincount(np.argmax(logits, -1), minlength=10)[:10] / num_samples
  return {"class_shares": [float(v) for v in shares], "class_share_min": float(shares.min()),
          "class_share_max": float(shares.max()), "class_share_samples": float(num_samples)}
