"""Latent direction discovery (Voynov & Babenko, ICML 2020): a direction matrix and a reconstructor.

A direction matrix (the paper's A) holds K directions as columns in latent space; a reconstructor (R)
sees G(z) and G(z + ε·d_k) and must tell k (cross-entropy) and ε (L1, weight 0.25). G is frozen. Only
directions that change the image in distinguishable ways make R's job possible, so training A with R
finds interpretable directions. Variants of A: `linear` (unit-norm columns), `orthonormal` (the first
K columns of exp(S) for a skew-symmetric S), and two fixed baselines, `random` (random unit columns)
and `coordinate` (the first K axes), for which only R trains.

One `DirectionsState` carries every variant (the learned one and the baselines), trained side by side
on the same z, k and ε in one jitted step (or several steps per call, in a `jax.lax.scan`), and
checkpointed as one thing with the project's `Checkpointer`, so a rerun resumes. The score is the
reconstructor classification accuracy (RCA) on fresh samples.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ganxai_jax.generators.interface import Condition, TrainedGenerator
from ganxai_jax.models.reconstructor import DigitReconstructor, WordReconstructor
from ganxai_jax.run import loop
from ganxai_jax.run.state import NetState, apply_gradients, init_net

DIRECTION_KINDS = ("linear", "orthonormal", "random", "coordinate")
TRAINABLE_KINDS = ("linear", "orthonormal")


# ---- Direction matrices --------------------------------------------------------------------------

def init_direction_params(kind: str, rng: jax.Array, latent_dim: int, num_directions: int
                          ) -> dict[str, jax.Array]:
  """Parameters of a direction matrix of `kind`; fixed kinds hold their matrix, which never trains."""
  if kind not in DIRECTION_KINDS:
    raise ValueError(f"direction kind {kind!r} is not one of {DIRECTION_KINDS}.")
  if num_directions > latent_dim and kind in ("orthonormal", "coordinate"):
    raise ValueError(f"{kind} directions need num_directions <= latent_dim, got {num_directions} > "
                     f"{latent_dim}.")
  if kind == "linear":
    return {"weight": jax.random.normal(rng, (latent_dim, num_directions))}
  if kind == "orthonormal":
    # The paper's init: a random skew matrix, so exp(S) starts as a random rotation.
    return {"skew_weight": jax.random.normal(rng, (latent_dim, latent_dim))}
  if kind == "random":
    matrix = jax.random.normal(rng, (latent_dim, num_directions))
    return {"matrix": matrix / jnp.linalg.norm(matrix, axis=0, keepdims=True)}
  return {"matrix": jnp.eye(latent_dim)[:, :num_directions]}


def direction_matrix(kind: str, params: dict[str, jax.Array], num_directions: int) -> jax.Array:
  """The directions `[latent_dim, K]` as columns (unit norm for every kind)."""
  if kind == "linear":
    weight = params["weight"]
    return weight / jnp.linalg.norm(weight, axis=0, keepdims=True)
  if kind == "orthonormal":
    skew = params["skew_weight"] - params["skew_weight"].T
    return jax.scipy.linalg.expm(skew)[:, :num_directions]
  return params["matrix"]


# ---- Shifts ----------------------------------------------------------------------------------------

def sample_shifts(rng: jax.Array, batch: int, num_directions: int, shift_scale: float = 6.0,
                  min_shift: float = 0.5) -> tuple[jax.Array, jax.Array]:
  """k ~ U{0..K-1} and ε = shift_scale·U[-1, 1] with |ε| raised to at least `min_shift` (the sign
  kept): a shift too small to see would teach R nothing."""
  k_key, eps_key = jax.random.split(rng)
  k = jax.random.randint(k_key, (batch,), 0, num_directions)
  eps = shift_scale * jax.random.uniform(eps_key, (batch,), minval=-1.0, maxval=1.0)
  eps = jnp.where(jnp.abs(eps) < min_shift, jnp.where(eps < 0, -min_shift, min_shift), eps)
  return k, eps


# ---- State and setup ------------------------------------------------------------------------------

@flax.struct.dataclass
class VariantState:
  """One variant: its direction matrix's parameters (and optimizer state) and its reconstructor."""
  direction: NetState
  reconstructor: NetState


@flax.struct.dataclass
class DirectionsState:
  """Everything a directions run carries: step, base RNG key, and every variant by name."""
  step: jax.Array
  rng: jax.Array
  variants: dict[str, VariantState]


@dataclasses.dataclass(frozen=True, eq=False)
class DirectionsSetup:
  """The static parts of the step: generator, variants `(name, kind)`, reconstructor, optimizer, loss."""
  generator: TrainedGenerator
  variants: tuple[tuple[str, str], ...]
  num_directions: int
  reconstructor: nn.Module
  tx: optax.GradientTransformation
  batch_size: int = 32
  shift_scale: float = 6.0
  min_shift: float = 0.5
  shift_weight: float = 0.25

  def kind(self, name: str) -> str:
    return dict(self.variants)[name]


def make_reconstructor(kind: str, num_directions: int, channels: tuple[int, ...] | None = None
                       ) -> nn.Module:
  """Conv blocks for digits, residual down-blocks for words (any width)."""
  if kind == "digits":
    return DigitReconstructor(num_directions, **({"channels": tuple(channels)} if channels else {}))
  if kind == "words":
    return WordReconstructor(num_directions, **({"channels": tuple(channels)} if channels else {}))
  raise ValueError(f"no reconstructor for generator kind {kind!r}.")


def make_setup(generator: TrainedGenerator, learned_kind: str, baselines: tuple[str, ...],
               num_directions: int, learning_rate: float = 1e-4, batch_size: int = 32,
               shift_scale: float = 6.0, min_shift: float = 0.5, shift_weight: float = 0.25,
               reconstructor_channels: tuple[int, ...] | None = None) -> DirectionsSetup:
  """The setup of a run: the learned variant named `learned_<kind>` and the fixed baselines."""
  if learned_kind not in TRAINABLE_KINDS:
    raise ValueError(f"learned direction kind {learned_kind!r} is not one of {TRAINABLE_KINDS}.")
  unknown = set(baselines) - {"random", "coordinate"}
  if unknown:
    raise ValueError(f"baselines {sorted(unknown)} are not among ('random', 'coordinate').")
  variants = ((f"learned_{learned_kind}", learned_kind),) + tuple((b, b) for b in baselines)
  return DirectionsSetup(
      generator=generator, variants=variants, num_directions=num_directions,
      reconstructor=make_reconstructor(generator.kind, num_directions, reconstructor_channels),
      tx=optax.adam(learning_rate), batch_size=batch_size, shift_scale=shift_scale,
      min_shift=min_shift, shift_weight=shift_weight)


def create_state(setup: DirectionsSetup, seed: int) -> DirectionsState:
  """A fresh state: every variant's direction matrix and reconstructor from `seed`."""
  rng = jax.random.PRNGKey(seed)  # A raw key: orbax saves it like any array.
  g = setup.generator
  condition = g.sample_condition(jax.random.fold_in(rng, 0), 2)
  images = g.generate(g.sample_latent(jax.random.fold_in(rng, 1), 2), condition)
  pair = jnp.concatenate([images, images], axis=-1)
  variants = {}
  for index, (name, kind) in enumerate(setup.variants):
    dir_key, r_key = jax.random.split(jax.random.fold_in(rng, 100 + index))
    params = init_direction_params(kind, dir_key, g.latent_dim, setup.num_directions)
    opt_state = setup.tx.init(params) if kind in TRAINABLE_KINDS else ()
    direction = NetState(params=params, collections={}, opt_state=opt_state)
    reconstructor = init_net(setup.reconstructor, setup.tx, r_key, pair)
    variants[name] = VariantState(direction=direction, reconstructor=reconstructor)
  return DirectionsState(step=jnp.zeros((), jnp.int32), rng=jax.random.fold_in(rng, 2), variants=variants)


# ---- The step --------------------------------------------------------------------------------------

def shifted_latent(latent: jax.Array, matrix: jax.Array, k: jax.Array, eps: jax.Array) -> jax.Array:
  """z + ε·d_k per row."""
  return latent + eps[:, None] * matrix[:, k].T


def reconstructor_loss(logits: jax.Array, predicted_shift: jax.Array, k: jax.Array, eps: jax.Array,
                       shift_weight: float) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Cross-entropy on k plus `shift_weight`·L1 on ε, and the batch's accuracy."""
  ce = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, k))
  l1 = jnp.mean(jnp.abs(predicted_shift - eps))
  accuracy = jnp.mean(jnp.argmax(logits, -1) == k)
  return ce + shift_weight * l1, {"ce": ce, "shift_l1": l1, "accuracy": accuracy}


def train_step(state: DirectionsState, condition: Condition, g_variables: Any, *, setup: DirectionsSetup
               ) -> tuple[DirectionsState, dict[str, jax.Array]]:
  """One Adam step of every variant on the same z, k and ε (G frozen, its `g_variables` an argument so
  that XLA does not constant-fold G's weights). Returns the state and metrics."""
  g = setup.generator
  z_key, shift_key = jax.random.split(jax.random.fold_in(state.rng, state.step))
  latent = g.sample_latent(z_key, setup.batch_size)
  k, eps = sample_shifts(shift_key, setup.batch_size, setup.num_directions, setup.shift_scale,
                         setup.min_shift)
  base = jax.lax.stop_gradient(g.apply_fn(g_variables, latent, condition))
  metrics, variants = {}, {}
  for name, kind in setup.variants:
    variant = state.variants[name]
    r_net = variant.reconstructor
    trainable = kind in TRAINABLE_KINDS

    def objective(params, direction_params):
      matrix = direction_matrix(kind, direction_params, setup.num_directions)
      shifted = g.apply_fn(g_variables, shifted_latent(latent, matrix, k, eps), condition)
      (logits, predicted), updates = setup.reconstructor.apply(
          r_net.variables(params), jnp.concatenate([base, shifted], -1), train=True, mutable=r_net.mutable)
      loss, parts = reconstructor_loss(logits, predicted, k, eps, setup.shift_weight)
      return loss, (parts, updates)

    if trainable:
      (r_grads, d_grads), (parts, updates) = jax.grad(objective, argnums=(0, 1), has_aux=True)(
          r_net.params, variant.direction.params)
      direction = apply_gradients(variant.direction, d_grads, setup.tx)
    else:
      # A fixed matrix: no gradient flows into G for it, only R learns.
      r_grads, (parts, updates) = jax.grad(objective, has_aux=True)(
          r_net.params, jax.lax.stop_gradient(variant.direction.params))
      direction = variant.direction
    variants[name] = VariantState(direction=direction,
                                  reconstructor=apply_gradients(r_net, r_grads, setup.tx, updates))
    metrics.update({f"{name}/{key}": value for key, value in parts.items()})
  return state.replace(step=state.step + 1, variants=variants), metrics


def train_steps(state: DirectionsState, conditions: Condition, g_variables: Any, n: int, *,
                setup: DirectionsSetup) -> tuple[DirectionsState, dict[str, jax.Array]]:
  """n steps of `train_step` in a `jax.lax.scan`: `conditions` are those of the n steps stacked along a
  leading axis (see `conditions_for_steps`), and every metric comes back stacked the same way."""
  if n == 1:
    # No loop for one step: XLA:CPU compiles convolutions inside a loop body without its fast kernels
    # (the reconstructor's weight gradients ran 4-16x slower in a scan).
    state, metrics = train_step(state, jax.tree_util.tree_map(lambda c: c[0], conditions), g_variables,
                                setup=setup)
    return state, jax.tree_util.tree_map(lambda m: m[None], metrics)

  def one_step(state, condition):
    return train_step(state, condition, g_variables, setup=setup)
  return jax.lax.scan(one_step, state, conditions, length=n)  # `length`: conditions may be {}.


def make_train_step(setup: DirectionsSetup, steps_per_call: int = 1
                    ) -> Callable[..., tuple[DirectionsState, dict[str, jax.Array]]]:
  """`steps(state, conditions, n=steps_per_call)`: `train_steps` jitted, the old state's buffers
  donated. One call of n steps saves n - 1 dispatches of a state of hundreds of arrays; each n
  compiles once."""
  jitted = jax.jit(functools.partial(train_steps, setup=setup), static_argnums=3, donate_argnums=0)
  return lambda state, conditions, n=steps_per_call: jitted(state, conditions, setup.generator.variables, n)


def conditions_for_steps(generator: TrainedGenerator, seed: int, step: int, n: int, batch: int) -> Condition:
  """The conditions of steps `step + 1` to `step + n` (those of step s from `fold_in(key(seed + 7), s)`),
  stacked along a leading axis of length n and drawn in one compiled call: drawn one by one on the
  host they cost a CGAN's step about 12 ms."""
  return _conditions_fn(generator, batch)(seed + 7, np.arange(step + 1, step + 1 + n))


@functools.lru_cache(maxsize=16)
def _conditions_fn(generator: TrainedGenerator, batch: int):
  """The jitted `(seed, steps) -> conditions of those steps` of one generator and batch size."""

  @jax.jit
  def conditions(seed, steps):
    key = jax.random.key(seed)
    return jax.vmap(lambda s: generator.sample_condition(jax.random.fold_in(key, s), batch))(steps)

  return conditions


# ---- Evaluation ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _evaluation_fn(setup: DirectionsSetup, trainable: bool):
  """The jitted RCA batch of one setup, compiled once for the learned kinds and once for the fixed ones
  (which share a trace: both read their matrix as it is stored)."""
  kind = next(k for _, k in setup.variants if (k in TRAINABLE_KINDS) == trainable)
  g = setup.generator

  @jax.jit
  def evaluate(variant, g_variables, batch_key):
    z_key, shift_key, cond_key = jax.random.split(batch_key, 3)
    latent = g.sample_latent(z_key, setup.batch_size)
    condition = g.sample_condition(cond_key, setup.batch_size)
    k, eps = sample_shifts(shift_key, setup.batch_size, setup.num_directions, setup.shift_scale,
                           setup.min_shift)
    matrix = direction_matrix(kind, variant.direction.params, setup.num_directions)
    pair = jnp.concatenate([g.apply_fn(g_variables, latent, condition),
                            g.apply_fn(g_variables, shifted_latent(latent, matrix, k, eps), condition)], -1)
    logits, predicted = setup.reconstructor.apply(variant.reconstructor.variables(), pair, train=False)
    return jnp.sum(jnp.argmax(logits, -1) == k), jnp.sum(jnp.abs(predicted - eps))

  return evaluate


def reconstructor_accuracy(setup: DirectionsSetup, variant: VariantState, kind: str, rng: jax.Array,
                           num_samples: int) -> dict[str, float]:
  """RCA and the mean absolute shift error of a variant on `num_samples` fresh (z, k, ε, condition);
  the same `rng` gives every variant the same samples."""
  g = setup.generator
  evaluate = _evaluation_fn(setup, kind in TRAINABLE_KINDS)
  num_batches = max(1, -(-num_samples // setup.batch_size))
  correct, error = 0.0, 0.0
  for index in range(num_batches):
    hits, abs_error = evaluate(variant, g.variables, jax.random.fold_in(rng, index))
    correct += float(hits)
    error += float(abs_error)
  total = num_batches * setup.batch_size
  return {"rca": correct / total, "shift_mae": error / total, "num_samples": total}


def learned_matrix(setup: DirectionsSetup, state: DirectionsState, name: str) -> np.ndarray:
  """The directions `[latent_dim, K]` of variant `name` as a host array."""
  return np.asarray(direction_matrix(setup.kind(name), state.variants[name].direction.params,
                                     setup.num_directions))


# ---- Training ------------------------------------------------------------------------------------

@jax.jit
def _first_step(metrics: dict[str, jax.Array]) -> dict[str, jax.Array]:
  """Stacked metrics' first step, in one dispatch (indexing them one by one cost ~4 ms a step)."""
  return jax.tree_util.tree_map(lambda m: m[0], metrics)


def train_directions(setup: DirectionsSetup, workdir: str, num_steps: int, seed: int = 0,
                     log_every_steps: int = 100, checkpoint_every_steps: int = 1000,
                     max_minutes: float = 0.0, steps_per_call: int = 1) -> DirectionsState:
  """Trains every variant for `num_steps` steps in `workdir` with the project's training loop
  (`run.loop`), resuming from `workdir/checkpoints`, `steps_per_call` steps per compiled call.

  With `max_minutes` > 0 it stops early (and checkpoints) once that much wall time has passed, so a
  run fits a time budget; the state's step says how far it got. SIGTERM or SIGINT finishes the call,
  saves, and raises `guards.Preempted` (the CLI exits with code 75; the same command resumes), and a
  non-finite loss raises `guards.NonFiniteLoss` before that state is saved, as in training. The result
  does not depend on `steps_per_call`, only the time it takes.
  """
  jitted = make_train_step(setup, steps_per_call)

  def step_fn(state, step, n=1):
    state, metrics = jitted(state, conditions_for_steps(setup.generator, seed, step, n, setup.batch_size), n)
    # One step per call: the loop takes that step's metrics unstacked.
    return state, (metrics if steps_per_call > 1 else _first_step(metrics))

  schedule = loop.Schedule(num_steps=num_steps, log_every_steps=log_every_steps,
                           checkpoint_every_steps=checkpoint_every_steps, max_minutes=max_minutes,
                           keep_checkpoints=2, steps_per_call=steps_per_call)
  learned = setup.variants[0][0]
  return loop.train(workdir=workdir, state=create_state(setup, seed), step_fn=step_fn, schedule=schedule,
                    key_metrics=(f"{learned}/accuracy", f"{learned}/ce", f"{learned}/shift_l1"),
                    what="direction training")
