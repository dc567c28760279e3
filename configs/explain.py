"""Explanations of a trained generator: `attention`, `directions`, `ganspace`, `sefa`, `influence`.

The argument after `:` is a comma-separated list: the method first, then options (`tiny` for tests).
  python -m experiments.explain --config=configs/explain.py:attention --config.generator_workdir=runs/sagan --workdir=runs/sagan_attention
  python -m experiments.explain --config=configs/explain.py:attention --config.generator_workdir=runs/words_attention --workdir=runs/words_attention_explained
  python -m experiments.explain --config=configs/explain.py:influence --config.generator_workdir=runs/words --workdir=runs/words_influence
  python -m experiments.explain --config=configs/explain.py:directions --config.generator_workdir=runs/gan --workdir=runs/gan_directions
Each method writes `WORKDIR/explain.json` (numbers) and `WORKDIR/figures/*.png`. `attention` takes a
run with self-attention in G (configs/mnist.py:sagan, configs/scrabble.py:cpu,attention); `influence`
any ScrabbleGAN run.
"""
from __future__ import annotations

import ml_collections

from configs import parse_variant

METHODS = ("attention", "directions", "ganspace", "sefa", "influence")
OPTIONS = ("tiny",)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  method, options = parse_variant(arg, "configs/explain.py", METHODS, OPTIONS, default="directions")
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
  config.attention.batch_size = 64  # Images generated per jitted call while scoring.
  # Ink: pixels above this value for bright ink (MNIST in [-1, 1]), below it for dark ink (handwriting).
  config.attention.ink_threshold = 0.0
  # A query cell counts as ink at this ink fraction; cells without ink are background, others neither.
  config.attention.ink_query_fraction = 0.5
  config.attention.rollout_residual_weight = 0.5  # Rollout's identity share for the residual path.

  # How far each character of a word reaches in ScrabbleGAN's image (explain/influence.py): squared
  # gradients of every pixel with respect to each character's filter-bank patch, for the trained G and a
  # freshly initialised one on the same words.
  config.influence = ml_collections.ConfigDict()
  # Lexicon words measured, each by one backward pass per pixel (a 6-character word of the cpu model:
  # 3072 passes, tens of seconds on 2 cores).
  config.influence.num_words = 2 if tiny else 8
  config.influence.num_figure_words = 1 if tiny else 4  # Words with a figure each.
  # Characters per word; 0: the generator's default (6). tiny: 3, a quarter of the passes of 6.
  config.influence.word_length = 3 if tiny else 0
  config.influence.mass_fraction = 0.9  # width_px: the narrowest run of columns holding this share.
  # Pixels whose backward passes run together (vmapped); memory grows with it.
  config.influence.pixels_per_call = 64

  # Learned latent directions (Voynov & Babenko 2020): direction matrix and reconstructor, trained
  # side by side with the fixed baselines; resumes from WORKDIR/checkpoints.
  config.directions = ml_collections.ConfigDict()
  config.directions.kind = "orthonormal"  # 'linear' (unit-norm columns) or 'orthonormal' (exp of skew).
  config.directions.baselines = ("random", "coordinate")  # Fixed matrices; only their R trains.
  config.directions.num_directions = 4 if tiny else 0  # 0: min(latent_dim, 64).
  config.directions.batch_size = 4 if tiny else 32
  config.directions.num_steps = 3 if tiny else 10_000
  # Steps per compiled call (a jax.lax.scan; the result is the same). 1 on a CPU: XLA:CPU compiles the
  # convolutions of a loop body without its fast kernels, and 4 steps per call ran 5x slower per step
  # (benchmarks/directions_step.py). On an accelerator, where a step is short, more save dispatches.
  config.directions.steps_per_call = 1
  config.directions.max_minutes = 0.0  # Stop (checkpoint, evaluate) after this much wall time; 0: none.
  config.directions.learning_rate = 1e-4  # Adam, for the direction matrix and the reconstructor.
  config.directions.shift_scale = 6.0  # ε = shift_scale·U[-1, 1] ...
  config.directions.min_shift = 0.5  # ... with |ε| at least this.
  config.directions.shift_weight = 0.25  # Weight of the shift's L1 loss beside the cross-entropy.
  config.directions.reconstructor_channels = (4, 8) if tiny else ()  # (): the model's default.
  config.directions.log_every_steps = 1 if tiny else 100
  config.directions.checkpoint_every_steps = 2 if tiny else 1000
  config.directions.eval_samples = 8 if tiny else 4096  # Fresh samples for RCA.
  config.directions.traversal_radius = 12.0  # Figures: t in [-r, r], about 2x the shift range.
  config.directions.naming_radius = 6.0  # Naming and ground truth: t in [-r, r] (the shift range).
  # Closed-form methods scored beside the learned directions in the ground-truth table.
  config.directions.compare_closed_form = True

  # Closed-form directions. GANSpace: PCA of early-layer activations, edits in component stds.
  config.ganspace = ml_collections.ConfigDict()
  config.ganspace.num_directions = 4 if tiny else 20
  config.ganspace.num_samples = 32 if tiny else 4096
  config.ganspace.traversal_radius = 4.0
  config.ganspace.naming_radius = 2.0
  # SeFa: top eigenvectors of WᵀW of the layer(s) acting on z; unit directions.
  config.sefa = ml_collections.ConfigDict()
  config.sefa.num_directions = 4 if tiny else 20
  config.sefa.traversal_radius = 12.0
  config.sefa.naming_radius = 6.0

  # Shared by directions, ganspace and sefa: figures, naming and the ground-truth score.
  for section in (config.directions, config.ganspace, config.sefa):
    section.num_traversal_steps = 5 if tiny else 9  # Columns of a traversal figure.
    section.num_figure_directions = 4 if tiny else 16  # Rows of the overview figure.
    section.num_seed_figures = 2 if tiny else 4  # Directions that get a per-seed figure each.
    section.num_figure_seeds = 2 if tiny else 4
    section.num_named_directions = 4 if tiny else 64  # Directions measured, named and scored.
    section.naming_seeds = 3 if tiny else 8
    section.naming_steps = 5 if tiny else 7
    section.spread_samples = 32 if tiny else 512  # Samples for each attribute's population spread.
    section.min_effect = 0.5  # In population stds at the naming radius; below: "unclear".
    section.min_consistency = 0.75  # Share of seeds whose slope agrees in sign.
    section.word = "Shalom"  # ScrabbleGAN: the word of the figures; sampled words have its length.
    section.calibration_images = 64 if tiny else 1500  # Rendered words calibrating the ground truth.
    # Samples moved along all named directions at once for MIG, SAP and DCI against the true factors.
    section.disentanglement_samples = 64 if tiny else 1000
    # The learned factor reader (explain/factor_reader.py) that reads the true factors from generated
    # words: rendered training words (0: read them by the calibrated hand measurements instead), words
    # of held-out writers for its R², and Adam steps.
    section.factor_reader_words = 64 if tiny else 6000
    section.factor_reader_test_words = 32 if tiny else 1000
    section.factor_reader_steps = 5 if tiny else 1500
    # Conditional generators (ScrabbleGAN, CGAN): seeds on which each named direction's move is checked
    # to keep the content (explain/content.py: the words' CER or the digit asked); 0: not checked.
    section.content_samples = 4 if tiny else 64
  return config
