"""The one thing a training run carries and checkpoints: `TrainState`.

Each network is a `NetState` (parameters, its other variable collections such as `batch_stats` and
`spectral`, and its optimizer state); the run adds the step, the base RNG key (per-step keys are
`fold_in(rng, step)`, never reused) and, optionally, an exponential moving average of G's parameters.
"""
from __future__ import annotations

from typing import Any

import flax
import flax.struct
import jax
import optax


@flax.struct.dataclass
class NetState:
  """One network: `params`, its mutable `collections` (batch_stats, spectral) and `opt_state`."""
  params: Any
  collections: Any
  opt_state: Any

  def variables(self, params: Any = None) -> dict[str, Any]:
    """The variables dict for `apply`, with `params` replaced when given (for gradients)."""
    return {"params": self.params if params is None else params, **self.collections}

  @property
  def mutable(self) -> list[str]:
    return sorted(self.collections)


@flax.struct.dataclass
class TrainState:
  """Everything a run carries: the step, the base RNG key, every network, and G's EMA parameters."""
  step: jax.Array
  rng: jax.Array
  nets: dict[str, NetState]
  ema_params: Any = None


def init_net(module: flax.linen.Module, tx: optax.GradientTransformation, rng: jax.Array,
             *inputs: Any, **kwargs: Any) -> NetState:
  """Initialises `module` on example inputs and its optimizer on its parameters."""
  variables = flax.core.unfreeze(module.init(rng, *inputs, **kwargs))
  params = variables.pop("params")
  return NetState(params=params, collections=variables, opt_state=tx.init(params))


def apply_gradients(net: NetState, grads: Any, tx: optax.GradientTransformation,
                    collections: Any = None) -> NetState:
  """One optimizer step on `net`, with its collections replaced by `collections` when given."""
  updates, opt_state = tx.update(grads, net.opt_state, net.params)
  return NetState(params=optax.apply_updates(net.params, updates),
                  collections=net.collections if collections is None else collections,
                  opt_state=opt_state)
