"""Toy `TrainedGenerator`s whose latent directions are known, for the explanation tests."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ganxai_jax.generators.interface import TrainedGenerator


def linear_generator(latent_dim: int = 16, side: int = 4) -> TrainedGenerator:
  """Images that are the latent itself laid out as `side × side` pixels (a linear G)."""
  assert latent_dim == side * side

  def apply_fn(variables, z, condition):
    del variables, condition
    return z.reshape(z.shape[0], side, side, 1)

  return TrainedGenerator(
      name="toy_linear", kind="digits", latent_dim=latent_dim, ink_polarity="bright", variables={},
      apply_fn=apply_fn, features_fn=lambda v, z, c: z, condition_fn=lambda rng, n: {},
      weight_fn=lambda v: np.eye(latent_dim))


def bar_generator(latent_dim: int = 4) -> TrainedGenerator:
  """28×28 bright bars on black: z[0] sets the bar's half-width (4 + 1.5·z0 pixels), nothing else
  matters, so the first axis is a width direction and the others change nothing."""

  def apply_fn(variables, z, condition):
    del variables, condition
    half_width = jnp.clip(6.0 + 1.5 * z[:, 0], 1.0, 13.0)[:, None, None]
    cols = jnp.arange(28)[None, None, :] + 0.5
    rows = jnp.arange(28)[None, :, None]
    bar = (jnp.abs(cols - 14.0) < half_width) & (rows >= 11) & (rows < 17)
    return jnp.where(bar, 1.0, -1.0)[..., None]

  return TrainedGenerator(
      name="toy_bar", kind="digits", latent_dim=latent_dim, ink_polarity="bright", variables={},
      apply_fn=apply_fn, features_fn=lambda v, z, c: z, condition_fn=lambda rng, n: {},
      weight_fn=lambda v: np.eye(latent_dim))
