"""The latent space of the MNIST generators: noise, an optional class label, optional InfoGAN codes.

`LatentSpec` is the one small interface every consumer uses (training, figures, explanations): sample a
latent, turn it into the generator's inputs. The generator's vector input is
`concat(noise, one_hot(categorical), continuous)`; the class label (CGAN) goes in separately.
The noise is N(0, 1) by default; InfoGAN's reference code draws it from U[-1, 1] (`noise="uniform"`),
which gives its one-hot code about three times the relative energy in G's input.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

NOISE_DISTRIBUTIONS = ("normal", "uniform")


@dataclasses.dataclass(frozen=True)
class LatentSpec:
  """Sizes of the latent parts. `num_classes` > 0: conditional (CGAN); codes > 0: InfoGAN."""
  noise_dim: int = 64
  num_classes: int = 0
  num_categorical: int = 0
  num_continuous: int = 0
  noise: str = "normal"  # 'normal': N(0, 1); 'uniform': U[-1, 1].

  def __post_init__(self):
    if self.noise not in NOISE_DISTRIBUTIONS:
      raise ValueError(f"noise {self.noise!r} is not one of {NOISE_DISTRIBUTIONS}.")

  @property
  def vector_dim(self) -> int:
    """Length of the generator's vector input."""
    return self.noise_dim + self.num_categorical + self.num_continuous

  def sample(self, rng: jax.Array, batch: int) -> dict[str, jax.Array]:
    """A batch of latents: `noise` (N(0, 1) or U[-1, 1]), and `labels`, `categorical` (uniform),
    `continuous` U[-1, 1]."""
    k_noise, k_label, k_cat, k_cont = jax.random.split(rng, 4)
    shape = (batch, self.noise_dim)
    noise = (jax.random.normal(k_noise, shape) if self.noise == "normal"
             else jax.random.uniform(k_noise, shape, minval=-1., maxval=1.))
    latent = {"noise": noise}
    if self.num_classes:
      latent["labels"] = jax.random.randint(k_label, (batch,), 0, self.num_classes)
    if self.num_categorical:
      latent["categorical"] = jax.random.randint(k_cat, (batch,), 0, self.num_categorical)
    if self.num_continuous:
      latent["continuous"] = jax.random.uniform(k_cont, (batch, self.num_continuous), minval=-1., maxval=1.)
    return latent

  def vector(self, latent: dict[str, jax.Array]) -> jax.Array:
    """The generator's vector input for a latent."""
    parts = [latent["noise"]]
    if self.num_categorical:
      parts.append(jax.nn.one_hot(latent["categorical"], self.num_categorical))
    if self.num_continuous:
      parts.append(latent["continuous"])
    return jnp.concatenate(parts, axis=-1)
