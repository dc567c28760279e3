"""The pure, jit-compiled training step of the MNIST GANs (GAN, CGAN, SAGAN, InfoGAN).

`train_step(state, batch, *, components)`: one discriminator update on the real batch and a fresh fake
batch, then one generator update against the updated discriminator. InfoGAN adds the information loss
(cross-entropy of the categorical code with weight `info_weight`, Gaussian negative log-likelihood
with unit variance of the continuous codes with weight `info_continuous_weight`) to both updates: its
Q head shares D's trunk, so D's optimizer trains Q. When D has BatchNorm (InfoGAN), the D update reads real and fake images in
separate batches (`separate_d_batches`), as G's update reads a fake batch. Keys: `fold_in(state.rng, state.step)`, split once per use.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ganxai_jax.models.latent import LatentSpec
from ganxai_jax.training import losses
from ganxai_jax.run.state import TrainState, apply_gradients


@dataclasses.dataclass(frozen=True)
class GANComponents:
  """The static parts of a GAN step: modules, optimizers, latent space, loss and options."""
  generator: nn.Module
  discriminator: nn.Module
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  latent_spec: LatentSpec
  loss: str = "non_saturating"
  info_weight: float = 1.0  # λ of the categorical code.
  info_continuous_weight: float = 1.0  # λ of the continuous codes.
  ema_decay: float = 0.0
  separate_d_batches: bool = False  # D sees real and fake in separate batches (for BatchNorm in D).
  batch_sharding: Any = None  # a NamedSharding over the batch axis, or None on one device


def generate(components: GANComponents, g_variables: dict[str, Any], latent: dict[str, jax.Array],
             train: bool = False, mutable: Any = False):
  """Generator output for a latent; returns `((images, aux), updates)` when `mutable`, else `(images, aux)`."""
  spec = components.latent_spec
  return components.generator.apply(g_variables, spec.vector(latent), latent.get("labels"),
                                    train=train, mutable=mutable)


def info_losses(aux: dict[str, jax.Array], latent: dict[str, jax.Array], spec: LatentSpec
                ) -> tuple[jax.Array, jax.Array]:
  """Negative variational MI lower bounds (up to constants) of InfoGAN's categorical and continuous
  codes, each averaged over the batch (0 for a code kind the latent space lacks)."""
  categorical = continuous = jnp.zeros(())
  if spec.num_categorical:
    categorical = jnp.mean(
        optax.softmax_cross_entropy_with_integer_labels(aux["q_logits"], latent["categorical"]))
  if spec.num_continuous:
    continuous = jnp.mean(jnp.sum(0.5 * jnp.square(aux["q_mean"] - latent["continuous"]), axis=-1))
  return categorical, continuous


def info_loss(aux: dict[str, jax.Array], latent: dict[str, jax.Array], spec: LatentSpec) -> jax.Array:
  """The unweighted sum of `info_losses`."""
  categorical, continuous = info_losses(aux, latent, spec)
  return categorical + continuous


def _weighted_info(c: GANComponents, aux: dict[str, jax.Array], latent: dict[str, jax.Array],
                   prefix: str) -> tuple[jax.Array, dict[str, jax.Array]]:
  categorical, continuous = info_losses(aux, latent, c.latent_spec)
  metrics = {prefix: categorical + continuous, f"{prefix}_categorical": categorical,
             f"{prefix}_continuous": continuous}
  return c.info_weight * categorical + c.info_continuous_weight * continuous, metrics


def _constrain(tree: Any, sharding: Any) -> Any:
  if sharding is None:
    return tree
  return jax.tree_util.tree_map(lambda x: jax.lax.with_sharding_constraint(x, sharding), tree)


def train_step(state: TrainState, batch: dict[str, jax.Array], *, components: GANComponents
               ) -> tuple[TrainState, dict[str, jax.Array]]:
  """One D update then one G update. Returns the new state and scalar metrics."""
  c, spec = components, components.latent_spec
  loss_fn = losses.get_loss(c.loss)
  uses_info = bool(spec.num_categorical or spec.num_continuous)
  g_net, d_net = state.nets["generator"], state.nets["discriminator"]
  real = batch["image"]
  batch_size = real.shape[0]
  d_key, g_key = jax.random.split(jax.random.fold_in(state.rng, state.step))

  # Discriminator (and Q) update: real and fake in one forward pass.
  d_latent = _constrain(spec.sample(d_key, batch_size), c.batch_sharding)
  (fake, _), _ = generate(c, g_net.variables(), d_latent, train=True, mutable=g_net.mutable)
  fake = jax.lax.stop_gradient(fake)
  images = jnp.concatenate([real, fake])
  labels = jnp.concatenate([batch["label"], d_latent["labels"]]) if spec.num_classes else None

  def d_apply(params):
    if not c.separate_d_batches:
      return c.discriminator.apply(d_net.variables(params), images, labels, train=True,
                                   mutable=d_net.mutable)
    # BatchNorm in D: real and fake in batches of their own, so that the statistics of a fake batch
    # are those G's step sees (with one mixed batch D's logits on fakes differ between the steps).
    # The running statistics follow the real batches only: in inference D and Q read real digits
    # (InfoGAN's Q classifies held-out digits), which a real/fake mix would normalise wrongly.
    variables, outputs = d_net.variables(params), []
    real_updates = None
    for part in (slice(None, batch_size), slice(batch_size, None)):
      output, updates = c.discriminator.apply(variables, images[part],
                                              None if labels is None else labels[part], train=True,
                                              mutable=d_net.mutable)
      real_updates = updates if real_updates is None else real_updates
      outputs.append(output)
    joined = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), *outputs)
    return joined, real_updates

  def d_objective(params):
    (logits, aux), updates = d_apply(params)
    d_loss, d_real, d_fake, _ = loss_fn(logits[:batch_size], logits[batch_size:])
    metrics = {"d_loss": d_loss, "d_loss_real": d_real, "d_loss_fake": d_fake,
               "d_logit_real": jnp.mean(logits[:batch_size]), "d_logit_fake": jnp.mean(logits[batch_size:])}
    total = d_loss
    if uses_info:
      fake_aux = {k: v[batch_size:] for k, v in aux.items() if k in ("q_logits", "q_mean")}
      weighted, info_metrics = _weighted_info(c, fake_aux, d_latent, "info_loss_d")
      metrics.update(info_metrics)
      total += weighted
    return total, (metrics, updates)

  d_grads, (d_metrics, d_updates) = jax.grad(d_objective, has_aux=True)(d_net.params)
  d_net = apply_gradients(d_net, d_grads, c.d_tx, d_updates)

  # Generator update against the updated discriminator; D's statistics updates here are discarded.
  g_latent = _constrain(spec.sample(g_key, batch_size), c.batch_sharding)

  def g_objective(params):
    (fake, _), g_updates = generate(c, g_net.variables(params), g_latent, train=True, mutable=g_net.mutable)
    (logits, aux), _ = c.discriminator.apply(
        d_net.variables(), fake, g_latent.get("labels"), train=True, mutable=d_net.mutable)
    _, _, _, g_loss = loss_fn(logits, logits)
    metrics = {"g_loss": g_loss}
    total = g_loss
    if uses_info:
      weighted, info_metrics = _weighted_info(c, aux, g_latent, "info_loss")
      metrics.update(info_metrics)
      total += weighted
    return total, (metrics, g_updates)

  g_grads, (g_metrics, g_updates) = jax.grad(g_objective, has_aux=True)(g_net.params)
  g_net = apply_gradients(g_net, g_grads, c.g_tx, g_updates)

  ema = state.ema_params
  if c.ema_decay > 0:
    ema = optax.incremental_update(g_net.params, ema, step_size=1.0 - c.ema_decay)
  new_state = state.replace(step=state.step + 1, nets={"generator": g_net, "discriminator": d_net},
                            ema_params=ema)
  return new_state, {**d_metrics, **g_metrics}
