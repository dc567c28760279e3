"""A learned reader of style factors: a CNN trained on freshly rendered synthetic words.

The hand measurements of `naming` (width, height, slant by moments or shear, thickness, intensity) read
some true factors of the synthetic handwriting well and others hardly (their linear calibration's R²:
ink 0.97, stroke width 0.64, slant 0.46, size 0.19, spacing 0.08). The reader learns the factors from the
pixels instead: `models.factor_reader.FactorReader` is trained by mean squared error on standardised
factors of words rendered as the data set renders them (`naming.render_calibration_set`: one random
writer per word, writers unlike the data set's own), and scored by R² per factor on words of other,
held-out writers. Ground-truth scores and disentanglement metrics then read generated words with it
(`directions_report`), with the hand measurements kept for the names.

Training one takes minutes on a CPU; `load_or_train_reader` caches it beside the prepared data
(`DATA_DIR/ganxai_factor_readers/`), keyed by every setting that changes it, as the MNIST evaluation
classifier is cached.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import flax.serialization
import optax
from absl import logging

from ganxai_jax.data import synthetic_handwriting
from ganxai_jax.explain import naming
from ganxai_jax.models.factor_reader import FactorReader
from ganxai_jax.run import workdir as workdir_lib

_CHUNK = 256  # Images per forward pass when reading.


@dataclasses.dataclass(frozen=True)
class Reader:
  """A trained reader: `predict(images)` gives the factors `[N, F]` in their own units."""
  model: FactorReader
  params: Any
  factor_names: tuple[str, ...]
  mean: np.ndarray  # [F] of the training factors
  std: np.ndarray  # [F]
  r2: np.ndarray  # [F] on held-out writers
  train_r2: np.ndarray  # [F] on the training words

  def predict(self, images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, np.float32)
    out = [np.asarray(_apply(self.model, self.params, jnp.asarray(images[i:i + _CHUNK])))
           for i in range(0, len(images), _CHUNK)]
    return np.concatenate(out) * self.std + self.mean

  def r2_dict(self) -> dict[str, float]:
    return {name: float(v) for name, v in zip(self.factor_names, self.r2)}


@functools.partial(jax.jit, static_argnums=0)
def _apply(model: FactorReader, params: Any, images: jax.Array) -> jax.Array:
  return model.apply({"params": params}, images)


def r_squared(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
  """1 - residual variance / variance, per column."""
  residual = np.mean((true - predicted) ** 2, axis=0)
  return 1.0 - residual / np.maximum(np.var(true, axis=0), 1e-12)


def train_reader(word_length: int, num_train: int, num_test: int, steps: int, batch_size: int = 64,
                 learning_rate: float = 1e-3, seed: int = 0) -> Reader:
  """Renders `num_train` training and `num_test` held-out words (different writers), trains a reader for
  `steps` Adam steps of `batch_size` words and scores it on both sets."""
  train_images, train_factors, names = naming.render_calibration_set(num_train, word_length, seed)
  # Another seed: other writers and other words (render_calibration_set draws writers by seed).
  test_images, test_factors, _ = naming.render_calibration_set(num_test, word_length, seed + 7919)
  mean, std = train_factors.mean(0), np.maximum(train_factors.std(0), 1e-6)
  targets = (train_factors - mean) / std
  model = FactorReader(num_factors=len(names))
  params = model.init(jax.random.key(seed), jnp.zeros((1,) + train_images.shape[1:]))["params"]
  schedule = optax.cosine_decay_schedule(learning_rate, steps)
  tx = optax.adam(schedule)
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, images, targets):
    def loss_fn(params):
      return jnp.mean((model.apply({"params": params}, images) - targets) ** 2)
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  rng = np.random.default_rng([seed, 0x72656164])  # 'read'
  images_device, targets_device = jnp.asarray(train_images), jnp.asarray(targets, jnp.float32)
  for i in range(steps):
    batch = jnp.asarray(rng.choice(num_train, size=min(batch_size, num_train), replace=False))
    params, opt_state, loss = step(params, opt_state, images_device[batch], targets_device[batch])
    if i % max(1, steps // 5) == 0 or i == steps - 1:
      logging.info("factor reader step %d/%d: loss %.4f", i + 1, steps, float(loss))
  reader = Reader(model, params, names, mean, std, np.zeros(len(names)), np.zeros(len(names)))
  return dataclasses.replace(reader, r2=r_squared(reader.predict(test_images), test_factors),
                             train_r2=r_squared(reader.predict(train_images), train_factors))


# Bump when the reader's model, its training or the rendering of its words changes: old caches are ignored.
READER_VERSION = 1


def cache_key(word_length: int, num_train: int, num_test: int, steps: int, seed: int) -> str:
  """The folder name of a cached reader: every setting that changes it, and the renderer's version."""
  return (f"v{READER_VERSION}_synthetic{synthetic_handwriting.SyntheticHandwriting.VERSION}_len{word_length}"
          f"_train{num_train}_test{num_test}_steps{steps}_seed{seed}")


def load_or_train_reader(cache_dir: str, word_length: int, num_train: int, num_test: int, steps: int,
                         seed: int = 0) -> tuple[Reader, bool]:
  """The reader of these settings from `cache_dir` when it was trained before, else trained (`train_reader`)
  and cached there; returns `(reader, loaded_from_cache)`."""
  folder = os.path.join(cache_dir, cache_key(word_length, num_train, num_test, steps, seed))
  params_path, info_path = os.path.join(folder, "reader.msgpack"), os.path.join(folder, "reader.json")
  if os.path.exists(params_path) and os.path.exists(info_path):
    with open(info_path, encoding="utf-8") as fh:
      info = json.load(fh)
    model = FactorReader(num_factors=len(info["factor_names"]))
    template = model.init(jax.random.key(seed), jnp.zeros((1, 32, 16 * word_length, 1)))["params"]
    with open(params_path, "rb") as fh:
      params = flax.serialization.from_bytes(template, fh.read())
    logging.info("factor reader loaded from %s", folder)
    return Reader(model, params, tuple(info["factor_names"]), *(np.asarray(info[k], info["dtypes"][k])
                                                                 for k in ("mean", "std", "r2", "train_r2"))), True
  logging.info("training the factor reader (%d words, %d steps); it is cached in %s", num_train, steps, folder)
  reader = train_reader(word_length, num_train, num_test, steps, seed=seed)
  workdir_lib.write_file(params_path, flax.serialization.to_bytes(reader.params))
  workdir_lib.write_file(info_path, json.dumps(
      {"factor_names": list(reader.factor_names),
       **{k: np.asarray(getattr(reader, k), np.float64).tolist() for k in ("mean", "std", "r2", "train_r2")},
       # float64 lists hold float32 values exactly: read back in their own dtype, they are the same.
       "dtypes": {k: str(np.asarray(getattr(reader, k)).dtype) for k in ("mean", "std", "r2", "train_r2")}}))
  return reader, False
