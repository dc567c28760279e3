"""Closed-form latent directions: GANSpace (Härkönen et al. 2020) and SeFa (Shen & Zhou 2021).

Both return `ClosedFormDirections`: unit directions in latent space as columns, ordered by importance,
each with the latent distance of one unit of edit (`scales`): for GANSpace one standard deviation of
the principal component, for SeFa 1 (SeFa edits along unit eigenvectors). A traversal is
`z + t·scale_k·d_k`.
"""
from __future__ import annotations

import dataclasses
import jax
import numpy as np

from ganxai_jax.generators.interface import Condition, TrainedGenerator


@dataclasses.dataclass(frozen=True)
class ClosedFormDirections:
  """`directions [latent_dim, K]` (unit columns), `scales [K]` (latent length of one edit unit) and
  `importance [K]` (explained variance for GANSpace, eigenvalue for SeFa), most important first."""
  directions: np.ndarray
  scales: np.ndarray
  importance: np.ndarray


def sefa_directions(weight: np.ndarray, num_directions: int, normalize_rows: bool = True
                    ) -> ClosedFormDirections:
  """The top eigenvectors of WᵀW, for `weight` W [out, latent_dim] of the layer(s) acting on z.

  Rows are normalised first (unless `normalize_rows` is False), as SeFa does, so no output unit
  dominates by its scale; without it the directions are W's top right singular vectors. `eigh` returns
  ascending eigenvalues of the symmetric matrix: reversed, the first is the direction that moves the
  layer's output most.
  """
  weight = np.asarray(weight, np.float64)
  if normalize_rows:
    norms = np.linalg.norm(weight, axis=1, keepdims=True)
    weight = weight / np.where(norms > 0, norms, 1.0)
  eigenvalues, eigenvectors = np.linalg.eigh(weight.T @ weight)
  order = np.argsort(eigenvalues)[::-1][:num_directions]
  return ClosedFormDirections(directions=eigenvectors[:, order], scales=np.ones(len(order)),
                              importance=eigenvalues[order])


def ganspace_from_samples(latents: np.ndarray, features: np.ndarray, num_directions: int
                          ) -> ClosedFormDirections:
  """GANSpace on sampled `latents [N, D]` and their early-layer `features [N, F]`.

  PCA of the features gives components v_k and coordinates x_k = (f - mean)·v_k. The latent direction
  of component k is found by least squares, z ≈ z̄ + Σ_k x_k u_k: u_k is the change in z per unit of
  x_k, so one standard deviation of the component is the latent step σ_k·u_k.
  """
  latents = np.asarray(latents, np.float64)
  features = np.asarray(features, np.float64)
  num_directions = min(num_directions, features.shape[0] - 1, features.shape[1])
  centred = features - features.mean(0)
  # SVD of the N × F data: the right singular vectors are the principal components.
  _, singular_values, components = np.linalg.svd(centred, full_matrices=False)
  coordinates = centred @ components[:num_directions].T  # [N, K]
  stds = coordinates.std(0)
  regression, *_ = np.linalg.lstsq(coordinates, latents - latents.mean(0), rcond=None)  # [K, D]
  norms = np.linalg.norm(regression, axis=1)
  directions = (regression / np.where(norms > 0, norms, 1.0)[:, None]).T
  variance = singular_values[:num_directions] ** 2 / max(len(features) - 1, 1)
  return ClosedFormDirections(directions=directions, scales=stds * norms, importance=variance)


def sample_features(generator: TrainedGenerator, rng: jax.Array, num_samples: int,
                    batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
  """`num_samples` latents and their early-layer features, in batches of one condition each (one word,
  one label, one set of codes; nothing for an unconditional GAN). Each batch's features are centred on
  the batch's mean, so that the principal components are the variation that z causes under a fixed
  condition (style), not the variation between conditions (a word's letters, a digit's class), which
  z cannot move."""
  features_fn = jax.jit(generator.features_fn)  # G's variables as an argument, not folded constants.
  latents, features = [], []
  for index in range(-(-num_samples // batch_size)):
    n = min(batch_size, num_samples - index * batch_size)
    z_key, c_key = jax.random.split(jax.random.fold_in(rng, index))
    latent = generator.sample_latent(z_key, n)
    condition: Condition = {key: np.repeat(np.asarray(value)[:1], n, axis=0)
                            for key, value in generator.sample_condition(c_key, 1).items()}
    batch = np.asarray(features_fn(generator.variables, latent, condition), np.float64)
    latents.append(np.asarray(latent))
    features.append(batch - batch.mean(0) if n > 1 else batch)
  return np.concatenate(latents), np.concatenate(features)


def ganspace_directions(generator: TrainedGenerator, rng: jax.Array, num_samples: int,
                        num_directions: int) -> ClosedFormDirections:
  """GANSpace directions of `generator` from `num_samples` random latents (and conditions)."""
  latents, features = sample_features(generator, rng, num_samples)
  return ganspace_from_samples(latents, features, num_directions)
