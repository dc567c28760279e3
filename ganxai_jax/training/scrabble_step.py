"""ScrabbleGAN's pure training step: D and R every step, G every `g_every` steps, one jitted function.

`train_step(state, batch, *, components, update_generator)`:

1. D: hinge loss on real words and on G's words for the batch's fake text (a fresh z).
2. R: CTC on the real words only (R never learns from generated images).
3. G (when `update_generator`, or, with `update_generator=None`, when `state.step % g_every == 0`
   through `jax.lax.cond`): G's images x̃ for a second fresh z, one forward through G kept as a
   `jax.vjp`; the gradients of L_adv = -mean D(x̃) and of L_ctc = CTC(R(x̃), text) with respect to
   x̃; the balancing coefficient a = α·std(∂L_adv/∂x̃) / (std(∂L_ctc/∂x̃) + 1e-7) (or a fixed
   `ctc_weight` when balancing is off); then one backward pass through G with ∂L_adv/∂x̃ + a·∂L_ctc/∂x̃,
   which is the gradient of L_adv + a·L_ctc. G's BN statistics and spectral-norm state advance only
   here; D and R are read with their updated weights and their state is not changed by G's step.

Style codes (`configs/scrabble.py:info`): every fake batch (D's and G's) draws InfoGAN codes beside its
z (a categorical value uniform over `num_categorical`, continuous codes U[-1, 1]) and G writes with them;
Q (D's head) reads them back from the fake words. The information loss
L_info = info_weight · (cross-entropy + info_continuous_weight · ½ squared error) of Q on the fake batch
is added to D's hinge loss (D's optimizer trains Q and the shared trunk) and to G's loss. It stays out
of the gradient balancing: the coefficient a is computed from the adversarial and CTC gradients alone,
and G's gradient is that of L_adv + a·L_ctc + L_info, so the code's pull on G keeps the weight
info_weight gives it whatever the balance between realism and legibility.

With `recognizer_only=True` the step trains R alone (the recognizer warm-up of the first
`r_warmup_steps`: G's CTC gradient is noise while R cannot read, so R first learns to read real words).

Keys: `fold_in(state.rng, state.step)` split once into the D-step z key and the G-step z key; the codes
of each step come from `fold_in(that key, CODE_STREAM)`, so runs without codes draw the z they drew before.

Precision: the modules compute in their `dtype` (`config.compute_dtype`: float32 or bfloat16) but
hand back float32 images, logits and features, so the hinge losses, CTC, the gradients at x̃ and the
balancing coefficient are float32 here; parameters, their gradients and Adam's state are float32.

`batch` holds the real words (`image`, `labels`, `label_lengths`, `image_widths`, `valid`) and the
fake text (`fake_labels` [B, L] padded with 0, `fake_label_lengths`), drawn on the host from the
lexicon in the real batch's length bucket so that the shapes repeat.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ganxai_jax.models import recognizer as recognizer_lib
from ganxai_jax.models import scrabblegan
from ganxai_jax.training import losses
from ganxai_jax.training.gan_step import info_losses
from ganxai_jax.models.latent import LatentSpec
from ganxai_jax.run.state import NetState, TrainState, apply_gradients

# Added to the CTC gradient's standard deviation, as in the official code.
BALANCE_EPSILON = 1e-7
CODE_STREAM = 0x636F6465  # 'code': folded into a step's z key for its style codes.
# The information-loss metrics, with the update that computes them ('d_' or 'g_' rules of averaging).
INFO_METRICS = ("info_loss_d_categorical", "info_loss_d_continuous", "info_loss_categorical",
                "info_loss_continuous")


@dataclasses.dataclass(frozen=True)
class ScrabbleComponents:
  """The static parts of a ScrabbleGAN step: modules, optimizers and options."""
  generator: nn.Module
  discriminator: nn.Module
  recognizer: nn.Module
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  r_tx: optax.GradientTransformation
  z_dim: int = 128
  g_every: int = 4
  gradient_balancing: bool = True
  balance_alpha: float = 1.0
  ctc_weight: float = 1.0  # The CTC weight of G's loss when gradient balancing is off.
  ema_decay: float = 0.0
  r_warmup_steps: int = 0  # Steps at the start in which only R learns (from real words).
  num_categorical: int = 0  # InfoGAN's style codes (0 and 0: none).
  num_continuous: int = 0
  info_weight: float = 1.0  # λ of the information loss.
  info_continuous_weight: float = 1.0  # λ_c: the continuous codes' share inside it.
  batch_sharding: Any = None  # a NamedSharding over the batch axis, or None on one device


def make_schedule(learning_rate: float, num_updates: int, constant_fraction: float) -> optax.Schedule:
  """Constant `learning_rate` for the first `constant_fraction` of `num_updates`, then linear to 0."""
  constant_steps = int(round(num_updates * constant_fraction))
  decay_steps = max(num_updates - constant_steps, 1)
  return optax.join_schedules(
      [optax.constant_schedule(learning_rate), optax.linear_schedule(learning_rate, 0.0, decay_steps)],
      [constant_steps])


def balance_coefficient(adv_image_grad: jax.Array, ctc_image_grad: jax.Array, alpha: float) -> jax.Array:
  """a = α·std(∂L_adv/∂x̃) / (std(∂L_ctc/∂x̃) + 1e-7), a constant for the backward pass."""
  ratio = jnp.std(adv_image_grad) / (jnp.std(ctc_image_grad) + BALANCE_EPSILON)
  return jax.lax.stop_gradient(alpha * ratio)


def fake_widths(batch: dict[str, jax.Array]) -> jax.Array:
  """Width in pixels of each generated word (16 per character)."""
  return batch["fake_label_lengths"] * scrabblegan.WIDTH_PER_CHAR


def _constrain(x: jax.Array, sharding: Any) -> jax.Array:
  return x if sharding is None else jax.lax.with_sharding_constraint(x, sharding)


def sample_z(key: jax.Array, batch_size: int, components: ScrabbleComponents) -> jax.Array:
  """Standard normal z, sharded like the batch."""
  return _constrain(jax.random.normal(key, (batch_size, components.z_dim)), components.batch_sharding)


def uses_codes(components: ScrabbleComponents) -> bool:
  return bool(components.num_categorical or components.num_continuous)


def sample_codes(key: jax.Array, batch_size: int, components: ScrabbleComponents) -> dict[str, jax.Array]:
  """`categorical` [B] (uniform) and `continuous` [B, num_continuous] (U[-1, 1]) from the stream
  `CODE_STREAM` of a z key, sharded like the batch; empty without codes."""
  if not uses_codes(components):
    return {}
  spec = LatentSpec(noise_dim=1, num_categorical=components.num_categorical,
                    num_continuous=components.num_continuous)
  codes = spec.sample(jax.random.fold_in(key, CODE_STREAM), batch_size)
  codes.pop("noise")
  return {k: _constrain(v, components.batch_sharding) for k, v in codes.items()}


def code_input(codes: dict[str, jax.Array], components: ScrabbleComponents) -> jax.Array | None:
  """G's code vector for `sample_codes`' draws (None without codes)."""
  if not codes:
    return None
  return scrabblegan.code_vector(codes.get("categorical"), codes.get("continuous"), components.num_categorical)


def information_loss(aux: dict[str, jax.Array], codes: dict[str, jax.Array], components: ScrabbleComponents
                     ) -> tuple[jax.Array, jax.Array, jax.Array]:
  """(weighted L_info, cross-entropy, ½ squared error) of Q's outputs `aux` on words drawn with `codes`."""
  c = components
  spec = LatentSpec(noise_dim=1, num_categorical=c.num_categorical, num_continuous=c.num_continuous)
  categorical, continuous = info_losses(aux, codes, spec)
  return c.info_weight * (categorical + c.info_continuous_weight * continuous), categorical, continuous


def generator_update(state: TrainState, batch: dict[str, jax.Array], key: jax.Array,
                     components: ScrabbleComponents) -> tuple[NetState, Any, dict[str, jax.Array]]:
  """One G step with balanced gradients (see the module docstring); returns (G, EMA, metrics)."""
  c = components
  g_net, d_net, r_net = (state.nets[k] for k in ("generator", "discriminator", "recognizer"))
  chars, lengths, widths = batch["fake_labels"], batch["fake_label_lengths"], fake_widths(batch)
  z = sample_z(key, chars.shape[0], c)
  codes = sample_codes(key, chars.shape[0], c)

  def render(params):
    (images, _), updates = c.generator.apply(g_net.variables(params), z, chars, train=True,
                                             update_stats=True, codes=code_input(codes, c),
                                             mutable=g_net.mutable)
    return images, updates

  fake, g_vjp, g_updates = jax.vjp(render, g_net.params, has_aux=True)

  def adversarial_loss(images):
    logits, _ = c.discriminator.apply(d_net.variables(), images, widths, update_stats=False)
    return losses.hinge(logits, logits)[3]

  def ctc_loss(images):
    # Batch statistics of this batch, as in training; R's running statistics are left alone.
    logits, _ = c.recognizer.apply(r_net.variables(), images, train=True, mutable=r_net.mutable)
    loss, usable = recognizer_lib.ctc_loss(logits, chars, lengths, widths)
    return loss, usable

  adv_loss, adv_grad = jax.value_and_grad(adversarial_loss)(fake)
  (ctc, usable), ctc_grad = jax.value_and_grad(ctc_loss, has_aux=True)(fake)
  if c.gradient_balancing:
    weight = balance_coefficient(adv_grad, ctc_grad, c.balance_alpha)
  else:
    weight = jnp.asarray(c.ctc_weight, jnp.float32)
  image_grad = adv_grad + weight * ctc_grad
  info_metrics = {}
  if uses_codes(c):
    def info_objective(images):  # Outside the balancing: its gradient is added as it is.
      _, aux = c.discriminator.apply(d_net.variables(), images, widths, update_stats=False)
      weighted, categorical, continuous = information_loss(aux, codes, c)
      return weighted, {"info_loss_categorical": categorical, "info_loss_continuous": continuous}

    info_grad, info_metrics = jax.grad(info_objective, has_aux=True)(fake)
    image_grad = image_grad + info_grad
  (g_grads,) = g_vjp(image_grad)
  g_net = apply_gradients(g_net, g_grads, c.g_tx, g_updates)
  ema = state.ema_params
  if c.ema_decay > 0:
    ema = optax.incremental_update(g_net.params, ema, step_size=1.0 - c.ema_decay)
  metrics = {"g_loss_adv": adv_loss, "g_loss_ctc": ctc, "g_ctc_weight": weight,
             "g_grad_std_adv": jnp.std(adv_grad), "g_grad_std_ctc": jnp.std(ctc_grad),
             "g_ctc_usable_fraction": usable.mean(), "g_updated": jnp.ones((), jnp.float32),
             **info_metrics}
  return g_net, ema, metrics


def _skip_generator_update(state: TrainState, components: ScrabbleComponents
                           ) -> tuple[NetState, Any, dict[str, jax.Array]]:
  zero = jnp.zeros((), jnp.float32)
  names = ("g_loss_adv", "g_loss_ctc", "g_ctc_weight", "g_grad_std_adv", "g_grad_std_ctc",
           "g_ctc_usable_fraction", "g_updated")
  if uses_codes(components):
    names += ("info_loss_categorical", "info_loss_continuous")
  return state.nets["generator"], state.ema_params, {k: zero for k in names}


def recognizer_update(r_net: NetState, batch: dict[str, jax.Array],
                      components: ScrabbleComponents) -> tuple[NetState, dict[str, jax.Array]]:
  """One CTC step of R on the real words of `batch`."""
  def r_objective(params):
    logits, updates = components.recognizer.apply(r_net.variables(params), batch["image"], train=True,
                                                  mutable=r_net.mutable)
    loss, usable = recognizer_lib.ctc_loss(logits, batch["labels"], batch["label_lengths"],
                                           batch["image_widths"], batch["valid"])
    return loss, ({"r_ctc_loss": loss, "r_usable_fraction": usable.mean()}, updates)

  r_grads, (r_metrics, r_updates) = jax.grad(r_objective, has_aux=True)(r_net.params)
  return apply_gradients(r_net, r_grads, components.r_tx, r_updates), r_metrics


_D_METRICS = ("d_loss", "d_loss_real", "d_loss_fake", "d_logit_real", "d_logit_fake")


def recognizer_step(state: TrainState, batch: dict[str, jax.Array], *,
                    components: ScrabbleComponents) -> tuple[TrainState, dict[str, jax.Array]]:
  """A warm-up step: R learns from the real words; G and D are left as they are.

  The metrics have the keys of `train_step`'s, with `d_updated` and `g_updated` 0 (D's and G's
  entries are zeros and are not averaged into logs).
  """
  r_net, r_metrics = recognizer_update(state.nets["recognizer"], batch, components)
  _, _, g_metrics = _skip_generator_update(state, components)
  zero = jnp.zeros((), jnp.float32)
  d_names = _D_METRICS + (INFO_METRICS[:2] if uses_codes(components) else ())
  metrics = {**{k: zero for k in d_names}, "d_updated": zero, **r_metrics, **g_metrics}
  return state.replace(step=state.step + 1, nets={**state.nets, "recognizer": r_net}), metrics


def train_step(state: TrainState, batch: dict[str, jax.Array], *, components: ScrabbleComponents,
               update_generator: bool | None = None) -> tuple[TrainState, dict[str, jax.Array]]:
  """D, R and (every `g_every` steps) G updates; returns the new state and scalar metrics.

  D's real words are `batch["d_image"]` (with `d_image_widths`) when the batch has them: unlabeled
  words in semi-supervised training. R always learns from the labeled `image` and `labels`.
  `update_generator`: True or False decides on the host (one compiled function each); None decides
  inside with `jax.lax.cond` on `state.step % g_every == 0`.
  """
  c = components
  g_net, d_net, _ = (state.nets[k] for k in ("generator", "discriminator", "recognizer"))
  # D's real words: the unlabeled ones in semi-supervised training, else the labeled batch (R's).
  real = batch.get("d_image", batch["image"])
  real_widths = batch.get("d_image_widths", batch["image_widths"])
  batch_size = real.shape[0]
  d_key, g_key = jax.random.split(jax.random.fold_in(state.rng, state.step))

  # D: real and fake in one pass. G runs in training mode (batch statistics) but its state is
  # advanced only by its own step.
  chars = batch["fake_labels"]
  codes = sample_codes(d_key, batch_size, c)
  (fake, _), _ = c.generator.apply(g_net.variables(), sample_z(d_key, batch_size, c), chars,
                                   train=True, update_stats=False, codes=code_input(codes, c),
                                   mutable=g_net.mutable)
  images = jnp.concatenate([real, jax.lax.stop_gradient(fake)])
  widths = jnp.concatenate([real_widths, fake_widths(batch)])

  def d_objective(params):
    (logits, aux), updates = c.discriminator.apply(d_net.variables(params), images, widths,
                                                   update_stats=True, mutable=d_net.mutable)
    d_loss, d_real, d_fake, _ = losses.hinge(logits[:batch_size], logits[batch_size:])
    metrics = {"d_loss": d_loss, "d_loss_real": d_real, "d_loss_fake": d_fake,
               "d_logit_real": jnp.mean(logits[:batch_size]), "d_logit_fake": jnp.mean(logits[batch_size:]),
               "d_updated": jnp.ones((), jnp.float32)}
    total = d_loss
    if uses_codes(c):  # Q learns on the fake words only: their codes are known.
      fake_aux = {k: aux[k][batch_size:] for k in ("q_logits", "q_mean")}
      weighted, categorical, continuous = information_loss(fake_aux, codes, c)
      metrics.update(info_loss_d_categorical=categorical, info_loss_d_continuous=continuous)
      total = total + weighted
    return total, (metrics, updates)

  d_grads, (d_metrics, d_updates) = jax.grad(d_objective, has_aux=True)(d_net.params)
  d_net = apply_gradients(d_net, d_grads, c.d_tx, d_updates)

  r_net, r_metrics = recognizer_update(state.nets["recognizer"], batch, c)

  state = state.replace(nets={"generator": g_net, "discriminator": d_net, "recognizer": r_net})
  update = functools.partial(generator_update, batch=batch, key=g_key, components=c)
  if update_generator is None:
    g_net, ema, g_metrics = jax.lax.cond(state.step % c.g_every == 0, lambda s: update(s),
                                         functools.partial(_skip_generator_update, components=c), state)
  elif update_generator:
    g_net, ema, g_metrics = update(state)
  else:
    g_net, ema, g_metrics = _skip_generator_update(state, c)
  new_state = state.replace(step=state.step + 1, nets={**state.nets, "generator": g_net}, ema_params=ema)
  return new_state, {**d_metrics, **r_metrics, **g_metrics}


StepFn = Callable[[TrainState, dict[str, jax.Array], int], tuple[TrainState, dict[str, jax.Array]]]


def make_train_step(components: ScrabbleComponents, g_schedule: str = "host") -> StepFn:
  """`step_fn(state, batch, step) -> (state, metrics)` with the old state's buffers donated.

  `g_schedule='host'`: two jitted functions (with and without the G update), picked on the host by
  `step % g_every`; `'cond'`: one jitted function that decides with `jax.lax.cond`. Steps below
  `components.r_warmup_steps` run `recognizer_step` (compiled only if there are any).
  """
  if g_schedule not in ("host", "cond"):
    raise ValueError(f"g_schedule={g_schedule!r} is not 'host' or 'cond'.")
  if g_schedule == "cond":
    jitted = jax.jit(functools.partial(train_step, components=components, update_generator=None),
                     donate_argnums=0)
    gan_step = lambda state, batch, step: jitted(state, batch)
  else:
    with_g = jax.jit(functools.partial(train_step, components=components, update_generator=True),
                     donate_argnums=0)
    without_g = jax.jit(functools.partial(train_step, components=components, update_generator=False),
                        donate_argnums=0)
    gan_step = lambda state, batch, step: (
        with_g if step % components.g_every == 0 else without_g)(state, batch)
  warmup = jax.jit(functools.partial(recognizer_step, components=components), donate_argnums=0)

  def step_fn(state, batch, step):
    return warmup(state, batch) if step < components.r_warmup_steps else gan_step(state, batch, step)
  return step_fn
