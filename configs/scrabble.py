"""ScrabbleGAN on handwritten words: data, model, training, and the separate evaluation recognizer.

Train (the paper-size model on the synthetic default; resumes when run again), then evaluate and write:
  python -m experiments.train_recognizer --config=configs/scrabble.py --workdir=REC
  python -m experiments.train --config=configs/scrabble.py --workdir=RUN \
      --config.eval_recognizer_workdir=REC
  python -m experiments.evaluate --workdir=RUN
  python -m experiments.generate --workdir=RUN --text="Shalom world" --num_styles=8 --output=out.png
A model small enough for 2 CPU cores (a few thousand steps in under an hour), and IAM:
  python -m experiments.train --config=configs/scrabble.py:cpu --workdir=RUN \
      --config.eval_recognizer_workdir=REC --config.max_minutes=40
  python -m experiments.train --config=configs/scrabble.py:cpu,attention --workdir=RUN_ATTENTION \
      --config.eval_recognizer_workdir=REC --config.max_minutes=40
  python -m experiments.train --config=configs/scrabble.py --config.dataset=iam_words \
      --config.manual_dir=IAM_FOLDER --workdir=RUN --config.eval_recognizer_workdir=REC
InfoGAN's style codes under content conditioning (`info`: the text is given, a 10-valued categorical
and 2 continuous codes choose the hand; Q on D's trunk reads them back), scored in eval.json and
figures/style_code.png (ganxai_jax/evaluation/word_style_codes.py):
  python3 -m experiments.train --config=configs/scrabble.py:cpu,info --workdir=runs/scrabble_info \
      --config.eval_recognizer_workdir=runs/recognizer --config.num_train_steps=5500

Look at the data:
  python -m experiments.show_data --config=configs/scrabble.py --workdir=OUT
  python -m experiments.show_data --config=configs/scrabble.py:tiny --workdir=OUT
  python -m experiments.show_data --config=configs/scrabble.py:iam --config.manual_dir=IAM_FOLDER \
      --workdir=OUT
  python -m experiments.show_data --config=configs/scrabble.py:rimes --config.manual_dir=RIMES_FOLDER \
      --workdir=OUT
  python -m experiments.show_data --config=configs/scrabble.py:cvl --config.manual_dir=CVL_FOLDER \
      --workdir=OUT
Train the evaluation recognizer on the synthetic train split (writes OUT/eval.json, OUT/checkpoints):
  python -m experiments.train_recognizer --config=configs/scrabble.py --workdir=OUT

`get_config(arg)` takes a comma-separated list: `tiny` (the 6-writer test data set, a very small
model and very short runs, for tests), `cpu` (a quarter-width model, batch 8), `attention` (a SAGAN
self-attention layer in G, for experiments.explain's attention method), `info` (InfoGAN's style codes
in G and a Q head on D; its runs record the codes as num_categorical / num_continuous, and commands
that give no code, as generate and explain, write with categorical value 0 and continuous codes 0)
and/or one of `iam`,
`rimes`, `cvl` (the IAM, RIMES or CVL words from `manual_dir` instead of synthetic words; see
ganxai_jax/data/{iam,rimes,cvl}_words.py for the folder each reads). RIMES and CVL keep by default
only the words written in the models' 80-symbol IAM alphabet (the others are dropped and counted);
`--config.rimes.alphabet=rimes` or `--config.cvl.alphabet=cvl` keeps their accented words for
experiments.show_data, and training refuses it. To train on them, give the models an alphabet that
has their characters, and a lexicon in their language:
  python -m experiments.train --config=configs/scrabble.py:rimes --config.manual_dir=RIMES_FOLDER \
      --config.alphabet=french_alphabet.txt --config.lexicon=french_words.txt --workdir=RUN
(train the evaluation recognizer with the same --config.alphabet).
Any key can be overridden on the command line, e.g. `--config.batch_size=16`.
"""
from __future__ import annotations

import os

import ml_collections

from configs import parse_variant
from ganxai_jax.errors import UsageError

# The options that choose a data set read from `manual_dir`, and the data set each chooses.
DATASET_OPTIONS = {"iam": "iam_words", "rimes": "rimes_words", "cvl": "cvl_words"}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The configuration for the comma-separated variant list `arg` (see the module docstring)."""
  # Every part is an option here: they combine (tiny,cpu), none excludes another.
  _, variants = parse_variant(arg, "configs/scrabble.py", (),
                              ("tiny", "cpu", "attention", "info", *DATASET_OPTIONS))
  tiny, cpu = "tiny" in variants, "cpu" in variants
  datasets = [DATASET_OPTIONS[v] for v in DATASET_OPTIONS if v in variants]
  if len(datasets) > 1:
    chosen = [v for v in DATASET_OPTIONS if v in variants]
    raise UsageError(f"--config=configs/scrabble.py:{arg}: {' and '.join(map(repr, chosen))} both "
                     f"choose a data set; choose one of {', '.join(DATASET_OPTIONS)}.")
  config = ml_collections.ConfigDict()

  # ---- Data ---------------------------------------------------------------------------------------
  # 'synthetic_handwriting' (offline default), or 'iam_words', 'rimes_words', 'cvl_words' (manual_dir).
  config.dataset = datasets[0] if datasets else "synthetic_handwriting"
  # Size of the synthetic data set: 'default' (200 writers x 250 words) or 'tiny' (6 x 10).
  config.synthetic_size = "tiny" if "tiny" in variants else "default"
  # Where TFDS keeps prepared data sets; prepared once, then reused.
  config.data_dir = os.environ.get("GANXAI_DATA_DIR") or os.path.join(
      os.path.expanduser("~"), "tensorflow_datasets")
  # The folder holding IAM, RIMES or CVL as distributed; see ganxai_jax/data/{iam,rimes,cvl}_words.py.
  config.manual_dir = ml_collections.FieldReference(None, field_type=str)
  # The symbols the models write and read: '' for the 80-symbol IAM alphabet, or the path of a UTF-8
  # alphabet file, one symbol per line in id order (a line holding a single space is the space), for
  # another language or script. Data set words with other characters are dropped and counted; the
  # run's config.json records the symbols (alphabet_symbols), so generate, evaluate and explain follow.
  config.alphabet = ""
  # The words G is asked to write in training (and explanations draw): '' for the built-in English
  # lexicon (web2), or the path of a UTF-8 word file, one word per line; words with characters outside
  # the alphabet are left out and counted.
  config.lexicon = ""
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
  # RIMES (ICDAR 2011 word release) and CVL (cvl-database-1-1) with IAM's width bounds; their splits
  # are their releases'. alphabet 'iam': only words in the models' 80 symbols (others dropped and
  # counted); 'rimes' / 'cvl': their accented words too, for show_data only.
  config.rimes = ml_collections.ConfigDict()
  config.rimes.alphabet = "iam"
  config.rimes.min_width_per_char = 5.33
  config.rimes.max_width_per_char = 48.0
  config.cvl = ml_collections.ConfigDict()
  config.cvl.alphabet = "iam"
  config.cvl.min_width_per_char = 5.33
  config.cvl.max_width_per_char = 48.0

  # Semi-supervised training (ScrabbleGAN's): D sees unlabeled word images as its real words, R only the
  # labeled ones. source '' (off), 'folder' (every image file under `folder`, e.g. IAM's words/ or the
  # user's scans, resized to height 32 and 16 px per character slot) or 'train_split' (the data set's
  # own training words without their labels; `disjoint` keeps them to the other half of the writers).
  config.unlabeled = ml_collections.ConfigDict()
  config.unlabeled.source = ""
  config.unlabeled.folder = ""
  config.unlabeled.disjoint = False

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

  # ---- ScrabbleGAN model (ganxai_jax/models/scrabblegan.py) -----------------------------------------
  config.model = "scrabblegan"  # experiments/train.py dispatches on it.
  # Scales every channel of G, D and the GAN's own recognizer R; 1.0 is the paper's model
  # (G 23.5 M, D 36.3 M, R 5.6 M parameters).
  config.width_multiplier = 1 / 16 if tiny else (0.25 if cpu else 1.0)
  config.z_dim = 128  # Four chunks: the filter bank's and one per up-block.
  # Heights (8, 16 or 32) after whose G up-block / D down-block a self-attention layer sits.
  config.g_attention = ()
  if "attention" in variants:
    # After the second up-block (16 × 16n): there the characters' patches, which met only through
    # 3×3 convolutions so far, are strokes at one query column per image column, and the 2×2-pooled
    # keys are 8 columns per character, so a key never straddles two characters' 16-px slots. At 8
    # a query is a 4 × 2 px cell of coarse glyph features; at 32 the maps are 4 times larger and
    # only the output convolution is left to use what the layer mixes in.
    config.g_attention = (16,)
  config.d_attention = ()
  # InfoGAN's style codes (`info`): a categorical code of num_categorical values (0: none; 1 is refused,
  # as one value carries no information) and num_continuous codes U[-1, 1], concatenated to every z
  # chunk of G (models/scrabblegan.py); Q on D's trunk reads them back from generated words. Ten values,
  # as InfoGAN's: enough hands to tell apart, few enough that each gets batches of its own.
  info = "info" in variants
  config.num_categorical = 10 if info else 0
  config.num_continuous = 2 if info else 0
  # λ of the information loss (cross-entropy + info_continuous_weight · ½ squared error), added to D's
  # and G's losses outside the adversarial/CTC gradient balancing (InfoGAN's λ = 1).
  config.info_weight = 1.0
  config.info_continuous_weight = 1.0
  # 'lax', 'shifted_matmul' (faster on XLA:CPU), or 'auto': shifted matmuls on CPU, lax elsewhere.
  config.conv_impl = "auto"
  if cpu:
    # Measured on 2 cores at this width: lax 0.82 s per full step, shifted matmuls several times
    # slower (narrow channels make small matmuls) and far slower to compile.
    config.conv_impl = "lax"
    config.bucket_size = 2  # 5 batch shapes instead of 10: each costs two compilations.
  # What G, D and R compute their convolutions and matmuls in: 'float32' or 'bfloat16' (for GPUs and
  # TPUs). Parameters, optimizer state, losses, CTC, gradient balancing and spectral-norm power
  # iteration stay float32 either way.
  config.compute_dtype = "float32"

  # ---- ScrabbleGAN training (ganxai_jax/training/scrabble_step.py) -------------------------------
  config.g_every = 4  # D and R step every iteration, G every 4th (official code).
  # Steps at the start in which only R learns to read real words (0: none, as the official code).
  # Until R reads, the CTC gradient G gets is noise.
  config.r_warmup_steps = 0
  if cpu:
    # A run of an hour on 2 cores has a few thousand steps: G learns every step (not every 4th), and
    # R first learns to read alone (an R step costs a small fraction of a full step). Measured on the
    # main job (README): G every step with balance α = 4 took the CER at step 5,500 from 0.849 (G every
    # 2nd step, α = 1) to 0.339, and FID from 7.52 to 3.93; either change alone reached 0.74-0.81. The
    # balance and learning rate below took it on to 0.209.
    config.g_every = 1
    config.r_warmup_steps = 3000
  config.g_schedule = "host"  # 'host': two jitted steps picked on the host; 'cond': jax.lax.cond.
  config.gradient_balancing = True
  # The CTC gradient's standard deviation at the image, as a multiple of the adversarial one's (the
  # paper: 1). Short runs need G to read sooner (see g_every above).
  config.balance_alpha = 8.0 if cpu else 1.0
  config.ctc_weight = 1.0  # G's CTC weight when gradient_balancing is False.
  # Adam's step size for G, D and R (the paper: 2e-4). The cpu recipe's 2,500 GAN steps learn at twice
  # that. Measured on the main job from its step-3,000 warm-up checkpoint (README), CER at step 5,500:
  # α = 4 and 2e-4 0.339; α = 8 and 2e-4 0.280; α = 8 and 4e-4 0.209, with FID 3.15 against 3.93.
  config.learning_rate = 4e-4 if cpu else 2e-4
  config.beta1 = 0.0
  config.beta2 = 0.999
  # Constant for this fraction of the run, then linearly down to 0 (paper: 100 + 100 epochs).
  config.lr_constant_fraction = 0.5
  config.ema_decay = 0.9 if tiny else 0.0  # EMA of G's weights (0: off); used for samples and eval.
  # Paper: 200 epochs; about 1M steps of batch 8 on the 45k synthetic training words.
  config.num_train_steps = 4 if tiny else (100_000 if cpu else 1_000_000)
  config.max_minutes = 0.0  # Stop (checkpoint, evaluate) after this much wall time; 0: no limit.
  config.lexicon_max_length = 20  # Longest lexicon word G is asked to write.
  # Probability that a generated word's first letter is upper-cased (the lexicon's proper nouns stay
  # capitalised besides), so that the capitals of the data get a CTC signal from generated words too;
  # -1: the probability that makes the capitalised share of generated words that of the training words
  # (the official code's --capitalize upper-cases half of them).
  config.fake_capitalize = -1.0
  config.log_every_steps = 2 if tiny else 50
  config.sample_every_steps = 0 if tiny else (500 if cpu else 5000)
  config.checkpoint_every_steps = 2 if tiny else (500 if cpu else 5000)
  config.keep_checkpoints = 3
  config.sample_words = ("Shalom", "world", "ScrabbleGAN", "handwriting")
  config.sample_num_styles = 2 if tiny else 8

  # ---- ScrabbleGAN evaluation (ganxai_jax/evaluation/scrabble_eval.py) ---------------------------
  # The workdir of experiments/train_recognizer.py (trained on real training words); empty: no eval.
  config.eval_recognizer_workdir = ""
  config.eval_num_words = 16 if tiny else 1000
  # A legibility curve during training: every `curve_every_steps` GAN steps (0: never) the CER and WER
  # of `curve_num_words` fixed test words in fixed styles, with the minutes trained so far, go to
  # metrics.jsonl as curve/* (benchmarks/cer_curve.py tabulates them). Needs eval_recognizer_workdir.
  # Neither the curve nor the sample figures are made before the end of R's warm-up (G is untrained).
  config.curve_every_steps = 0 if tiny else (500 if cpu else 0)
  config.curve_num_words = 8 if tiny else 200
  config.eval_num_styles = 2 if tiny else 8
  config.eval_style_words = ("the", "word") if tiny else ("the", "handwriting", "Shalom", "world")
  # Style codes (`info`; evaluation/word_style_codes.py): style_code_samples noise draws of
  # style_code_num_words lexicon words, each written with every categorical value, whose style factors
  # are read by the learned factor reader (explain/factor_reader.py, trained on style_code_reader_words
  # rendered words for style_code_reader_steps steps and cached beside the data; the same settings as
  # configs/explain.py's, so both share one cached reader) or, with style_code_reader_words=0, measured
  # by hand (evaluation/measure.py).
  config.style_code_samples = 16 if tiny else 400
  config.style_code_num_words = 4 if tiny else 8
  config.style_code_reader_words = 64 if tiny else 6000
  config.style_code_reader_test_words = 32 if tiny else 1000
  config.style_code_reader_steps = 5 if tiny else 1500
  return config
