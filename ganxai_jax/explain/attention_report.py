"""The attention explanation of a trained generator: per-query figures, aggregate views and ink mass.

`run(config, workdir)` restores the generator of `config.generator_workdir`, generates images together
with the maps of every self-attention layer (under jit), and writes to `workdir/figures/`:
* `queries_<layer>_<i>.png` (the report's figure): image i with K query locations, half on ink and half
  on background, and each query's map upsampled to the image and overlaid on it;
* `aggregate.png`: per image, the mean map over its ink queries and over its background queries for
  each layer, and the attention rollout over all layers (how much each location is drawn on).
It returns, per layer, the mean attention mass that ink queries and background queries put on ink over
`config.attention.num_score_images` images, the uniform baseline (the ink fraction of the keys, what a
map that ignored content would give), for both kinds of query the mean normalised entropy of their
maps (1 = uniform) and their spread (0 = every query of that kind in an image has the same map: the
maps say nothing about where the query is; two readings of "silent"), and the layer's γ (its output is `x + γ·attention`; a small |γ| means that whatever
the maps show contributes little).

The generator comes through the one interface (`generators.interface.TrainedGenerator`): images and
the maps of its self-attention layers from the model's own `(images, aux)` output, and each layer's γ.
Conditional generators cycle their labels through the classes so that every digit appears; word
generators write lexicon words of one length.
"""
from __future__ import annotations

import os
import re
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ganxai_jax.errors import UsageError
from ganxai_jax.evaluation.measure import ink_mask
from ganxai_jax.explain import attention as attention_lib
from ganxai_jax.generators.interface import TrainedGenerator
from ganxai_jax.models.attention import key_grid_shape
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.viz.attention import aggregate_attention_figure, query_attention_figure

VALUE_RANGE = (-1.0, 1.0)  # Every generator of the project draws in [-1, 1].


def images_and_maps(generator: TrainedGenerator, seed: int, count: int
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
  """`count` images of seed `seed` and the maps `[B, N_q, N_k]` of every attention layer, by name."""
  latent, condition = generator.sample(jax.random.key(seed), count)
  if generator.num_classes:
    condition = dict(condition, labels=jnp.arange(count) % generator.num_classes)
  return generator.render_with_maps(latent, condition)


def layer_geometry(maps: np.ndarray, image_hw: tuple[int, int]) -> tuple[tuple[int, int], bool]:
  """The query grid `(h, w)` and pooling flag of a layer from its maps `[B, N_q, N_k]` and the image
  size: the query grid has the image's aspect ratio (every generator here upsamples by a common factor
  in both directions), and keys are pooled when there are fewer keys than queries."""
  num_queries, num_keys = maps.shape[1:]
  scale = np.sqrt(image_hw[0] * image_hw[1] / num_queries)
  query_hw = (int(round(image_hw[0] / scale)), int(round(image_hw[1] / scale)))
  if query_hw[0] * query_hw[1] != num_queries:
    raise ValueError(f"{num_queries} queries do not form a grid with the aspect of a {image_hw} image")
  pool_kv = num_keys != num_queries
  if int(np.prod(key_grid_shape(*query_hw, pool_kv))) != num_keys:
    raise ValueError(f"{num_keys} keys fit neither pooled nor unpooled keys of a {query_hw} query grid")
  return query_hw, pool_kv


def _layer_order(name: str) -> tuple[int, str]:
  # Forward order for rollout: coarser layers (smaller number in the name) come first in a generator.
  digits = re.findall(r"\d+", name)
  return (int(digits[-1]) if digits else 0, name)


def query_statistics(maps: np.ndarray, images: np.ndarray, query_hw: tuple[int, int], threshold: float,
                     ink_polarity: str, ink_query_fraction: float) -> dict[str, float]:
  """How ink and background queries (classes as in `explain.attention.ink_attention_mass`) attend, for
  maps `[B, N_q, N_k]`: `<kind>_query_entropy`, the mean entropy of their maps divided by log(N_keys)
  (1 for a uniform map), and `<kind>_query_spread`, the mean total-variation distance of each query's
  map from the mean map of its kind in its image (0: every such query attends alike, whatever its
  position, i.e. the maps say nothing about the query). NaN for a kind without queries."""
  mask = ink_mask(images, ink_polarity, threshold)
  fraction = attention_lib.ink_fraction_on_grid(mask, query_hw, pool_kv=False).reshape(len(maps), -1)
  probabilities = np.asarray(maps, dtype=np.float64)
  entropy = -np.sum(probabilities * np.log(np.maximum(probabilities, 1e-12)), -1) / np.log(maps.shape[-1])
  result = {}
  for name, selection in (("ink", fraction >= ink_query_fraction), ("background", fraction == 0)):
    if not selection.any():
      result[f"{name}_query_entropy"] = result[f"{name}_query_spread"] = float("nan")
      continue
    weights = selection / np.maximum(selection.sum(1, keepdims=True), 1)
    mean_map = np.einsum("bq,bqk->bk", weights, probabilities)
    distance = 0.5 * np.abs(probabilities - mean_map[:, None]).sum(-1)
    result[f"{name}_query_entropy"] = float(entropy[selection].mean())
    result[f"{name}_query_spread"] = float(distance[selection].mean())
  return result


def _generate_in_batches(source: TrainedGenerator, seed: int, count: int, batch_size: int
                         ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
  images, maps = [], {}
  for start in range(0, count, batch_size):
    batch_images, batch_maps = images_and_maps(source, seed + start, min(batch_size, count - start))
    images.append(batch_images)
    for name, value in batch_maps.items():
      maps.setdefault(name, []).append(value)
  return np.concatenate(images), {name: np.concatenate(value) for name, value in maps.items()}


def attention_scores(source: TrainedGenerator, cfg: ml_collections.ConfigDict, seed: int
                     ) -> dict[str, dict[str, Any]]:
  """Per layer: ink mass of ink and background queries, the uniform baseline, query entropies and γ,
  over `cfg.num_score_images` images."""
  images, maps = _generate_in_batches(source, seed, cfg.num_score_images, cfg.batch_size)
  gammas = source.attention_gammas()
  scores = {}
  for name in sorted(maps, key=_layer_order):
    query_hw, pool_kv = layer_geometry(maps[name], images.shape[1:3])
    mass = attention_lib.ink_attention_mass(maps[name], images, query_hw, pool_kv, source.ink_polarity,
                                            cfg.ink_threshold, cfg.ink_query_fraction)
    scores[name] = {
        **mass,
        "uniform_baseline": mass["ink_fraction_of_keys"],
        **query_statistics(maps[name], images, query_hw, cfg.ink_threshold, source.ink_polarity,
                           cfg.ink_query_fraction),
        "gamma": gammas.get(name, float("nan")),
        "query_grid": list(query_hw),
        "pooled_keys": pool_kv,
    }
  return scores


def attention_figures(source: TrainedGenerator, cfg: ml_collections.ConfigDict, seed: int
                      ) -> dict[str, Any]:
  """The per-query figures of `cfg.num_images` images for every layer, and the aggregate figure."""
  images, maps = images_and_maps(source, seed, cfg.num_images)
  images = images[..., 0]  # [B, H, W]
  image_hw = images.shape[1:3]
  layers = {name: attention_lib.AttentionLayerMaps(maps[name], *layer_geometry(maps[name], image_hw))
            for name in sorted(maps, key=_layer_order)}
  figures = {}
  views = {}
  for name, layer in layers.items():
    for index, image in enumerate(images):
      points, is_ink = attention_lib.select_queries(
          image, cfg.num_queries, layer.query_hw, ink_polarity=source.ink_polarity,
          threshold=cfg.ink_threshold, ink_query_fraction=cfg.ink_query_fraction, seed=seed + index)
      per_query = attention_lib.query_maps(layer.maps[index], points, image_hw, layer.query_hw, layer.pool_kv)
      figures[f"queries_{name}_{index}"] = query_attention_figure(
          image, points, is_ink, per_query, value_range=VALUE_RANGE,
          title=f"{name}: each query's attention over the keys (○ ink, □ background)")
    means = attention_lib.mean_query_maps(layer.maps, images, layer.query_hw, layer.pool_kv,
                                          source.ink_polarity, cfg.ink_threshold, cfg.ink_query_fraction)
    for kind in ("ink", "background"):
      views[f"{name}\nmean of {kind} queries"] = attention_lib.upsample_to_image(
          means[kind], image_hw, layer.query_hw, layer.pool_kv)
  rollout = attention_lib.attention_rollout(list(layers.values()),
                                            residual_weight=cfg.rollout_residual_weight)
  grid_hw = max((layer.query_hw for layer in layers.values()), key=lambda hw: hw[0] * hw[1])
  views["rollout\nattention received"] = attention_lib.upsample_to_image(
      attention_lib.received_attention(rollout, grid_hw), image_hw, grid_hw, pool_kv=False)
  figures["aggregate"] = aggregate_attention_figure(
      images, views, value_range=VALUE_RANGE,
      title=f"aggregate attention per image ({len(layers)} layer(s))")
  return figures


def run(config: ml_collections.ConfigDict, workdir: str, generator: TrainedGenerator) -> dict[str, Any]:
  """Writes the figures of the module docstring to `workdir/figures/` and returns the scores of
  `generator` (that of `config.generator_workdir`)."""
  cfg = config.attention
  _, probe = images_and_maps(generator, config.seed, 1)
  if not probe:
    raise UsageError(f"the generator of {config.generator_workdir!r} ({generator.name}) has no self-attention "
                     "layers; train one with attention, e.g. configs/mnist.py:sagan.")
  figures = attention_figures(generator, cfg, config.seed)
  names = workdir_lib.write_figures(workdir, figures)
  # Score images come from another seed than the figures', so the numbers are not read off them.
  layers = attention_scores(generator, cfg, config.seed + 1)
  return {"generator": f"{generator.name} (attention layers {sorted(probe)})",
          "num_score_images": int(cfg.num_score_images), "layers": layers, "figures": sorted(names)}
