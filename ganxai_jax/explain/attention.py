"""Reading self-attention maps: query locations, per-query maps on the image, ink mass, aggregate views.

All functions are numpy and take the maps that `ganxai_jax.models.attention.SelfAttention` returns,
`[B, N_queries, N_keys]`, together with the layer's query grid `query_hw = (h, w)` (its input's spatial
size) and its `pool_kv` flag, from which `key_grid_shape` gives the key grid.

Geometry. An image of H×W pixels and a layer of h×w queries: pixel row r belongs to query row
`floor(r·h/H)` (likewise columns), which for the usual integer scale s = H/h is the s×s block of pixels
under each query. With pooled keys, query row a belongs to key row a // 2, as in the layer's SAME
max-pooling. Maps on a key grid are brought to the image by repeating each cell over its pixels
(nearest neighbour: no smoothing that the layer did not do), and the ink mask is brought to any grid as
the fraction of ink pixels in each cell.

Ink is decided per pixel by `ganxai_jax.evaluation.measure.ink_mask` (bright ink for MNIST in [-1, 1],
dark ink for handwriting).

Character slots (words). ScrabbleGAN writes character i of an n-character word from its own filter-bank
patch, which the up-blocks grow into image columns [16·i, 16·(i+1)) of the 16n-px-wide image: the
slots split the image width into n equal parts. A query cell belongs to the slot of its centre column;
a key cell's mass is shared among slots by the fraction of its pixel columns in each (the same
pixel-to-cell map as above), so keys on a pooled grid are read exactly as the ink score reads them.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from ganxai_jax.evaluation.measure import ink_mask
from ganxai_jax.models.attention import key_grid_shape


class AttentionLayerMaps(NamedTuple):
  """The maps of one attention layer, `[B, h*w, N_keys]`, with the layer's query grid and pooling."""
  maps: np.ndarray
  query_hw: tuple[int, int]
  pool_kv: bool


def _cells(size: int, grid: int) -> np.ndarray:
  """Grid cell of each of `size` pixels along one axis of a grid with `grid` cells."""
  return (np.arange(size) * grid) // size


def pixel_to_cell(image_hw: tuple[int, int], query_hw: tuple[int, int],
                  pool_kv: bool) -> tuple[np.ndarray, np.ndarray]:
  """Cell index of every pixel row `[H]` and column `[W]` on the key grid of a layer with query grid
  `query_hw` (with `pool_kv=False` the key grid is the query grid itself)."""
  rows = _cells(image_hw[0], query_hw[0])
  cols = _cells(image_hw[1], query_hw[1])
  if pool_kv:
    rows, cols = rows // 2, cols // 2
  return rows, cols


def query_index(points: np.ndarray, image_hw: tuple[int, int], query_hw: tuple[int, int]) -> np.ndarray:
  """Query index `[K]` (row-major on the query grid) of pixel locations `points` `[K, 2]` as (row, col)."""
  points = np.asarray(points, dtype=np.int64).reshape(-1, 2)
  rows = (points[:, 0] * query_hw[0]) // image_hw[0]
  cols = (points[:, 1] * query_hw[1]) // image_hw[1]
  return rows * query_hw[1] + cols


def ink_fraction_on_grid(mask: np.ndarray, query_hw: tuple[int, int], pool_kv: bool) -> np.ndarray:
  """Fraction of ink pixels in each cell of the key grid, `[B, hk, wk]`, for a mask `[B, H, W]`;
  `pool_kv=False` gives the query grid."""
  mask = np.asarray(mask, dtype=np.float64)
  rows, cols = pixel_to_cell(mask.shape[1:3], query_hw, pool_kv)
  grid_h, grid_w = key_grid_shape(*query_hw, pool_kv)
  row_onehot = (rows[None, :] == np.arange(grid_h)[:, None]).astype(np.float64)   # [hk, H]
  col_onehot = (cols[None, :] == np.arange(grid_w)[:, None]).astype(np.float64)   # [wk, W]
  counts = row_onehot.sum(1)[:, None] * col_onehot.sum(1)[None, :]
  return np.einsum("ih,bhw,jw->bij", row_onehot, mask, col_onehot) / counts


def upsample_to_image(grid_maps: np.ndarray, image_hw: tuple[int, int], query_hw: tuple[int, int],
                      pool_kv: bool) -> np.ndarray:
  """Repeats maps on the key grid `[..., hk, wk]` (query grid if `pool_kv` is False) over the pixels of
  each cell, giving `[..., H, W]`."""
  rows, cols = pixel_to_cell(image_hw, query_hw, pool_kv)
  return np.asarray(grid_maps)[..., rows[:, None], cols[None, :]]


def _farthest_points(candidates: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
  """`count` of the candidate points `[M, 2]`, spread out by farthest-point sampling from a random start,
  so that the marked queries do not crowd one stroke."""
  count = min(count, len(candidates))
  if count == 0:
    return np.zeros((0, 2), dtype=np.int64)
  chosen = [int(rng.integers(len(candidates)))]
  distance = np.full(len(candidates), np.inf)
  for _ in range(count - 1):
    distance = np.minimum(distance, np.abs(candidates - candidates[chosen[-1]]).sum(-1))
    chosen.append(int(np.argmax(distance)))
  return candidates[chosen]


def select_queries(image: np.ndarray, num_queries: int, query_hw: tuple[int, int] | None = None,
                   num_ink: int | None = None, ink_polarity: str = "bright", threshold: float = 0.0,
                   ink_query_fraction: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """Chooses query locations on one image `[H, W]` (or `[H, W, 1]`): `num_ink` on ink (default half,
  rounded up) and the rest on background, each group spread out by farthest-point sampling. With
  `query_hw`, ink queries are drawn from query cells whose ink fraction is at least
  `ink_query_fraction` and background queries from cells without ink, the same classes
  `ink_attention_mass` scores (falling back to pixel-level ink when no cell qualifies). Returns
  `points` `[K, 2]` as (row, col) pixels, ink queries first, and `is_ink` `[K]`; K is smaller than
  `num_queries` when an image has too few candidates."""
  image = np.asarray(image)
  if image.ndim == 3:  # [H, W, 1]: one image with a channel axis, not a batch of H images.
    image = image[..., 0]
  mask = ink_mask(image[None], ink_polarity, threshold)[0]
  num_ink = (num_queries + 1) // 2 if num_ink is None else num_ink
  ink_candidates, background_candidates = mask, ~mask
  if query_hw is not None:
    fraction = ink_fraction_on_grid(mask[None], query_hw, pool_kv=False)[0]
    per_pixel = upsample_to_image(fraction, mask.shape, query_hw, pool_kv=False)
    if (mask & (per_pixel >= ink_query_fraction)).any():
      ink_candidates = mask & (per_pixel >= ink_query_fraction)
    if (per_pixel == 0).any():
      background_candidates = per_pixel == 0
  rng = np.random.default_rng(seed)
  ink_points = _farthest_points(np.argwhere(ink_candidates), num_ink, rng)
  background_points = _farthest_points(np.argwhere(background_candidates),
                                       num_queries - len(ink_points), rng)
  points = np.concatenate([ink_points, background_points]).astype(np.int64)
  is_ink = np.arange(len(points)) < len(ink_points)
  return points, is_ink


def query_maps(maps: np.ndarray, points: np.ndarray, image_hw: tuple[int, int],
               query_hw: tuple[int, int], pool_kv: bool) -> np.ndarray:
  """Attention maps of the queries under pixel `points` `[K, 2]` for one image's maps `[N_q, N_k]`,
  each reshaped to the key grid and repeated over the image: `[K, H, W]`. Each pixel shows its key's
  probability, so a map sums to 1 on the key grid, not over the image."""
  rows = np.asarray(maps)[query_index(points, image_hw, query_hw)]
  grid = rows.reshape(len(rows), *key_grid_shape(*query_hw, pool_kv))
  return upsample_to_image(grid, image_hw, query_hw, pool_kv)


def ink_attention_mass(maps: np.ndarray, images: np.ndarray, query_hw: tuple[int, int], pool_kv: bool,
                       ink_polarity: str = "bright", threshold: float = 0.0,
                       ink_query_fraction: float = 0.5) -> dict[str, float]:
  """How much attention ink and background queries put on ink, for maps `[B, N_q, N_k]` of images
  `[B, H, W(, 1)]`.

  Each key cell's ink fraction f_k (the ink mask averaged over the cell) weighs the attention: a query's
  ink mass is Σ_k a_qk f_k. Ink queries are query cells whose ink fraction is at least
  `ink_query_fraction`; background queries are cells with no ink at all (mixed cells count in neither).
  Returns `ink_to_ink` and `background_to_ink` (means over all such queries of the batch),
  `ink_fraction_of_keys` (mean f_k: the mass a uniform map would give, the baseline), and the counts
  `num_ink_queries`, `num_background_queries`, `num_mixed_queries`, `num_images`. A mean over no queries
  is NaN.
  """
  maps = np.asarray(maps, dtype=np.float64)
  mask = ink_mask(images, ink_polarity, threshold)
  batch = maps.shape[0]
  query_fraction = ink_fraction_on_grid(mask, query_hw, pool_kv=False).reshape(batch, -1)
  key_fraction = ink_fraction_on_grid(mask, query_hw, pool_kv).reshape(batch, -1)
  if maps.shape[1:] != (query_fraction.shape[1], key_fraction.shape[1]):
    raise ValueError(f"maps {maps.shape} do not fit query grid {query_hw} with pool_kv={pool_kv}")
  mass = np.einsum("bqk,bk->bq", maps, key_fraction)
  ink_queries = query_fraction >= ink_query_fraction
  background_queries = query_fraction == 0

  def mean(selection: np.ndarray) -> float:
    return float(mass[selection].mean()) if selection.any() else float("nan")

  return {
      "ink_to_ink": mean(ink_queries),
      "background_to_ink": mean(background_queries),
      "ink_fraction_of_keys": float(key_fraction.mean()),
      "num_ink_queries": int(ink_queries.sum()),
      "num_background_queries": int(background_queries.sum()),
      "num_mixed_queries": int((~ink_queries & ~background_queries).sum()),
      "num_images": int(batch),
  }


def column_slots(width: int, num_slots: int) -> np.ndarray:
  """Slot `[W]` of every pixel column when `num_slots` equal slots split a `width`-px image (a word of
  `num_slots` characters); a ValueError if they do not split it evenly."""
  if num_slots < 1 or width % num_slots:
    raise ValueError(f"{num_slots} character slots do not split an image {width} px wide evenly")
  return np.arange(width) // (width // num_slots)


def key_slot_fractions(image_hw: tuple[int, int], query_hw: tuple[int, int], pool_kv: bool,
                       num_slots: int) -> np.ndarray:
  """`[wk, S]`: the fraction of each key column's pixel columns that lie in each character slot (rows
  sum to 1); `pool_kv=False` gives the query grid's columns."""
  _, cols = pixel_to_cell(image_hw, query_hw, pool_kv)
  slots = column_slots(image_hw[1], num_slots)
  key_w = key_grid_shape(*query_hw, pool_kv)[1]
  counts = np.zeros((key_w, num_slots))
  np.add.at(counts, (cols, slots), 1.0)
  return counts / counts.sum(1, keepdims=True)


def query_column_slots(image_hw: tuple[int, int], query_hw: tuple[int, int], num_slots: int) -> np.ndarray:
  """`[w]`: the character slot of each query column, that of the cell's centre pixel column."""
  scale = image_hw[1] / query_hw[1]
  centres = np.minimum(((np.arange(query_hw[1]) + 0.5) * scale).astype(np.int64), image_hw[1] - 1)
  return column_slots(image_hw[1], num_slots)[centres]


def character_attention_shares(maps: np.ndarray, image_hw: tuple[int, int], query_hw: tuple[int, int],
                               pool_kv: bool, num_slots: int) -> dict[str, float]:
  """Where a word's queries attend by character, for maps `[B, N_q, N_k]` of images `image_hw` holding
  `num_slots` characters each.

  For every query: the attention on its own character's slot (`own`), on the slots of the characters
  beside it, ±1 (`neighbours`; one for the first and last character), and on the rest of the word
  (`rest`); the three sum to the map's total, 1. Each comes with its uniform baseline, the share of
  the keys those slots hold (what a map that ignored content would give). Returns the means over all
  queries of the batch, the baselines likewise, `num_characters` and `num_queries`.
  """
  maps = np.asarray(maps, dtype=np.float64)
  key_w = key_grid_shape(*query_hw, pool_kv)[1]
  if maps.shape[1] != query_hw[0] * query_hw[1] or maps.shape[2] % key_w:
    raise ValueError(f"maps {maps.shape} do not fit query grid {query_hw} with pool_kv={pool_kv}")
  key_fraction = key_slot_fractions(image_hw, query_hw, pool_kv, num_slots)[np.arange(maps.shape[2]) % key_w]
  query_slot = query_column_slots(image_hw, query_hw, num_slots)[np.arange(maps.shape[1]) % query_hw[1]]
  distance = np.abs(query_slot[:, None] - np.arange(num_slots)[None, :])        # [N_q, S]
  regions = {"own": distance == 0, "neighbours": distance == 1, "rest": distance > 1}
  slot_mass = np.einsum("bqk,ks->bqs", maps, key_fraction)                      # [B, N_q, S]
  uniform = key_fraction.mean(0)                                                # [S]
  result = {}
  for name, region in regions.items():
    result[name] = float((slot_mass * region[None]).sum(-1).mean())
    result[f"{name}_baseline"] = float((uniform[None, :] * region).sum(-1).mean())
  result.update(num_characters=int(num_slots), num_queries=int(maps.shape[0] * maps.shape[1]))
  return result


def mean_query_maps(maps: np.ndarray, images: np.ndarray, query_hw: tuple[int, int], pool_kv: bool,
                    ink_polarity: str = "bright", threshold: float = 0.0,
                    ink_query_fraction: float = 0.5) -> dict[str, np.ndarray]:
  """Per image, the mean attention map over its ink queries and over its background queries (classes as
  in `ink_attention_mass`), on the key grid: `{'ink': [B, hk, wk], 'background': [B, hk, wk]}`. An image
  without queries of a class gets zeros for it."""
  maps = np.asarray(maps, dtype=np.float64)
  mask = ink_mask(images, ink_polarity, threshold)
  query_fraction = ink_fraction_on_grid(mask, query_hw, pool_kv=False).reshape(maps.shape[0], -1)
  grid = key_grid_shape(*query_hw, pool_kv)
  result = {}
  for name, selection in (("ink", query_fraction >= ink_query_fraction),
                          ("background", query_fraction == 0)):
    weights = selection / np.maximum(selection.sum(1, keepdims=True), 1)
    result[name] = np.einsum("bq,bqk->bk", weights, maps).reshape(maps.shape[0], *grid)
  return result


def lift_to_grid(layer: AttentionLayerMaps, grid_hw: tuple[int, int]) -> np.ndarray:
  """A layer's maps as square row-stochastic matrices `[B, N_g, N_g]` on a common grid `grid_hw` at
  least as fine as the layer's query grid: grid cell g takes the row of the query above it, and each
  key's mass is shared equally among the grid cells that key pools (max-pooling does not say which of
  them won)."""
  maps = np.asarray(layer.maps, dtype=np.float64)
  query_rows, query_cols = pixel_to_cell(grid_hw, layer.query_hw, pool_kv=False)
  key_rows, key_cols = pixel_to_cell(grid_hw, layer.query_hw, layer.pool_kv)
  key_w = key_grid_shape(*layer.query_hw, layer.pool_kv)[1]
  grid_query = (query_rows[:, None] * layer.query_hw[1] + query_cols[None, :]).ravel()   # [N_g]
  grid_key = (key_rows[:, None] * key_w + key_cols[None, :]).ravel()                     # [N_g]
  cells_per_key = np.bincount(grid_key, minlength=maps.shape[2])
  lifted = maps[:, grid_query][:, :, grid_key]                      # [B, N_g, N_g]
  return lifted / cells_per_key[grid_key][None, None, :]


def attention_rollout(layers: Sequence[AttentionLayerMaps], grid_hw: tuple[int, int] | None = None,
                      residual_weight: float = 0.5) -> np.ndarray:
  """Attention rollout (Abnar & Zuidema 2020) over attention layers in forward order: each layer,
  lifted to a common grid by `lift_to_grid`, is mixed with the identity for its residual path,
  `residual_weight·I + (1 - residual_weight)·A`, and the mixtures are multiplied, later layers on the
  left. Row g of the
  result `[B, N_g, N_g]` says how much output location g draws on each input location through all
  layers; rows sum to 1. The grid defaults to the finest query grid among the layers. The default 0.5
  is rollout's; SAGAN's residual is `x + γ·o`, so a trained layer's real attention share also depends
  on γ and the size of o, which rollout ignores."""
  if not layers:
    raise ValueError("attention_rollout needs at least one layer")
  if grid_hw is None:
    grid_hw = max((layer.query_hw for layer in layers), key=lambda hw: hw[0] * hw[1])
  size = grid_hw[0] * grid_hw[1]
  identity = np.eye(size)[None]
  rollout = identity
  for layer in layers:
    mixed = residual_weight * identity + (1.0 - residual_weight) * lift_to_grid(layer, grid_hw)
    rollout = np.einsum("bij,bjk->bik", mixed, rollout)
  return rollout


def received_attention(rollout: np.ndarray, grid_hw: tuple[int, int]) -> np.ndarray:
  """The aggregate view of a rollout `[B, N_g, N_g]`: its mean row, i.e. how much each location is drawn
  on when every output location is weighed equally, as `[B, gh, gw]` summing to 1 per image."""
  return np.asarray(rollout).mean(1).reshape(-1, *grid_hw)
