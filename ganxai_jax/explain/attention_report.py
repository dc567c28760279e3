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
generators write lexicon words of one length. Each layer's query grid is the shape of the layer's
input, read once when the model is traced (`attention_query_grids`): a word's grids are not the
image's aspect (ScrabbleGAN's blocks upsample 2×2, 2×2, then 2×1).

Words (ScrabbleGAN, `configs/scrabble.py:cpu,attention`) get more: figures label every panel's columns
with the word's characters, and each layer's scores have `character_shares` (see
`explain.attention.character_attention_shares`): how much of a query's attention lands on its own
character's 16-px slot, on the neighbouring characters' slots and on the rest of the word, each beside
its uniform baseline.
"""
from __future__ import annotations

import re
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ganxai_jax.errors import UsageError
from ganxai_jax.evaluation.measure import ink_mask
from ganxai_jax.explain import attention as attention_lib
from ganxai_jax.generators import words as word_generators
from ganxai_jax.generators.interface import Condition, TrainedGenerator
from ganxai_jax.models import scrabblegan
from ganxai_jax.models.attention import SelfAttention, key_grid_shape
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.viz.attention import aggregate_attention_figure, query_attention_figure

VALUE_RANGE = (-1.0, 1.0)  # Every generator of the project draws in [-1, 1].


def sample_inputs(generator: TrainedGenerator, seed: int, count: int) -> tuple[jax.Array, Condition]:
  """`count` latents and conditions of seed `seed`; class labels cycle through the classes."""
  latent, condition = generator.sample(jax.random.key(seed), count)
  if generator.num_classes:
    condition = dict(condition, labels=jnp.arange(count) % generator.num_classes)
  return latent, condition


def images_and_maps(generator: TrainedGenerator, seed: int, count: int
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
  """`count` images of seed `seed` and the maps `[B, N_q, N_k]` of every attention layer, by name."""
  return generator.render_with_maps(*sample_inputs(generator, seed, count))


def attention_query_grids(generator: TrainedGenerator, latent: jax.Array, condition: Condition
                          ) -> dict[str, tuple[int, int]]:
  """The query grid `(h, w)` of every self-attention layer, by name: the spatial shape of the layer's
  input, recorded while the model is traced (no compilation, no parameter names). Empty for a
  generator without a flax model behind `aux_fn`."""
  grids = {}

  def record(next_fun, args, kwargs, context):
    if isinstance(context.module, SelfAttention) and context.method_name == "__call__":
      grids[context.module.name] = tuple(int(n) for n in args[0].shape[1:3])
    return next_fun(*args, **kwargs)

  if generator.aux_fn is not None:
    with nn.intercept_methods(record):
      # A new function each time: JAX caches traces by function, and a cached trace records nothing.
      jax.eval_shape(lambda *args: generator.aux_fn(*args), generator.variables, jnp.asarray(latent),
                     {k: jnp.asarray(v) for k, v in condition.items()})
  return grids


def layer_geometry(maps: np.ndarray, image_hw: tuple[int, int], query_hw: tuple[int, int] | None = None
                   ) -> tuple[tuple[int, int], bool]:
  """The query grid `(h, w)` and pooling flag of a layer from its maps `[B, N_q, N_k]` and the image
  size. `query_hw`, when known (`attention_query_grids`), is checked against the maps; otherwise the
  query grid is taken to have the image's aspect ratio (true of the MNIST generators, which upsample
  by a common factor in both directions). Keys are pooled when there are fewer keys than queries."""
  num_queries, num_keys = maps.shape[1:]
  if query_hw is None:
    scale = np.sqrt(image_hw[0] * image_hw[1] / num_queries)
    query_hw = (int(round(image_hw[0] / scale)), int(round(image_hw[1] / scale)))
  if query_hw[0] * query_hw[1] != num_queries:
    raise ValueError(f"{num_queries} queries do not form a {query_hw} grid over a {image_hw} image")
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


def word_character_shares(maps: np.ndarray, image_hw: tuple[int, int], query_hw: tuple[int, int],
                          pool_kv: bool, word_length: int) -> dict[str, Any]:
  """`explain.attention.character_attention_shares` of a word generator's maps, after checking that
  the image is 16 px per character (the slots of `models.scrabblegan`'s filter bank)."""
  if image_hw[1] != scrabblegan.WIDTH_PER_CHAR * word_length:
    raise ValueError(f"a {word_length}-character word came out {image_hw[1]} px wide, not "
                     f"{scrabblegan.WIDTH_PER_CHAR} px per character")
  shares = attention_lib.character_attention_shares(maps, image_hw, query_hw, pool_kv, word_length)
  return {**shares, "slot_width_px": scrabblegan.WIDTH_PER_CHAR}


def attention_scores(source: TrainedGenerator, cfg: ml_collections.ConfigDict, seed: int,
                     grids: dict[str, tuple[int, int]]) -> dict[str, dict[str, Any]]:
  """Per layer: ink mass of ink and background queries, the uniform baseline, query entropies and γ,
  over `cfg.num_score_images` images, and for words the per-character shares. `grids` gives the
  layers' query grids (`attention_query_grids`)."""
  images, maps = _generate_in_batches(source, seed, cfg.num_score_images, cfg.batch_size)
  gammas = source.attention_gammas()
  scores = {}
  for name in sorted(maps, key=_layer_order):
    query_hw, pool_kv = layer_geometry(maps[name], images.shape[1:3], grids.get(name))
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
    if source.kind == "words":
      scores[name]["character_shares"] = word_character_shares(maps[name], images.shape[1:3], query_hw,
                                                               pool_kv, source.word_length)
  return scores


def attention_figures(source: TrainedGenerator, cfg: ml_collections.ConfigDict, seed: int,
                      grids: dict[str, tuple[int, int]]) -> dict[str, Any]:
  """The per-query figures of `cfg.num_images` images for every layer, and the aggregate figure; a
  word's panels have its characters under their slots."""
  latent, condition = sample_inputs(source, seed, cfg.num_images)
  images, maps = source.render_with_maps(latent, condition)
  texts = word_generators.condition_texts(condition, source) if source.kind == "words" else [None] * len(images)
  images = images[..., 0]  # [B, H, W]
  image_hw = images.shape[1:3]
  layers = {name: attention_lib.AttentionLayerMaps(maps[name],
                                                   *layer_geometry(maps[name], image_hw, grids.get(name)))
            for name in sorted(maps, key=_layer_order)}
  figures = {}
  views = {}
  for name, layer in layers.items():
    for index, image in enumerate(images):
      points, is_ink = attention_lib.select_queries(
          image, cfg.num_queries, layer.query_hw, ink_polarity=source.ink_polarity,
          threshold=cfg.ink_threshold, ink_query_fraction=cfg.ink_query_fraction, seed=seed + index)
      per_query = attention_lib.query_maps(layer.maps[index], points, image_hw, layer.query_hw, layer.pool_kv)
      word = f" of {texts[index]!r}" if texts[index] else ""
      figures[f"queries_{name}_{index}"] = query_attention_figure(
          image, points, is_ink, per_query, value_range=VALUE_RANGE, text=texts[index],
          title=f"{name}: each query's attention over the keys{word} (○ ink, □ background)")
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
      images, views, value_range=VALUE_RANGE, texts=texts if source.kind == "words" else None,
      title=f"aggregate attention per image ({len(layers)} layer(s))")
  return figures


def run(config: ml_collections.ConfigDict, workdir: str, generator: TrainedGenerator) -> dict[str, Any]:
  """Writes the figures of the module docstring to `workdir/figures/` and returns the scores of
  `generator` (that of `config.generator_workdir`)."""
  cfg = config.attention
  latent, condition = sample_inputs(generator, config.seed, 1)
  _, probe = generator.render_with_maps(latent, condition)
  if not probe:
    example = "configs/scrabble.py:cpu,attention" if generator.kind == "words" else "configs/mnist.py:sagan"
    raise UsageError(f"the generator of {config.generator_workdir!r} ({generator.name}) has no self-attention "
                     f"layers; train one with attention, e.g. --config={example}.")
  grids = attention_query_grids(generator, latent, condition)
  figures = attention_figures(generator, cfg, config.seed, grids)
  names = workdir_lib.write_figures(workdir, figures)
  # Score images come from another seed than the figures', so the numbers are not read off them.
  layers = attention_scores(generator, cfg, config.seed + 1, grids)
  result = {"generator": f"{generator.name} (attention layers {sorted(probe)})",
            "num_score_images": int(cfg.num_score_images), "layers": layers, "figures": sorted(names)}
  if generator.kind == "words":
    result["word_length"] = int(generator.word_length)
  return result
