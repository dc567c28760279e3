"""Tests for reading attention maps (explain.attention) and drawing them (viz.attention)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from ganxai_jax.explain import attention as explain
from ganxai_jax.viz.attention import aggregate_attention_figure, query_attention_figure


def _half_ink_image(height: int = 16, width: int = 16) -> np.ndarray:
  """MNIST-like image in [-1, 1]: bright ink on the left half, background on the right."""
  image = np.full((height, width), -1.0, dtype=np.float32)
  image[:, : width // 2] = 1.0
  return image


def _constructed_maps(ink_share_of_ink: float, ink_share_of_background: float) -> np.ndarray:
  """Maps for `_half_ink_image` at an 8×8 query grid with pooled keys (4×4): ink queries (left half) put
  `ink_share_of_ink` on ink keys (left two key columns), background queries `ink_share_of_background`,
  each spread uniformly within the ink and background keys."""
  key_is_ink = np.zeros((4, 4), dtype=bool)
  key_is_ink[:, :2] = True
  key_is_ink = key_is_ink.ravel()
  maps = np.zeros((64, 16))
  for query in range(64):
    share = ink_share_of_ink if query % 8 < 4 else ink_share_of_background
    maps[query, key_is_ink] = share / key_is_ink.sum()
    maps[query, ~key_is_ink] = (1.0 - share) / (~key_is_ink).sum()
  return maps[None]


def test_pixel_to_query_and_key_geometry() -> None:
  assert explain.query_index(np.array([[5, 9]]), (28, 28), (7, 7)).tolist() == [1 * 7 + 2]
  # Non-square handwriting: 32 × 64 image, 8 × 16 query grid, 4 pixels per query cell.
  assert explain.query_index(np.array([[31, 63], [0, 4]]), (32, 64), (8, 16)).tolist() == [127, 1]
  rows, cols = explain.pixel_to_cell((28, 28), (7, 7), pool_kv=True)
  # 7 query rows pool to 4 key rows; the last key row covers the one leftover query row (4 pixels).
  assert rows.tolist() == [0] * 8 + [1] * 8 + [2] * 8 + [3] * 4
  assert cols.max() == 3


def test_ink_fraction_on_grid() -> None:
  mask = np.zeros((1, 28, 28), dtype=bool)
  mask[0, 24:28, 0:8] = True          # exactly the pixels of key cell (3, 0)
  mask[0, 0:8, 8:12] = True           # half of key cell (0, 1)
  fraction = explain.ink_fraction_on_grid(mask, (7, 7), pool_kv=True)[0]
  assert fraction.shape == (4, 4)
  assert fraction[3, 0] == 1.0
  assert fraction[0, 1] == 0.5
  assert fraction.sum() == 1.5


def test_ink_attention_mass_on_constructed_maps() -> None:
  image = _half_ink_image()
  result = explain.ink_attention_mass(_constructed_maps(0.8, 0.1), image[None], (8, 8), pool_kv=True)
  assert result["ink_to_ink"] == pytest.approx(0.8)
  assert result["background_to_ink"] == pytest.approx(0.1)
  assert result["ink_fraction_of_keys"] == pytest.approx(0.5)
  assert (result["num_ink_queries"], result["num_background_queries"], result["num_mixed_queries"]) == (
      32, 32, 0)
  # Dark ink on white: the same geometry with inverted values and polarity gives the same numbers.
  dark = explain.ink_attention_mass(_constructed_maps(0.8, 0.1), -image[None], (8, 8), pool_kv=True,
                                    ink_polarity="dark")
  assert dark["ink_to_ink"] == pytest.approx(0.8)
  # A single ink pixel on the background side makes one query cell mixed (1/4 ink).
  specked = image.copy()
  specked[0, 8] = 1.0
  mixed = explain.ink_attention_mass(_constructed_maps(0.8, 0.1), specked[None], (8, 8), pool_kv=True)
  assert (mixed["num_ink_queries"], mixed["num_background_queries"], mixed["num_mixed_queries"]) == (
      32, 31, 1)


def test_ink_attention_mass_rejects_wrong_geometry() -> None:
  with pytest.raises(ValueError):
    explain.ink_attention_mass(_constructed_maps(0.8, 0.1), _half_ink_image()[None], (8, 8),
                               pool_kv=False)


def test_mean_query_maps() -> None:
  means = explain.mean_query_maps(_constructed_maps(0.8, 0.1), _half_ink_image()[None], (8, 8), True)
  assert means["ink"].shape == means["background"].shape == (1, 4, 4)
  np.testing.assert_allclose(means["ink"][0, :, :2], 0.8 / 8)
  np.testing.assert_allclose(means["background"][0, :, :2], 0.1 / 8)
  np.testing.assert_allclose(means["background"][0, :, 2:], 0.9 / 8)


def test_select_queries() -> None:
  image = _half_ink_image(28, 28)
  points, is_ink = explain.select_queries(image, 6, query_hw=(7, 7), seed=3)
  assert points.shape == (6, 2) and is_ink.tolist() == [True] * 3 + [False] * 3
  assert np.all(image[points[is_ink, 0], points[is_ink, 1]] > 0)
  # Background queries come from query cells without ink (columns 16.. at 4 pixels per cell).
  assert np.all(points[~is_ink, 1] >= 16)
  assert len({tuple(p) for p in points}) == 6
  again, _ = explain.select_queries(image, 6, query_hw=(7, 7), seed=3)
  np.testing.assert_array_equal(points, again)
  # Farthest-point sampling spreads the ink queries: no two within 4 pixels.
  ink = points[is_ink]
  distances = np.abs(ink[:, None] - ink[None]).sum(-1)
  assert distances[~np.eye(3, dtype=bool)].min() >= 4
  # Dark ink: the same choice with inverted image and polarity.
  dark_points, _ = explain.select_queries(-image, 6, query_hw=(7, 7), ink_polarity="dark", seed=3)
  np.testing.assert_array_equal(points, dark_points)


def test_query_maps_upsample_the_right_row() -> None:
  maps = np.zeros((1, 64, 16))
  query = explain.query_index(np.array([[5, 3]]), (16, 16), (8, 8))[0]
  maps[0, :, 0] = 1.0
  maps[0, query] = 0.0
  maps[0, query, 4 * 2 + 3] = 1.0        # key cell (2, 3): pixels rows 8..11, columns 12..15
  upsampled = explain.query_maps(maps[0], np.array([[5, 3]]), (16, 16), (8, 8), pool_kv=True)
  assert upsampled.shape == (1, 16, 16)
  expected = np.zeros((16, 16))
  expected[8:12, 12:16] = 1.0
  np.testing.assert_array_equal(upsampled[0], expected)


def test_rollout() -> None:
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(2, 24, 6))           # query grid 4 × 6, pooled keys 2 × 3
  maps = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
  layer = explain.AttentionLayerMaps(maps, (4, 6), True)
  lifted = explain.lift_to_grid(layer, (4, 6))
  assert lifted.shape == (2, 24, 24)
  np.testing.assert_allclose(lifted.sum(-1), 1.0)
  # Summing the lifted row over the grid cells of each key gives back the original row.
  key_of_cell = np.repeat(np.repeat(np.arange(6).reshape(2, 3), 2, 0), 2, 1).ravel()
  back = np.stack([lifted[:, :, key_of_cell == k].sum(-1) for k in range(6)], -1)
  np.testing.assert_allclose(back, maps)
  # residual_weight 1 is the identity; 0 with two unpooled layers is their product, later on the left.
  np.testing.assert_allclose(explain.attention_rollout([layer], residual_weight=1.0)[0], np.eye(24))
  first = rng.dirichlet(np.ones(24), size=(1, 24))
  second = rng.dirichlet(np.ones(24), size=(1, 24))
  rollout = explain.attention_rollout([explain.AttentionLayerMaps(first, (4, 6), False),
                                       explain.AttentionLayerMaps(second, (4, 6), False)],
                                      residual_weight=0.0)
  np.testing.assert_allclose(rollout[0], second[0] @ first[0])
  mixed = explain.attention_rollout([layer, explain.AttentionLayerMaps(second, (4, 6), False)])
  np.testing.assert_allclose(mixed.sum(-1), 1.0)
  received = explain.received_attention(mixed, (4, 6))
  assert received.shape == (2, 4, 6)
  np.testing.assert_allclose(received.sum((1, 2)), 1.0)


def test_maps_from_the_layer_fit_the_explanations() -> None:
  import jax

  from ganxai_jax.models.attention import SelfAttention
  images = np.full((2, 32, 64), 1.0, dtype=np.float32)     # handwriting-like: dark ink on white
  images[:, 8:24, 10:14] = -1.0
  images[:, 8:24, 30:50] = -1.0
  features = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 16, 16))
  layer = SelfAttention()
  variables = layer.init(jax.random.PRNGKey(1), features)
  _, maps = jax.jit(layer.apply)(variables, features)
  result = explain.ink_attention_mass(np.asarray(maps), images, (8, 16), True, ink_polarity="dark")
  assert result["num_ink_queries"] + result["num_background_queries"] + result[
      "num_mixed_queries"] == 2 * 128
  assert 0.0 < result["ink_to_ink"] < 1.0 and 0.0 < result["background_to_ink"] < 1.0


def _png_bytes(figure: Figure) -> int:
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png")
  return len(buffer.getvalue())


def test_query_attention_figure() -> None:
  image = _half_ink_image(28, 56)
  points, is_ink = explain.select_queries(image, 5, query_hw=(7, 14))
  rng = np.random.default_rng(0)
  maps = rng.dirichlet(np.ones(4 * 7), size=98)
  upsampled = explain.query_maps(maps, points, (28, 56), (7, 14), pool_kv=True)
  figure = query_attention_figure(image, points, is_ink, upsampled, title="layer 7x14")
  assert isinstance(figure, Figure)
  # One panel for the queries and one per query, plus the blank remainder of the grid.
  titles = [axes.get_title() for axes in figure.axes if axes.get_title()]
  assert titles == ["queries", "1: ink", "2: ink", "3: ink", "4: background", "5: background"]
  assert _png_bytes(figure) > 1000
  with pytest.raises(ValueError):
    query_attention_figure(image, points, is_ink, upsampled[:2])


def test_aggregate_attention_figure() -> None:
  images = np.stack([_half_ink_image(), -_half_ink_image()])
  maps = np.concatenate([_constructed_maps(0.8, 0.1)] * 2)
  means = explain.mean_query_maps(maps, images, (8, 8), True)
  received = explain.received_attention(
      explain.attention_rollout([explain.AttentionLayerMaps(maps, (8, 8), True)]), (8, 8))
  views = {
      "ink queries": explain.upsample_to_image(means["ink"], (16, 16), (8, 8), True),
      "background queries": explain.upsample_to_image(means["background"], (16, 16), (8, 8), True),
      "rollout received": explain.upsample_to_image(received, (16, 16), (8, 8), False),
  }
  figure = aggregate_attention_figure(images, views)
  assert len(figure.axes) == 2 * 4
  assert _png_bytes(figure) > 1000
  with pytest.raises(ValueError):
    aggregate_attention_figure(images, {"bad": views["ink queries"][:1]})


def test_select_queries_takes_an_image_with_a_channel_axis():
  image = -np.ones((12, 10), np.float32)
  image[3:9, 4:6] = 1.0
  flat = explain.select_queries(image, 4)
  with_channel = explain.select_queries(image[..., None], 4)
  np.testing.assert_array_equal(flat[0], with_channel[0])
  np.testing.assert_array_equal(flat[1], with_channel[1])
  assert with_channel[1].sum() == 2 and all(image[r, c] > 0 for r, c in with_channel[0][with_channel[1]])
