"""Trains, caches and applies the project's MNIST classifier (LeNet) for evaluation.

The classifier is trained once per data set on its training split and cached next to the prepared data
(`DATA_DIR/ganxai_classifiers/DATASET/`), with its test accuracy; FID uses its 128-d features.
Files are written to a temporary name and renamed, so a killed run never leaves half a cache.
"""
from __future__ import annotations

import json
import os
from typing import Any

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

from ganxai_jax.models.classifier import LeNet
from ganxai_jax.run import workdir as workdir_lib

_MODEL = LeNet()


def _train(images: np.ndarray, labels: np.ndarray, seed: int, steps: int, batch_size: int) -> Any:
  rng = jax.random.key(seed)
  params = _MODEL.init(rng, images[:1])["params"]
  tx = optax.adam(1e-3)
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, x, y, key):
    def loss_fn(p):
      logits, _ = _MODEL.apply({"params": p}, x, train=True, rngs={"dropout": key})
      return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, loss

  order_rng = np.random.default_rng(seed)
  for i in range(steps):
    idx = order_rng.choice(len(images), batch_size, replace=False)
    x = images[idx]
    # Small random shifts make the judge robust to the slight misplacements of generated digits.
    dx, dy = order_rng.integers(-2, 3, size=2)
    x = np.roll(x, (int(dy), int(dx)), axis=(1, 2))
    params, opt_state, loss = step(params, opt_state, x, labels[idx], jax.random.fold_in(rng, i))
    if i % 500 == 0:
      logging.info("classifier step %d loss %.4f", i, float(loss))
  return params


@jax.jit
def _apply(params, images):
  return _MODEL.apply({"params": params}, images)


def predict(params: Any, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
  """Logits and features of images in [-1, 1], computed in batches. Returns numpy arrays."""
  logits, features = [], []
  for start in range(0, len(images), batch_size):
    lo, fe = _apply(params, jnp.asarray(images[start:start + batch_size]))
    logits.append(np.asarray(lo))
    features.append(np.asarray(fe))
  return np.concatenate(logits), np.concatenate(features)


def load_or_train(cache_dir: str, train: dict[str, np.ndarray], test: dict[str, np.ndarray],
                  seed: int = 0, steps: int = 3000, batch_size: int = 128) -> tuple[Any, float]:
  """Returns `(params, test_accuracy)`, training and caching the classifier on first use."""
  params_path = os.path.join(cache_dir, "lenet.msgpack")
  info_path = os.path.join(cache_dir, "lenet.json")
  template = _MODEL.init(jax.random.key(0), train["image"][:1])["params"]
  if os.path.exists(params_path) and os.path.exists(info_path):
    with open(params_path, "rb") as fh:
      params = flax.serialization.from_bytes(template, fh.read())
    with open(info_path, encoding="utf-8") as fh:
      info = json.load(fh)
    if info.get("steps") == steps and info.get("seed") == seed:
      return params, float(info["test_accuracy"])
  logging.info("Training the evaluation classifier (%d steps); it is cached in %s", steps, cache_dir)
  params = _train(train["image"], train["label"], seed, steps, batch_size)
  logits, _ = predict(params, test["image"])
  accuracy = float(np.mean(np.argmax(logits, -1) == test["label"]))
  workdir_lib.write_file(params_path, flax.serialization.to_bytes(params))
  workdir_lib.write_file(info_path, json.dumps({"test_accuracy": accuracy, "steps": steps, "seed": seed}))
  return params, accuracy
