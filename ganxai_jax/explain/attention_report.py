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

A generator plugs in as an `AttentionGenerator`: a function from `(seed, count)` to images and maps by
layer name, with the images' ink polarity and value range. `load_generator` builds it for the MNIST
runs of `training.trainer`; another run kind (ScrabbleGAN) needs one more loader there.
"""
from __future__ import annotations

import os
import re
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ganxai_jax.errors import UsageError
from ganxai_jax.explain import attention as attention_lib
from ganxai_jax.explain.measure import ink_mask
from ganxai_jax.models.attention import key_grid_shape
from ganxai_jax.viz import grids
from ganxai_jax.viz.attention import aggregate_attention_figure, query_attention_figure

# (seed, count) -> images [B, H, W, C] and the maps [B, N_queries, N_keys] of each attention layer.
GenerateWithMaps = Callable[[int, int], tuple[np.ndarray, dict[str, np.ndarray]]]


class AttentionGenerator(NamedTuple):
  """What the report needs of a trained generator: images with maps, how ink looks, each layer's γ."""
  generate: GenerateWithMaps
  ink_polarity: str
  value_range: tuple[float, float]
  gammas: dict[str, float]
  description: str


def _attention_gammas(params: Any) -> dict[str, float]:
  """γ of every attention layer in a parameter tree, by the layer's module name."""
  found = {}

  def visit(tree: Any) -> None:
    if isinstance(tree, dict):
      for name, child in tree.items():
        if isinstance(child, dict) and "gamma" in child and {"query", "key", "value"} <= set(child):
          found[name] = float(np.asarray(child["gamma"]))
        else:
          visit(child)

  visit(jax.device_get(params))
  return found


def _load_mnist(workdir: str) -> AttentionGenerator:
  """The generator of an MNIST run of `training.trainer` (EMA weights when the run kept them); class
  labels, when conditional, cycle through the classes so every digit appears."""
  from ganxai_jax.training import trainer  # pylint: disable=import-outside-toplevel
  from ganxai_jax.training.gan_step import generate  # pylint: disable=import-outside-toplevel
  config, components, state = trainer.restore_for_inference(workdir)
  g_net = state.nets["generator"]
  params = state.ema_params if state.ema_params is not None else g_net.params
  variables = g_net.variables(params)
  spec = components.latent_spec

  @jax.jit
  def _generate(variables, latent):
    images, aux = generate(components, variables, latent)
    return images, aux.get("attention", {})

  def generate_with_maps(seed: int, count: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    latent = spec.sample(jax.random.key(seed), count)
    if spec.num_classes:
      latent["labels"] = jnp.arange(count) % spec.num_classes
    images, maps = jax.device_get(_generate(variables, latent))
    return np.asarray(images), {name: np.asarray(m) for name, m in maps.items()}

  return AttentionGenerator(generate=generate_with_maps, ink_polarity="bright", value_range=(-1.0, 1.0),
                            gammas=_attention_gammas(params),
                            description=f"{config.model} (G attention at {list(config.g_attention)})")


def load_generator(workdir: str) -> AttentionGenerator:
  """The `AttentionGenerator` of the training run in `workdir`; a one-line UsageError for a run kind
  without a loader."""
  from ganxai_jax.training import trainer  # pylint: disable=import-outside-toplevel
  model = trainer.load_run_config(workdir).get("model")
  if model in trainer.MODELS:
    return _load_mnist(workdir)
  raise UsageError(f"the attention explanation has no loader for model={model!r} runs yet; "
                   f"it explains the MNIST models {trainer.MODELS}.")


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


def _generate_in_batches(source: AttentionGenerator, seed: int, count: int, batch_size: int
                         ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
  images, maps = [], {}
  for start in range(0, count, batch_size):
    batch_images, batch_maps = source.generate(seed + start, min(batch_size, count - start))
    images.append(batch_images)
    for name, value in batch_maps.items():
      maps.setdefault(name, []).append(value)
  return np.concatenate(images), {name: np.concatenate(value) for name, value in maps.items()}


def attention_scores(source: AttentionGenerator, cfg: ml_collections.ConfigDict, seed: int
                     ) -> dict[str, dict[str, Any]]:
  """Per layer: ink mass of ink and background queries, the uniform baseline, query entropies and γ,
  over `cfg.num_score_images` images."""
  images, maps = _generate_in_batches(source, seed, cfg.num_score_images, cfg.batch_size)
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
        "gamma": source.gammas.get(name, float("nan")),
        "query_grid": list(query_hw),
        "pooled_keys": pool_kv,
    }
  return scores


def attention_figures(source: AttentionGenerator, cfg: ml_collections.ConfigDict, seed: int
                      ) -> dict[str, Any]:
  """The per-query figures of `cfg.num_images` images for every layer, and the aggregate figure."""
  images, maps = source.generate(seed, cfg.num_images)
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
          image, points, is_ink, per_query, value_range=source.value_range,
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
      images, views, value_range=source.value_range,
      title=f"aggregate attention per image ({len(layers)} layer(s))")
  return figures


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Writes the figures of the module docstring to `workdir/figures/` and returns the scores."""
  source = load_generator(config.generator_workdir)
  cfg = config.attention
  _, probe = source.generate(config.seed, 1)
  if not probe:
    raise UsageError(f"the generator of {config.generator_workdir!r} ({source.description}) has no "
                     "self-attention layers; train one with attention, e.g. configs/mnist.py:sagan.")
  figures = attention_figures(source, cfg, config.seed)
  if jax.process_index() == 0:
    folder = os.path.join(workdir, "figures")
    os.makedirs(folder, exist_ok=True)
    for name, figure in figures.items():
      grids.save(figure, os.path.join(folder, f"{name}.png"))
  # Score images come from another seed than the figures', so the numbers are not read off them.
  layers = attention_scores(source, cfg, config.seed + 1)
  return {"generator": source.description, "num_score_images": int(cfg.num_score_images),
          "layers": layers, "figures": sorted(f"{name}.png" for name in figures)}
