"""ScrabbleGAN on handwritten words: data (and the separately trained recognizer used to evaluate it).

Look at the data:
  python -m experiments.show_data --config=configs/scrabble.py --workdir=OUT
  python -m experiments.show_data --config=configs/scrabble.py:tiny --workdir=OUT
  python -m experiments.show_data --config=configs/scrabble.py:iam --config.manual_dir=IAM_FOLDER \
      --workdir=OUT
Train the evaluation recognizer on the synthetic train split (writes OUT/eval.json, OUT/checkpoints):
  python -m experiments.train_recognizer --config=configs/scrabble.py --workdir=OUT

`get_config(arg)` takes a comma-separated list: `tiny` (the 6-writer test data set and a very small,
short recognizer run) and/or `iam` (the IAM words from `manual_dir` instead of synthetic words).
Any key can be overridden on the command line, e.g. `--config.batch_size=16`.
"""
from __future__ import annotations

import os

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The configuration for the comma-separated variant list `arg` (see the module docstring)."""
  variants = {v.strip() for v in (arg or "").split(",") if v.strip()}
  unknown = variants - {"tiny", "iam"}
  if unknown:
    raise ValueError(f"Unknown variant(s) {sorted(unknown)} of configs/scrabble.py; use tiny, iam.")
  config = ml_collections.ConfigDict()

  # ---- Data ---------------------------------------------------------------------------------------
  # 'synthetic_handwriting' (offline default) or 'iam_words' (needs manual_dir).
  config.dataset = "iam_words" if "iam" in variants else "synthetic_handwriting"
  # Size of the synthetic data set: 'default' (200 writers x 250 words) or 'tiny' (6 x 10).
  config.synthetic_size = "tiny" if "tiny" in variants else "default"
  # Where TFDS keeps prepared data sets; prepared once, then reused.
  config.data_dir = os.environ.get("GANXAI_DATA_DIR") or os.path.join(
      os.path.expanduser("~"), "tensorflow_datasets")
  # The folder holding IAM as distributed (words.txt, words/, forms.txt); see ganxai_jax/data/iam_words.py.
  config.manual_dir = ml_collections.FieldReference(None, field_type=str)
  config.seed = 0
  config.batch_size = 4 if "tiny" in variants else 8  # Global; ScrabbleGAN uses 8.
  # Consecutive word lengths sharing one padded batch shape: 1 compiles once per length (10 shapes
  # for words of 1-10 characters) and pads nothing; 2 halves the shapes and pads up to 16 px.
  config.bucket_size = 1

  # IAM preprocessing (ScrabbleGAN's defaults; FACTS: width per character in [5.33, 48] px).
  config.iam = ml_collections.ConfigDict()
  config.iam.keep_segmentation_errors = False
  config.iam.min_width_per_char = 5.33
  config.iam.max_width_per_char = 48.0
  config.iam.test_percent = 10  # Writer-disjoint hash split when no partition lists are given.

  # ---- Evaluation recognizer (experiments/train_recognizer.py) ------------------------------------
  # Trained apart from the GAN, on real (here synthetic) training words only, to score generated
  # words by CER/WER. width_multiplier scales ScrabbleGAN's R channels (1.0: 5.6 M parameters).
  config.recognizer = ml_collections.ConfigDict()
  config.recognizer.width_multiplier = 0.25 if "tiny" in variants else 0.5
  config.recognizer.batch_size = 8 if "tiny" in variants else 32
  config.recognizer.learning_rate = 1e-3
  config.recognizer.num_steps = 20 if "tiny" in variants else 3000
  config.recognizer.log_every_steps = 10 if "tiny" in variants else 100
  config.recognizer.checkpoint_every_steps = 20 if "tiny" in variants else 1000
  # Stop training after this many minutes of wall time (0: no limit), then evaluate and save.
  config.recognizer.max_minutes = 0.0
  return config
