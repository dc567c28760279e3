"""Tests of ScrabbleGAN's mixed precision (config.compute_dtype): one tiny training step in float32 and
in bfloat16 from the same state and batch."""
import collections
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import scrabble
from ganxai_jax import config_checks
from ganxai_jax.errors import ConfigError
from ganxai_jax.run import parallel
from ganxai_jax.training import scrabble_step
from ganxai_jax.training import scrabble_trainer
from tests.test_scrabble_step import tiny_batch

NETS = ("generator", "discriminator", "recognizer")
# bfloat16 keeps 8 bits of mantissa (relative rounding 2^-9 = 0.2% per operation); a few dozen
# roundings through the tiny G, D and R moved the losses by at most 1.0% when measured (g_loss_adv
# 0.6677 against 0.6743), so 5% is a margin of 5 over that and still far below what a wrong dtype path
# (a loss computed from a different image or without the batch statistics) changes.
LOSS_RTOL = 5e-2
# Adam's first step moves each weight by lr·g/(|g| + eps), at most lr, so two first steps can be at
# most 2·lr apart (measured: 2.00003·lr, where the two precisions' gradients differ in sign). That
# bounds the parameters; whether the updates agree is what the direction checks below decide.
LEARNING_RATE = 2e-4
PARAM_ATOL = 2.05 * LEARNING_RATE
# Share of weights whose update has the same sign in both precisions (measured 0.959 for R, 0.986 for
# G, 0.996 for D; unrelated gradients give 0.5). The ones that differ are mostly biases in front of a
# batch norm, whose exact gradient is zero, so both precisions step them by the sign of rounding noise.
MIN_SIGN_AGREEMENT = 0.9
# Cosine between the two precisions' gradients (Adam's first moment after one step with β1 = 0 is the
# gradient itself); measured 0.955 (D) to 0.987 (R); unrelated gradients give about 0.
MIN_GRADIENT_COSINE = 0.9


def _config(compute_dtype: str):
  config = scrabble.get_config("tiny")
  config.conv_impl = "lax"  # Native convolutions: one conv_general_dilated per convolution to find.
  config.compute_dtype = compute_dtype
  assert config.learning_rate == LEARNING_RATE
  return config


def _sub_jaxprs(eqn):
  for value in eqn.params.values():
    for item in value if isinstance(value, (tuple, list)) else (value,):
      if hasattr(item, "eqns"):
        yield item
      elif hasattr(getattr(item, "jaxpr", None), "eqns"):  # A ClosedJaxpr (jit, cond, custom_vjp).
        yield item.jaxpr


def _operand_dtypes(jaxpr, primitives=("conv_general_dilated", "dot_general")):
  """Counter of (primitive, operand dtypes) over every equation, nested jaxprs included."""
  counts = collections.Counter()
  for eqn in jaxpr.eqns:
    if eqn.primitive.name in primitives:
      counts[(eqn.primitive.name, tuple(str(v.aval.dtype) for v in eqn.invars))] += 1
    for inner in _sub_jaxprs(eqn):
      counts.update(_operand_dtypes(inner, primitives))
  return counts


@pytest.fixture(scope="module")
def one_step():
  """For each compute dtype: the state before, the state after one full step (D, R and G) and its
  metrics, and the step's (primitive, operand dtypes) counts. Both start from the same state."""
  mesh = parallel.make_mesh(jax.devices()[:1])
  batch = tiny_batch(mesh)
  results = {}
  for compute_dtype in ("float32", "bfloat16"):
    config = _config(compute_dtype)
    components = scrabble_trainer.build_components(config, mesh)
    state = scrabble_trainer.create_state(config, components, mesh)
    step = functools.partial(scrabble_step.train_step, components=components, update_generator=True)
    operations = _operand_dtypes(jax.make_jaxpr(step)(state, batch).jaxpr)
    before = jax.device_get(state)
    after, metrics = jax.jit(step)(state, batch)
    results[compute_dtype] = {"before": before, "after": jax.device_get(after),
                              "metrics": jax.device_get(metrics), "operations": operations}
  return results


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def test_both_precisions_start_from_the_same_float32_state(one_step):
  for a, b in zip(_leaves(one_step["float32"]["before"]), _leaves(one_step["bfloat16"]["before"])):
    np.testing.assert_array_equal(a, b)


def test_parameters_optimizer_and_network_state_stay_float32(one_step):
  for compute_dtype, result in one_step.items():
    for name in NETS:
      net = result["after"].nets[name]
      for part in (net.params, net.opt_state, net.collections):
        floats = {str(x.dtype) for x in _leaves(part) if np.issubdtype(x.dtype, np.floating)}
        assert floats == {"float32"}, (compute_dtype, name, floats)
    assert {str(np.asarray(v).dtype) for v in result["metrics"].values()} == {"float32"}, compute_dtype


def test_losses_agree_between_float32_and_bfloat16(one_step):
  full, mixed = one_step["float32"]["metrics"], one_step["bfloat16"]["metrics"]
  for key in ("d_loss", "d_loss_real", "d_loss_fake", "r_ctc_loss", "g_loss_adv", "g_loss_ctc",
              "g_ctc_weight"):
    assert np.isfinite(mixed[key]), key
    np.testing.assert_allclose(mixed[key], full[key], rtol=LOSS_RTOL, err_msg=key)


def test_updated_parameters_agree_between_float32_and_bfloat16(one_step):
  before = one_step["float32"]["before"].nets
  full, mixed = one_step["float32"]["after"].nets, one_step["bfloat16"]["after"].nets
  for name in NETS:
    start, a, b = (_leaves(nets[name].params) for nets in (before, full, mixed))
    for x, y in zip(a, b):
      np.testing.assert_allclose(y, x, rtol=0, atol=PARAM_ATOL, err_msg=name)
    full_update = np.concatenate([(x - s).ravel() for x, s in zip(a, start)])
    mixed_update = np.concatenate([(y - s).ravel() for y, s in zip(b, start)])
    assert np.abs(full_update).max() > 0.5 * LEARNING_RATE, name  # The step did update the network.
    agreement = np.mean(np.sign(full_update) == np.sign(mixed_update))
    assert agreement >= MIN_SIGN_AGREEMENT, (name, agreement)
    # With β1 = 0, Adam's first moment after one step is the gradient.
    full_grad, mixed_grad = (np.concatenate([x.ravel() for x in _leaves(nets[name].opt_state[0].mu)])
                             for nets in (full, mixed))
    cosine = full_grad @ mixed_grad / (np.linalg.norm(full_grad) * np.linalg.norm(mixed_grad))
    assert cosine >= MIN_GRADIENT_COSINE, (name, cosine)


def test_bfloat16_step_convolves_and_multiplies_in_bfloat16(one_step):
  mixed = one_step["bfloat16"]["operations"]
  convolutions = {dtypes: n for (primitive, dtypes), n in mixed.items() if primitive == "conv_general_dilated"}
  # Every convolution of G, D and R, forward and backward, reads bfloat16 operands.
  assert set(convolutions) == {("bfloat16", "bfloat16")}, convolutions
  assert mixed[("dot_general", ("bfloat16", "bfloat16"))] > 0  # Dense layers and the filter bank.
  # What stays float32 are the spectral norm's power iterations and D's one-logit layer.
  assert mixed[("dot_general", ("float32", "float32"))] > 0
  full = one_step["float32"]["operations"]
  assert all(set(dtypes) == {"float32"} for _, dtypes in full), full
  assert sum(full.values()) == sum(mixed.values())  # The same operations, in other dtypes.


def test_compute_dtype_is_checked_and_absent_means_float32(tmp_path):
  config = _config("float16")
  config.data_dir = str(tmp_path)
  config.batch_size = jax.device_count()  # The tests' 8 fake devices.
  with pytest.raises(ConfigError, match=r"config.compute_dtype='float16': must be one of 'float32', 'bfloat16'"):
    config_checks.check_scrabble(config)
  # A run folder's config from before the key: accepted, and its networks compute in float32.
  del config["compute_dtype"]
  config_checks.check_scrabble(config)
  components = scrabble_trainer.build_components(config)
  for module in (components.generator, components.discriminator, components.recognizer):
    assert module.dtype == jnp.float32, module
  assert scrabble_trainer.build_components(_config("bfloat16")).generator.dtype == jnp.bfloat16
