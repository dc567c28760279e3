"""Tests for the SAGAN self-attention layer."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganxai_jax.models.attention import SelfAttention, key_grid_shape
from ganxai_jax.models.layers import SPECTRAL


class _AttentionNet(nn.Module):
  """A tiny wrapper that exposes the maps the way generators do: `(y, {'attention': {name: maps}})`."""
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, update_stats: bool = False) -> tuple[jax.Array, dict]:
    x = nn.Conv(16, (3, 3))(x)
    x, maps = SelfAttention(spectral_norm=self.spectral_norm, name="attention_8")(x, update_stats)
    return nn.Conv(1, (1, 1))(x), {"attention": {"attention_8": maps}}


@pytest.mark.parametrize("height,width,pool_kv,expected_keys", [
    (8, 8, True, 16),
    (8, 8, False, 64),
    (8, 24, True, 4 * 12),   # handwriting-like: 32 × 16n at 1/4 resolution
    (8, 24, False, 8 * 24),
    (7, 7, True, 16),        # odd sides: ceil(7/2) = 4 keys per side
    (5, 6, True, 3 * 3),
])
def test_shapes_and_rows_sum_to_one(height: int, width: int, pool_kv: bool, expected_keys: int) -> None:
  x = jax.random.normal(jax.random.PRNGKey(0), (2, height, width, 16))
  layer = SelfAttention(pool_kv=pool_kv)
  variables = layer.init(jax.random.PRNGKey(1), x)
  y, maps = layer.apply(variables, x)
  assert y.shape == x.shape
  assert maps.shape == (2, height * width, expected_keys)
  assert int(np.prod(key_grid_shape(height, width, pool_kv))) == expected_keys
  np.testing.assert_allclose(np.asarray(maps).sum(-1), 1.0, atol=1e-5)
  assert (np.asarray(maps) >= 0).all()


def test_key_grid_shape() -> None:
  assert key_grid_shape(8, 40, True) == (4, 20)
  assert key_grid_shape(7, 9, True) == (4, 5)
  assert key_grid_shape(7, 9, False) == (7, 9)


def test_gamma_zero_is_identity_and_nonzero_is_not() -> None:
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 6, 10, 16))
  layer = SelfAttention()
  variables = layer.init(jax.random.PRNGKey(1), x)
  assert float(variables["params"]["gamma"]) == 0.0
  y, _ = layer.apply(variables, x)
  np.testing.assert_array_equal(np.asarray(y), np.asarray(x))
  # The identity must come from γ, not from a dead branch: with γ = 1 the output moves.
  params = dict(variables["params"], gamma=jnp.ones(()))
  y1, _ = layer.apply({"params": params}, x)
  assert float(jnp.abs(y1 - x).max()) > 1e-3


def test_maps_depend_on_content() -> None:
  # Queries at different positions of a non-constant input must attend differently.
  x = jax.random.normal(jax.random.PRNGKey(0), (1, 8, 8, 16))
  layer = SelfAttention()
  variables = layer.init(jax.random.PRNGKey(1), x)
  _, maps = layer.apply(variables, x)
  assert float(jnp.abs(maps[0, 0] - maps[0, -1]).max()) > 1e-4


def test_maps_come_out_under_jit() -> None:
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 8, 16, 1))
  net = _AttentionNet()
  variables = net.init(jax.random.PRNGKey(1), x)
  y, aux = jax.jit(net.apply)(variables, x)
  maps = aux["attention"]["attention_8"]
  assert y.shape == (3, 8, 16, 1)
  assert maps.shape == (3, 8 * 16, 4 * 8)
  np.testing.assert_allclose(np.asarray(maps).sum(-1), 1.0, atol=1e-5)


def test_spectral_norm_updates_its_collection() -> None:
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 16))
  layer = SelfAttention(spectral_norm=True)
  variables = layer.init(jax.random.PRNGKey(1), x)
  assert SPECTRAL in variables and "batch_stats" not in variables
  (_, maps), updates = layer.apply(variables, x, update_stats=True, mutable=[SPECTRAL])
  np.testing.assert_allclose(np.asarray(maps).sum(-1), 1.0, atol=1e-5)
  before = jax.tree_util.tree_leaves(variables[SPECTRAL])
  after = jax.tree_util.tree_leaves(updates[SPECTRAL])
  assert len(before) == len(after) > 0
  assert any(float(jnp.abs(a - b).max()) > 0 for a, b in zip(before, after))
  # Without update_stats the state stays put.
  _, frozen = layer.apply(variables, x, update_stats=False, mutable=[SPECTRAL])
  for a, b in zip(before, jax.tree_util.tree_leaves(frozen[SPECTRAL])):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
