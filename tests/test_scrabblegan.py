"""Tests of ScrabbleGAN's generator, discriminator and the shifted-matmul convolution."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganxai_jax.data import text
from ganxai_jax.models import layers
from ganxai_jax.models import recognizer as recognizer_lib
from ganxai_jax.models import scrabblegan

TINY = 1 / 16


def _init(module, *inputs, **kwargs):
  return module.init(jax.random.key(0), *inputs, **kwargs)


def _init_shapes(module, *inputs):
  """Variable shapes without computing anything."""
  return jax.eval_shape(lambda *xs: module.init(jax.random.key(0), *xs), *inputs)


def test_generator_width_is_16_pixels_per_character_for_1_to_20_characters():
  generator = scrabblegan.Generator(width_multiplier=TINY)
  z = jnp.zeros((2, 128))
  variables = _init_shapes(generator, z, jnp.ones((2, 1), jnp.int32))
  for n in range(1, 21):
    images, _ = jax.eval_shape(generator.apply, variables, z, jnp.ones((2, n), jnp.int32))
    assert images.shape == (2, 32, 16 * n, 1), n


def test_generator_output_is_in_range_and_padding_is_white():
  generator = scrabblegan.Generator(width_multiplier=TINY)
  z = jax.random.normal(jax.random.key(1), (2, 128))
  chars = jnp.asarray([text.encode("word"), np.r_[text.encode("it"), 0, 0]])
  variables = _init(generator, z, chars)
  images, aux = generator.apply(variables, z, chars)
  assert images.shape == (2, 32, 64, 1)
  assert float(jnp.max(jnp.abs(images))) <= 1.0
  np.testing.assert_array_equal(images[1, :, 32:], 1.0)  # "it" is 32 px wide; the rest is white.
  assert float(jnp.min(images[1, :, :32])) < 1.0
  assert aux["attention"] == {}
  assert aux["features"].shape[0] == images.shape[0]  # The first up-block, flattened per image.


def test_filter_bank_places_the_patch_of_character_c_at_position_i():
  channels = 3
  bank = scrabblegan.CharFilterBank(channels, spectral_norm=False)
  z = jax.random.normal(jax.random.key(2), (1, 32))
  chars = jnp.asarray([[5, 17, 5, 80]])
  variables = _init(bank, z, chars)
  kernel = np.asarray(variables["params"]["filter_bank"]["kernel"])  # [80 * 32, 16 * channels]
  assert set(variables["params"]["filter_bank"]) == {"kernel"}  # No bias shared by all characters.
  out = np.asarray(bank.apply(variables, z, chars))
  assert out.shape == (1, 4, 16, channels)
  for position, char in enumerate([5, 17, 5, 80]):
    one_hot_outer_z = np.zeros(80 * 32)
    one_hot_outer_z[(char - 1) * 32:char * 32] = np.asarray(z[0])  # one_hot(char) ⊗ z, char-major
    expected = (one_hot_outer_z @ kernel).reshape(4, 4, channels)
    np.testing.assert_allclose(out[0, :, 4 * position:4 * position + 4], expected, rtol=1e-5, atol=1e-5)


def test_spectral_norm_state_lives_in_its_own_collection():
  generator = scrabblegan.Generator(width_multiplier=TINY)
  variables = _init(generator, jnp.zeros((2, 128)), jnp.ones((2, 3), jnp.int32))
  assert set(variables) == {"params", "batch_stats", "spectral"}
  assert "char_filter_bank" in variables["spectral"]


def test_attention_maps_come_back_in_aux():
  generator = scrabblegan.Generator(width_multiplier=TINY, attention_resolutions=(8, 16))
  z, chars = jnp.zeros((2, 128)), jnp.ones((2, 3), jnp.int32)
  variables = _init(generator, z, chars)
  _, aux = generator.apply(variables, z, chars)
  maps = aux["attention"]
  assert set(maps) == {"attention_8", "attention_16"}
  assert maps["attention_16"].shape == (2, 16 * 48, 8 * 24)  # Keys pooled 2×2.
  np.testing.assert_allclose(maps["attention_8"].sum(-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("width", [16, 48, 160])
def test_discriminator_reads_any_width_and_ignores_columns_past_the_width(width):
  discriminator = scrabblegan.Discriminator(width_multiplier=TINY)
  images = jax.random.uniform(jax.random.key(3), (2, 32, width, 1), minval=-1, maxval=1)
  variables = _init(discriminator, images)
  logits, _ = discriminator.apply(variables, images)
  assert logits.shape == (2,)
  # Padding far (> receptive field) beyond a 16-px word does not change its logit.
  padded = jnp.concatenate([images[:, :, :16], jnp.ones((2, 32, 320, 1))], axis=2)
  junk = padded.at[:, :, 200:].set(-1.0)
  widths = jnp.asarray([16, 16])
  np.testing.assert_allclose(discriminator.apply(variables, padded, widths)[0],
                             discriminator.apply(variables, junk, widths)[0], rtol=1e-5, atol=1e-5)


def test_paper_size_parameter_counts_match_the_official_model():
  z, chars, image = jnp.zeros((1, 128)), jnp.ones((1, 10), jnp.int32), jnp.zeros((1, 32, 160, 1))
  counts = {
      "G": _init_shapes(scrabblegan.Generator(), z, chars)["params"],
      "D": _init_shapes(scrabblegan.Discriminator(), image)["params"],
      "R": _init_shapes(recognizer_lib.Recognizer(), image)["params"],
  }
  counts = {k: sum(int(np.prod(p.shape)) for p in jax.tree_util.tree_leaves(v)) for k, v in counts.items()}
  assert counts["G"] == pytest.approx(23.5e6, rel=0.1)
  assert counts["D"] == pytest.approx(36.4e6, rel=0.1)
  assert counts["R"] == pytest.approx(5.6e6, rel=0.1)


@pytest.mark.parametrize("kernel,padding", [((3, 3), "SAME"), ((2, 2), "VALID"), ((1, 1), "SAME"),
                                            ((3, 3), ((0, 0), (1, 1)))])
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_shifted_matmul_conv_equals_lax_conv_with_the_same_parameters(kernel, padding, spectral_norm):
  x = jax.random.normal(jax.random.key(4), (2, 6, 9, 5))
  lax_conv = layers.Conv(7, kernel, padding=padding, spectral_norm=spectral_norm)
  shifted = layers.Conv(7, kernel, padding=padding, spectral_norm=spectral_norm, conv_impl="shifted_matmul")
  variables = _init(lax_conv, x)
  assert jax.tree_util.tree_structure(variables) == jax.tree_util.tree_structure(_init(shifted, x))
  np.testing.assert_allclose(shifted.apply(variables, x), lax_conv.apply(variables, x), rtol=1e-5, atol=1e-5)
  grad_lax = jax.grad(lambda p: jnp.sum(lax_conv.apply({**variables, "params": p}, x) ** 2))(variables["params"])
  grad_shifted = jax.grad(lambda p: jnp.sum(shifted.apply({**variables, "params": p}, x) ** 2))(
      variables["params"])
  for a, b in zip(jax.tree_util.tree_leaves(grad_lax), jax.tree_util.tree_leaves(grad_shifted)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
