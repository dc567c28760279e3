"""MNIST GANs: `gan`, `cgan`, `sagan` (CGAN with self-attention in G and D), `infogan`, `cgan_info`.

`cgan_info` is the CGAN (its networks; the digit label given to G and D) with InfoGAN's codes added: a
10-valued categorical and 2 continuous codes in G's input, and a Q head on D's trunk that predicts them
from the image alone. With the digit given, the codes can only carry style ("style classes"); its
evaluation (`evaluation/style_codes.py`) says which style measurements each code value changes, and
whether Q's classes of real test digits follow the digits (NMI, purity, beside a random baseline):
  python -m experiments.train --config=configs/mnist.py:cgan_info --workdir=runs/cgan_info
Its runs record `model='cgan'` (it trains, loads and explains as a CGAN); the codes are in
`num_categorical` / `num_continuous`.

The argument after `:` is a comma-separated list: the variant first, then options.
  python -m experiments.train --config=configs/mnist.py:cgan --workdir=runs/cgan
  python -m experiments.train --config=configs/mnist.py:cgan,tiny --workdir=runs/cgan_tiny
Options: `tiny` (a test-sized model and run). Any key can be overridden: `--config.num_train_steps=100`.
Full MNIST: `--config.dataset=mnist_idx --config.manual_dir=FOLDER_WITH_THE_FOUR_IDX_FILES`.
"""
from __future__ import annotations

import os

import ml_collections

from configs import parse_variant

VARIANTS = ("gan", "cgan", "sagan", "infogan", "cgan_info")
OPTIONS = ("tiny",)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  variant, options = parse_variant(arg, "configs/mnist.py", VARIANTS, OPTIONS, default="cgan")
  config = ml_collections.ConfigDict()
  # `cgan_info` is a CGAN with InfoGAN's codes, one more option of the same model.
  style_codes = variant == "cgan_info"
  if style_codes:
    variant = "cgan"
  config.model = variant
  config.seed = 0
  # Train seeds seed, seed + 1, ..., seed + num_seeds - 1 as one vmapped program; each gets a plain run
  # folder WORKDIR/seed_K (ganxai_jax/training/seeds.py).
  config.num_seeds = 1

  # Data: the embedded 5,000 real digits by default; full MNIST from the user's IDX folder.
  config.dataset = "mnist_embedded"
  config.data_dir = os.environ.get("GANXAI_DATA_DIR", "")  # '' means ~/tensorflow_datasets
  config.manual_dir = ""

  # Model.
  config.latent_dim = 64
  # InfoGAN's reference code draws its noise from U[-1, 1]; N(0, 1) gives the one-hot code a third of
  # the relative energy in G's input (seed 0: categorical accuracy 0.85 with N(0, 1)). cgan_info keeps
  # the CGAN's N(0, 1): at 5,000 steps U[-1, 1] doubled its FID (150.8 against 76.9) for the same
  # style capture (Q reads generated codes at 0.997 and 0.999).
  config.noise = "uniform" if variant == "infogan" else "normal"
  config.num_classes = 10 if variant in ("cgan", "sagan") else 0
  # cgan_info: ten values, as InfoGAN's, so that its NMI and purity against the ten digits compare with
  # InfoGAN's categorical code on the same footing; with the digit given, any value count is allowed.
  config.num_categorical = 10 if variant == "infogan" or style_codes else 0
  config.num_continuous = 2 if variant == "infogan" or style_codes else 0
  # 32 channels: 4x faster than 64 on a 2-core CPU (XLA:CPU's conv weight gradients are slow).
  config.g_channels = 32
  config.d_channels = 32
  config.g_spectral_norm = False
  # Spectral norm in D and the hinge loss: without them the CGAN ignores z on the embedded 4,500 digits
  # (every row of the style/content grid identical); with them rows differ and labels are followed.
  infogan_networks = variant in ("gan", "infogan")
  config.d_spectral_norm = not infogan_networks
  # Spectral norm of the class embedding of D's projection term (as in Miyato & Koyama 2018). Off: on the
  # CGAN at 5,000 steps it gave label accuracy 0.962 and FID 73.6 (real vs real 53.9), no better than
  # without it (0.97).
  config.d_projection_spectral_norm = False
  # InfoGAN's paper networks: an FC 1024 layer in G and D, BN in D (see ganxai_jax/models/dcgan.py).
  # The unconditional GAN uses them too (InfoGAN without Q): with the CGAN's small SN critic it drew
  # malformed digits in uneven shares (FID 281-361, digit shares 0.05-0.18 at 5,000 steps), where these
  # networks spread the ten digits evenly (shares 0.07-0.13 at 1,200 steps).
  config.g_hidden_dim = 1024 if infogan_networks else 0
  config.d_hidden_dim = 1024 if infogan_networks else 0
  config.d_batch_norm = infogan_networks
  config.g_attention = (14,) if variant == "sagan" else ()
  config.d_attention = (14,) if variant == "sagan" else ()

  # Training.
  config.loss = "non_saturating" if infogan_networks else "hinge"
  config.batch_size = 64
  config.num_train_steps = 5000
  config.g_lr = 2e-4
  config.d_lr = 2e-4
  config.beta1 = 0.5
  config.beta2 = 0.999
  config.info_weight = 1.0  # InfoGAN's λ for the categorical code ...
  config.info_continuous_weight = 1.0  # ... and for the continuous codes (the paper's MNIST code: 1).
  config.ema_decay = 0.0
  if variant == "sagan":  # SAGAN's two time-scale update rule and Adam β1 = 0.
    config.g_lr, config.d_lr, config.beta1 = 1e-4, 4e-4, 0.0
  # The InfoGAN paper's settings and layers (FC 1024 in G and D, BN in D, real and fake in separate BN
  # batches, noise U[-1, 1]), at half its convolution widths: 32/64 channels where the reference has
  # 64/128, a quarter of the convolution FLOPs on the 2-core CPU the project is tested on;
  # `--config.g_channels=64 --config.d_channels=64` gives the reference widths. With N(0, 1) noise seed 0
  # reached a Hungarian-matched categorical accuracy of 0.85 on the held-out embedded digits (7 and 9
  # shared codes); the earlier D without these layers merged categories (0.42-0.47).
  if infogan_networks:
    config.g_lr, config.d_lr, config.batch_size = 1e-3, 2e-4, 128
  if variant == "infogan":
    config.latent_dim = 62

  # Logging, figures, checkpoints, evaluation.
  config.log_every_steps = 100
  config.sample_every_steps = 1000
  config.checkpoint_every_steps = 1000
  config.keep_checkpoints = 3
  config.max_minutes = 0.0  # Stop (checkpoint, evaluate) after this much wall time; 0: no limit.
  config.eval_every_steps = 0  # 0: evaluate only at the end.
  config.classifier_steps = 3000
  config.class_share_samples = 10_000  # Unconditional models: samples whose predicted digits are counted.
  # CGAN with codes: noise-and-digit draws, each drawn with every categorical value, whose style is
  # measured (evaluation/style_codes.py).
  config.style_code_samples = 500

  if "tiny" in options:
    config.g_channels = config.d_channels = 8
    config.latent_dim = 8
    config.g_hidden_dim = config.d_hidden_dim = 32 if infogan_networks else 0
    config.batch_size = 16
    config.num_train_steps = 4
    config.log_every_steps = 2
    config.sample_every_steps = 2
    config.checkpoint_every_steps = 2
    config.classifier_steps = 20
    config.class_share_samples = 200
    config.style_code_samples = 20
  return config
