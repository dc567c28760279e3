"""GAN losses behind one signature, as compare_gan's `loss_lib`.

Every loss maps the discriminator's logits on real and fake images to
`(d_loss, d_loss_real, d_loss_fake, g_loss)`. Select one by name from `LOSSES`.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

LossFn = Callable[[jax.Array, jax.Array], tuple[jax.Array, jax.Array, jax.Array, jax.Array]]


def non_saturating(d_real: jax.Array, d_fake: jax.Array):
  """Goodfellow et al.'s loss with the non-saturating generator loss -log D(G(z))."""
  d_loss_real = jnp.mean(jax.nn.softplus(-d_real))  # -log sigmoid(d_real)
  d_loss_fake = jnp.mean(jax.nn.softplus(d_fake))   # -log (1 - sigmoid(d_fake))
  g_loss = jnp.mean(jax.nn.softplus(-d_fake))
  return d_loss_real + d_loss_fake, d_loss_real, d_loss_fake, g_loss


def hinge(d_real: jax.Array, d_fake: jax.Array):
  """Hinge loss (Lim & Ye 2017; SAGAN, ScrabbleGAN): D on max(0, 1 ∓ logit), G on -logit."""
  d_loss_real = jnp.mean(jax.nn.relu(1.0 - d_real))
  d_loss_fake = jnp.mean(jax.nn.relu(1.0 + d_fake))
  g_loss = -jnp.mean(d_fake)
  return d_loss_real + d_loss_fake, d_loss_real, d_loss_fake, g_loss


LOSSES: dict[str, LossFn] = {"non_saturating": non_saturating, "hinge": hinge}


def get_loss(name: str) -> LossFn:
  """The loss called `name`, with a clear error listing the allowed names."""
  if name not in LOSSES:
    raise ValueError(f"loss={name!r} is not one of {sorted(LOSSES)}.")
  return LOSSES[name]
