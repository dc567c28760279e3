"""Direction discovery: matrix variants, shift sampling, the training step, RCA and resuming."""
import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ganxai_jax.explain import directions
from ganxai_jax.run.state import init_net
from tests.toy_generators import linear_generator


@pytest.mark.parametrize("kind", directions.DIRECTION_KINDS)
def test_every_kind_has_unit_columns(kind):
  params = directions.init_direction_params(kind, jax.random.key(0), 16, 8)
  matrix = directions.direction_matrix(kind, params, 8)
  assert matrix.shape == (16, 8)
  np.testing.assert_allclose(np.linalg.norm(matrix, axis=0), 1.0, atol=1e-5)


def test_orthonormal_matrix_stays_orthonormal_while_it_trains():
  setup = directions.make_setup(linear_generator(), "orthonormal", (), num_directions=8, learning_rate=1e-2,
                                batch_size=8, reconstructor_channels=(4, 8))
  state = directions.create_state(setup, seed=0)
  before = directions.learned_matrix(setup, state, "learned_orthonormal")
  step = directions.make_train_step(setup)
  for _ in range(5):
    state, _ = step(state, {})
  after = directions.learned_matrix(setup, state, "learned_orthonormal")
  assert np.abs(after - before).max() > 1e-3  # It trained ...
  np.testing.assert_allclose(after.T @ after, np.eye(8), atol=1e-4)  # ... and stayed orthonormal.


def test_fixed_baselines_do_not_move_and_their_reconstructor_trains():
  setup = directions.make_setup(linear_generator(), "linear", ("random", "coordinate"), num_directions=8,
                                batch_size=8, reconstructor_channels=(4, 8))
  state = directions.create_state(setup, seed=0)
  random_before = directions.learned_matrix(setup, state, "random")
  r_before = jax.tree_util.tree_map(np.array, state.variants["random"].reconstructor.params)  # Donated.
  state, metrics = directions.make_train_step(setup)(state, {})
  np.testing.assert_array_equal(directions.learned_matrix(setup, state, "random"), random_before)
  np.testing.assert_array_equal(directions.learned_matrix(setup, state, "coordinate"), np.eye(16)[:, :8])
  moved = jax.tree_util.tree_map(lambda a, b: float(jnp.abs(a - b).max()), r_before,
                                 state.variants["random"].reconstructor.params)
  assert max(jax.tree_util.tree_leaves(moved)) > 0
  assert {"learned_linear/ce", "random/accuracy", "coordinate/shift_l1"} <= set(metrics)


def _labelled_generator():
  """The linear toy G whose images also move with a per-row label: its conditions matter."""
  linear = linear_generator()

  def apply_fn(variables, z, condition):
    return linear.apply_fn(variables, z + condition["labels"][:, None], condition)

  return dataclasses.replace(linear, apply_fn=apply_fn, condition_fn=lambda rng, n: {
      "labels": jax.random.randint(rng, (n,), 0, 10).astype(jnp.float32)})


def test_conditions_of_several_steps_are_those_of_each_step():
  generator = _labelled_generator()
  stacked = directions.conditions_for_steps(generator, 3, 10, 4, 5)["labels"]
  assert stacked.shape == (4, 5)
  for row, step in zip(stacked, range(11, 15)):  # Step s draws from fold_in(key(seed + 7), s).
    expected = generator.sample_condition(jax.random.fold_in(jax.random.key(3 + 7), step), 5)["labels"]
    np.testing.assert_array_equal(row, expected)
  assert directions.conditions_for_steps(linear_generator(), 0, 0, 2, 5) == {}


def _sgd(setup):
  """`setup` with plain SGD: Adam would blow the rounding noise of the gradients of R's conv biases
  (zero in exact arithmetic: batch norm follows them) up to full-size steps, which differ between two
  compilations of the same step."""
  return dataclasses.replace(setup, tx=optax.sgd(1e-2))


def test_steps_in_one_call_equal_one_step_per_call():
  generator = _labelled_generator()  # Conditions that matter, stacked as the scan's xs.
  setup = _sgd(directions.make_setup(generator, "orthonormal", ("coordinate",), num_directions=8,
                                     batch_size=8, reconstructor_channels=(4, 8)))
  one_call, metrics = directions.make_train_step(setup, 3)(
      directions.create_state(setup, seed=0), directions.conditions_for_steps(generator, 0, 0, 3, 8))
  state, single = directions.create_state(setup, seed=0), directions.make_train_step(setup)
  per_step = []
  for step in range(3):
    state, step_metrics = single(state, directions.conditions_for_steps(generator, 0, step, 1, 8))
    per_step.append(step_metrics)
  assert int(one_call.step) == int(state.step) == 3
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), one_call, state)
  for name, stacked in metrics.items():
    assert stacked.shape == (3,)
    np.testing.assert_allclose(stacked, [float(m[name][0]) for m in per_step], rtol=1e-5, atol=1e-6)


def test_train_directions_does_not_depend_on_steps_per_call(tmp_path):
  # No conditions at all: the scan's length comes from n.
  setup = _sgd(directions.make_setup(linear_generator(), "linear", ("random",), num_directions=4,
                                     batch_size=8, reconstructor_channels=(4,)))
  chunked = directions.train_directions(setup, str(tmp_path / "a"), num_steps=5, steps_per_call=2)  # 2, 2, 1.
  single = directions.train_directions(setup, str(tmp_path / "b"), num_steps=5)
  assert int(chunked.step) == int(single.step) == 5
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), chunked, single)


def test_shift_sampling():
  k, eps = directions.sample_shifts(jax.random.key(1), 20_000, 10, shift_scale=6.0, min_shift=0.5)
  k, eps = np.asarray(k), np.asarray(eps)
  assert k.min() == 0 and k.max() == 9
  np.testing.assert_allclose(np.bincount(k) / len(k), 0.1, atol=0.01)
  assert np.abs(eps).min() >= 0.5 and np.abs(eps).max() <= 6.0
  assert abs(np.mean(eps > 0) - 0.5) < 0.02
  # |ε| < 0.5 is raised to 0.5: that mass (1/12) sits exactly at ±0.5; the rest is uniform.
  np.testing.assert_allclose(np.mean(np.abs(eps) == 0.5), 0.5 / 6.0, atol=0.01)
  assert abs(np.mean((np.abs(eps) > 3.0) & (np.abs(eps) < 6.0)) - 0.5) < 0.02


class PerfectReconstructor(nn.Module):
  """Reads k and ε off the image difference of the linear toy G with coordinate directions."""
  num_directions: int

  @nn.compact
  def __call__(self, pair, train=False):
    self.param("unused", nn.initializers.zeros, ())  # A module with parameters, as init_net expects.
    difference = (pair[..., 1] - pair[..., 0]).reshape(pair.shape[0], -1)[:, :self.num_directions]
    k = jnp.argmax(jnp.abs(difference), -1)
    return jax.nn.one_hot(k, self.num_directions) * 10.0, jnp.take_along_axis(difference, k[:, None], 1)[:, 0]


class GuessingReconstructor(nn.Module):
  """Ignores the images: always the same answer."""
  num_directions: int

  @nn.compact
  def __call__(self, pair, train=False):
    logits = self.param("logits", nn.initializers.normal(1.0), (self.num_directions,))
    return jnp.broadcast_to(logits, (pair.shape[0], self.num_directions)), jnp.zeros(pair.shape[0])


def _setup_with(reconstructor, num_directions=8):
  generator = linear_generator()
  return directions.DirectionsSetup(generator=generator, variants=(("coordinate", "coordinate"),),
                                    num_directions=num_directions, reconstructor=reconstructor,
                                    tx=optax.adam(1e-4), batch_size=64)


def _variant(setup):
  pair = jnp.zeros((2, 4, 4, 2))
  params = directions.init_direction_params("coordinate", jax.random.key(0), 16, setup.num_directions)
  return directions.VariantState(
      direction=directions.NetState(params=params, collections={}, opt_state=()),
      reconstructor=init_net(setup.reconstructor, setup.tx, jax.random.key(1), pair))


def test_perfect_reconstructor_has_rca_one():
  setup = _setup_with(PerfectReconstructor(8))
  scores = directions.reconstructor_accuracy(setup, _variant(setup), "coordinate", jax.random.key(2), 512)
  assert scores["rca"] == 1.0
  assert scores["shift_mae"] < 1e-5


def test_guessing_reconstructor_is_at_chance():
  setup = _setup_with(GuessingReconstructor(8))
  scores = directions.reconstructor_accuracy(setup, _variant(setup), "coordinate", jax.random.key(3), 4096)
  assert abs(scores["rca"] - 1 / 8) < 0.03


def test_training_resumes_from_checkpoints(tmp_path):
  setup = directions.make_setup(linear_generator(), "linear", ("coordinate",), num_directions=4, batch_size=8,
                                reconstructor_channels=(4,))
  first = directions.train_directions(setup, str(tmp_path), num_steps=2, checkpoint_every_steps=2)
  assert int(first.step) == 2
  resumed = directions.train_directions(setup, str(tmp_path), num_steps=3, checkpoint_every_steps=2)
  assert int(resumed.step) == 3
  # The resumed run continued from step 2's matrix rather than a fresh one: one more step moved it a little.
  fresh = directions.learned_matrix(setup, directions.create_state(setup, 0), "learned_linear")
  after_two = directions.learned_matrix(setup, first, "learned_linear")
  after_three = directions.learned_matrix(setup, resumed, "learned_linear")
  assert np.abs(after_three - after_two).max() < np.abs(after_three - fresh).max()


def test_sigterm_saves_the_step_and_the_same_call_resumes(tmp_path, monkeypatch):
  import os  # pylint: disable=import-outside-toplevel
  import signal  # pylint: disable=import-outside-toplevel
  from ganxai_jax.run import guards  # pylint: disable=import-outside-toplevel
  from ganxai_jax.run.checkpoints import Checkpointer  # pylint: disable=import-outside-toplevel
  setup = directions.make_setup(linear_generator(), "linear", ("coordinate",), num_directions=4, batch_size=8,
                                reconstructor_channels=(4,))
  step_fn = directions.make_train_step(setup)
  calls = []

  def signalling_step(state, conditions, n):
    calls.append(1)
    if len(calls) == 3:  # During step 3: a scheduler's SIGTERM.
      os.kill(os.getpid(), signal.SIGTERM)
    return step_fn(state, conditions, n)

  monkeypatch.setattr(directions, "make_train_step", lambda *_: signalling_step)
  with pytest.raises(guards.Preempted, match="step 3"):
    directions.train_directions(setup, str(tmp_path), num_steps=10, checkpoint_every_steps=100)
  assert Checkpointer(str(tmp_path)).all_steps() == [3]  # Saved at the step it stopped, not lost.
  monkeypatch.undo()
  resumed = directions.train_directions(setup, str(tmp_path), num_steps=5, checkpoint_every_steps=100)
  assert int(resumed.step) == 5
