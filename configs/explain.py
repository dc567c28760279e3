"""Explanations of a trained generator: `attention`, `directions`, `ganspace`, `sefa`.

The argument after `:` is a comma-separated list: the method first, then options (`tiny` for tests).
  python -m experiments.explain --config=configs/explain.py:attention --config.generator_workdir=runs/sagan --workdir=runs/sagan_attention
  python -m experiments.explain --config=configs/explain.py:directions --config.generator_workdir=runs/gan --workdir=runs/gan_directions
Each method writes `WORKDIR/explain.json` (numbers) and `WORKDIR/figures/*.png`.
"""
from __future__ import annotations

import ml_collections

METHODS = ("attention", "directions", "ganspace", "sefa")
OPTIONS = ("tiny",)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  parts = [p.strip() for p in (arg or "directions").split(",") if p.strip()]
  method, options = parts[0], set(parts[1:])
  if method not in METHODS:
    raise ValueError(f"explain method {method!r} is not one of {METHODS}.")
  if options - set(OPTIONS):
    raise ValueError(f"explain options {sorted(options - set(OPTIONS))} are not among {OPTIONS}.")
  tiny = "tiny" in options
  config = ml_collections.ConfigDict()
  config.method = method
  config.generator_workdir = ""  # The training run to explain (holds config.json and checkpoints/).
  config.seed = 0
  config.tiny = tiny

  # Self-attention maps (SAGAN-style layers of the MNIST and ScrabbleGAN generators).
  config.attention = ml_collections.ConfigDict()
  config.attention.num_images = 2 if tiny else 8
  config.attention.num_queries = 4 if tiny else 6
  config.attention.num_score_images = 8 if tiny else 256

  # Learned latent directions (Voynov & Babenko 2020): direction matrix and reconstructor.
  config.directions = ml_collections.ConfigDict()

  # Closed-form directions.
  config.ganspace = ml_collections.ConfigDict()
  config.sefa = ml_collections.ConfigDict()
  return config
