"""Every config value and flag of the commands, checked once the flags are parsed and before anything
is read, prepared, compiled or written.

A value outside its range raises `ConfigError` (a `UsageError`: the CLI prints it in one line and exits
with code 2) naming the key, the bad value and what is allowed, e.g.
`config.num_train_steps=-5: must be an integer >= 1`. The ranges are those the code that reads each
key relies on: `*_every_steps` that the loops use as `step % every` must be at least 1, those the loops
skip when 0 may be 0, and so on. Constraints that only the trained generator can decide (directions
`num_directions <= latent_dim`) are left to the code that knows it.

Which check a command runs is `ganxai_jax/commands.py`'s table; which check a training config gets is
its run kind's (`ganxai_jax/kinds.py`).
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, Iterable, NoReturn, Sequence

import jax
import ml_collections

from ganxai_jax.data import cvl_words
from ganxai_jax.data import handwriting
from ganxai_jax.data import lexicon
from ganxai_jax.data import mnist as mnist_data
from ganxai_jax.data import pipeline
from ganxai_jax.data import rimes_words
from ganxai_jax.data import synthetic_handwriting
from ganxai_jax.data import text
from ganxai_jax.errors import ConfigError, UsageError
from ganxai_jax.evaluation import recognizer_eval
from ganxai_jax.explain import directions
from ganxai_jax.explain import runner
from ganxai_jax.generators import words as word_generators
from ganxai_jax.models import latent
from ganxai_jax.models import layers
from ganxai_jax.models import scrabblegan
from ganxai_jax.training import losses

# The data sets read from a folder the user downloaded: their name and what the folder holds.
MANUAL_FOLDERS = {"iam_words": ("IAM", "words.txt, words/"),
                  "rimes_words": ("RIMES", "groundtruth_training_icdar2011.txt, training_WR/"),
                  "cvl_words": ("CVL", "cvl-database-1-1/trainset/words/")}
# Resolutions after which dcgan.Generator / dcgan.Discriminator place self-attention (others are ignored).
MNIST_ATTENTION_RESOLUTIONS = (7, 14)
# scrabble_step.make_train_step: two jitted steps picked on the host, or one with jax.lax.cond.
G_SCHEDULES = ("host", "cond")
# What a recognizer's workdir holds (recognizer_training writes both; scrabble_eval reads them).
RECOGNIZER_FILES = (recognizer_eval.MODEL_FILE, "checkpoints")


# ---- Values --------------------------------------------------------------------------------------

def fail(name: str, value: Any, allowed: str) -> NoReturn:
  raise ConfigError(f"{name}={value!r}: {allowed}")


def _get(config: ml_collections.ConfigDict, key: str) -> Any:
  """`config`'s value at the dotted `key`; a config without it does not fit the code that reads it."""
  node = config
  for part in key.split("."):
    if not isinstance(node, ml_collections.ConfigDict) or part not in node:
      raise ConfigError(f"config.{key} is missing: the config does not fit this code; start from the "
                        "config files in configs/.")
    node = node[part]
  return node


def _is_int(value: Any) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
  return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


def check_int(name: str, value: Any, minimum: int, maximum: int | None = None, zero: str = "") -> None:
  """Raises `ConfigError` unless `value` is an integer in [minimum, maximum] (no upper bound when
  `maximum` is None); `zero` says what 0 means where it is allowed, e.g. 'never'."""
  if _is_int(value) and value >= minimum and (maximum is None or value <= maximum):
    return
  allowed = f"an integer >= {minimum}" if maximum is None else f"an integer in [{minimum}, {maximum}]"
  fail(name, value, f"must be {allowed}" + (f" (0: {zero})" if zero else ""))


def check_number(name: str, value: Any, low: float, high: float = math.inf, low_open: bool = False,
                 high_open: bool = True, zero: str = "") -> None:
  """Raises `ConfigError` unless `value` is a finite number in the interval from `low` to `high`
  (open at either end where told); `zero` says what 0 means where it is allowed."""
  inside = (_is_number(value) and (value > low if low_open else value >= low)
            and (value < high if high_open else value <= high))
  if inside:
    return
  if high == math.inf:
    allowed = f"a number {'>' if low_open else '>='} {low:g}"
  else:
    allowed = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
  fail(name, value, f"must be {allowed}" + (f" (0: {zero})" if zero else ""))


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
  """Raises `ConfigError` listing the allowed values unless `value` is one of them."""
  allowed = tuple(allowed)
  if value not in allowed:
    fail(name, value, f"must be one of {', '.join(map(repr, allowed))}")


def _bool(config: ml_collections.ConfigDict, key: str) -> None:
  if not isinstance(_get(config, key), bool):
    fail(f"config.{key}", _get(config, key), "must be True or False")


def _int(config: ml_collections.ConfigDict, key: str, minimum: int, maximum: int | None = None,
         zero: str = "") -> None:
  check_int(f"config.{key}", _get(config, key), minimum, maximum, zero)


def _number(config: ml_collections.ConfigDict, key: str, low: float, high: float = math.inf,
            low_open: bool = False, high_open: bool = True, zero: str = "") -> None:
  check_number(f"config.{key}", _get(config, key), low, high, low_open, high_open, zero)


def _choice(config: ml_collections.ConfigDict, key: str, allowed: Iterable[Any]) -> None:
  check_choice(f"config.{key}", _get(config, key), allowed)


def _int_tuple(config: ml_collections.ConfigDict, key: str, allowed: Sequence[int] | None = None,
               minimum: int = 1) -> None:
  """A tuple of integers, each among `allowed` (or at least `minimum`); () is always allowed."""
  value = _get(config, key)
  items = tuple(value) if isinstance(value, (tuple, list)) else None
  if items is not None and all(_is_int(v) for v in items):
    if allowed is None and all(v >= minimum for v in items):
      return
    if allowed is not None and all(v in allowed for v in items):
      return
  what = (f"integers among {', '.join(map(str, allowed))}" if allowed is not None
          else f"integers >= {minimum}")
  example = (allowed or [minimum])[0]
  fail(f"config.{key}", value, f"must be a tuple of {what}, e.g. --config.{key}='({example},)' (() for none)")


def _words(config: ml_collections.ConfigDict, key: str, alphabet: text.Alphabet = text.IAM) -> None:
  """A non-empty tuple of words the ScrabbleGAN generator can write (see `generators.words.check_text`).

  With a custom alphabet, words it cannot write are allowed: the figures and scores then write words
  of the run's own (`generators.words.writable_words`), so the English defaults need no override."""
  value = _get(config, key)
  if (not isinstance(value, (tuple, list)) or not value
      or not all(isinstance(w, str) and len(w.split()) == 1 for w in value)):
    fail(f"config.{key}", value, "must be a non-empty tuple of words, e.g. --config."
          f"{key}=\"('Shalom', 'world')\"")
  if alphabet.is_iam:
    try:
      word_generators.check_text(" ".join(value))
    except UsageError as e:
      fail(f"config.{key}", value, str(e))


def check_word(name: str, text: str, max_length: int = 0, alphabet: text.Alphabet = text.IAM) -> None:
  try:
    word_generators.check_text(text, max_length, alphabet)
  except UsageError as e:
    raise ConfigError(f"{name}={text!r}: {e}") from None


def _alphabet_and_lexicon(config: ml_collections.ConfigDict) -> text.Alphabet:
  """Checks `alphabet` (an alphabet file, or '' for IAM's) and `lexicon` (a word file, or '' for the
  built-in one, with words of 1..lexicon_max_length characters in the alphabet); returns the alphabet."""
  if "alphabet" not in config:  # Run folders from before custom alphabets: IAM's.
    return text.IAM
  path = _get(config, "alphabet")
  if not isinstance(path, str):
    fail("config.alphabet", path, "must be the path of an alphabet file (one symbol per line), or '' for "
          "the 80-symbol IAM alphabet")
  try:
    alphabet = text.alphabet_of(config)
  except (OSError, ValueError) as e:
    fail("config.alphabet", path, f"{str(e).rstrip('.')}; an alphabet file is UTF-8 text with one symbol per "
          "line (a line with a single space is the space)")
  lexicon_path = _get(config, "lexicon") if "lexicon" in config else ""
  if not isinstance(lexicon_path, str):
    fail("config.lexicon", lexicon_path, "must be the path of a word file (one word per line), or '' for "
          "the built-in English lexicon")
  max_length = config.get("lexicon_max_length", 20)
  try:
    lexicon.load_lexicon(1, max(int(max_length), 1), path=os.path.expanduser(lexicon_path), alphabet=alphabet)
  except (OSError, ValueError) as e:
    fail("config.lexicon", lexicon_path, f"{str(e).rstrip('.')}; a lexicon file is UTF-8 text with one word "
          "per line, written in the models' alphabet (config.alphabet)")
  return alphabet


# ---- Paths ---------------------------------------------------------------------------------------

def check_workdir(path: str | None, name: str = "--workdir") -> None:
  """Raises `ConfigError` unless `path` names a folder that exists or can be created: not a file, and
  its nearest existing ancestor a folder this process may write in. Creates nothing."""
  if not path:
    fail(name, path, "must name a folder")
  full = os.path.abspath(os.path.expanduser(path))
  if os.path.exists(full):
    if not os.path.isdir(full):
      fail(name, path, "is a file; it must be a folder (one that exists or can be created)")
    if not os.access(full, os.W_OK | os.X_OK):
      fail(name, path, "is a folder this user cannot write in")
    return
  ancestor = os.path.dirname(full)
  while not os.path.exists(ancestor):
    ancestor = os.path.dirname(ancestor)
  if not os.path.isdir(ancestor):
    fail(name, path, f"cannot be created: {ancestor!r} is a file, not a folder")
  if not os.access(ancestor, os.W_OK | os.X_OK):
    fail(name, path, f"cannot be created: this user cannot write in {ancestor!r}")


def check_output_file(name: str, path: str) -> None:
  """Raises `ConfigError` unless `path` names a file (not a folder) in a folder that exists."""
  folder = os.path.dirname(os.path.abspath(path)) if path else ""
  if not path or os.path.isdir(path):
    fail(name, path, "must name a file, e.g. out.png")
  if not os.path.isdir(folder):
    fail(name, path, f"the folder {folder!r} does not exist; create it or choose another")


def check_model(config: ml_collections.ConfigDict, models: Sequence[str]) -> None:
  """`config.model` is one of `models` (the run kinds' models)."""
  _choice(config, "model", models)


def check_run_folder(name: str, path: str, models: Sequence[str]) -> dict[str, Any]:
  """Raises `ConfigError` unless `path` is a training run's folder (`config.json` of one of `models`,
  and `checkpoints/`); returns the run's config as a dict."""
  if not path or not os.path.isdir(path):
    fail(name, path, "must be a training run's folder (it holds config.json and checkpoints/), and "
          + ("it is empty" if not path else "it does not exist"))
  config_path = os.path.join(path, "config.json")
  if not os.path.isfile(config_path):
    fail(name, path, "holds no config.json: it is not a training run's folder")
  try:
    with open(config_path, encoding="utf-8") as fh:
      run_config = json.load(fh)
  except (OSError, ValueError) as e:
    fail(name, path, f"its config.json cannot be read ({' '.join(str(e).split())})")
  if not isinstance(run_config, dict) or run_config.get("model") not in models:
    model = run_config.get("model") if isinstance(run_config, dict) else None
    fail(name, path, f"holds a run of model={model!r}; this command takes runs of "
          f"{', '.join(map(repr, models))}")
  if not os.path.isdir(os.path.join(path, "checkpoints")):
    fail(name, path, "holds no checkpoints/; train first with experiments.train")
  if run_config.get("num_seeds", 1) > 1:  # Its checkpoints hold every seed at once (training/seeds.py).
    first_seed = os.path.join(path, f"seed_{run_config.get('seed', 0)}")
    fail(name, path, f"holds {run_config['num_seeds']} seeds trained together; give the run folder of one, "
          f"e.g. {first_seed}")
  return run_config


def _recognizer_folder(name: str, path: str) -> None:
  if not os.path.isdir(path):
    fail(name, path, "does not exist; train a recognizer there first with experiments.train_recognizer")
  missing = [f for f in RECOGNIZER_FILES if not os.path.exists(os.path.join(path, f))]
  if missing:
    fail(name, path, f"holds no {' or '.join(missing)}: it is not a folder of experiments.train_recognizer")


def _folder_to_write(config: ml_collections.ConfigDict, key: str) -> None:
  """An optional folder ('' for the default) that the code creates when needed."""
  if _get(config, key):
    check_workdir(_get(config, key), f"config.{key}")


# ---- MNIST GANs (configs/mnist.py) ---------------------------------------------------------------

def check_mnist(config: ml_collections.ConfigDict) -> None:
  """Checks every key of configs/mnist.py."""
  _int(config, "seed", 0)
  if "num_seeds" in config:  # Runs saved before it existed trained one seed.
    _int(config, "num_seeds", 1)
  _choice(config, "dataset", pipeline.MNIST_DATASETS)
  _folder_to_write(config, "data_dir")
  manual_dir = _get(config, "manual_dir")
  if pipeline.MNIST_DATASETS[config.dataset]:  # A data set the user downloaded by hand.
    try:
      mnist_data.find_idx_files(manual_dir or "")
    except FileNotFoundError as e:
      first_line = str(e).splitlines()[0].rstrip(".")
      fail("config.manual_dir", manual_dir, f"{first_line}; dataset={config.dataset!r} needs a folder "
            f"with {', '.join(mnist_data.IDX_FILES.values())} (each may be gzipped)")
  _int(config, "latent_dim", 1)
  if "noise" in config:  # Runs saved before it existed drew N(0, 1).
    _choice(config, "noise", latent.NOISE_DISTRIBUTIONS)
  # Labels are the ten digits: a conditional model embeds ten classes, an unconditional one none.
  _choice(config, "num_classes", (0, 10))
  _int(config, "num_categorical", 0)
  if config.num_categorical == 1:  # One value carries no information: Q's loss is 0 from the start.
    fail("config.num_categorical", 1, "must be 0 (no categorical code) or an integer >= 2")
  _int(config, "num_continuous", 0)
  for key in ("g_channels", "d_channels"):
    _int(config, key, 1)
  for key in ("g_hidden_dim", "d_hidden_dim"):
    _int(config, key, 0, zero="no hidden layer")
  for key in ("g_spectral_norm", "d_spectral_norm", "d_batch_norm"):
    _bool(config, key)
  if "d_projection_spectral_norm" in config:  # Runs saved before it existed had none.
    _bool(config, "d_projection_spectral_norm")
  for key in ("g_attention", "d_attention"):
    _int_tuple(config, key, MNIST_ATTENTION_RESOLUTIONS)
  _choice(config, "loss", losses.LOSSES)
  _batch_size(config, "batch_size")
  _int(config, "num_train_steps", 1)
  for key in ("g_lr", "d_lr"):
    _number(config, key, 0, low_open=True)
  for key in ("beta1", "beta2"):
    _number(config, key, 0, 1)
  for key in ("info_weight", "info_continuous_weight"):
    _number(config, key, 0)
  _number(config, "ema_decay", 0, 1, zero="no EMA")
  for key in ("log_every_steps", "checkpoint_every_steps"):
    _int(config, key, 1)
  _int(config, "sample_every_steps", 0, zero="only at the end")
  _int(config, "eval_every_steps", 0, zero="only at the end")
  _int(config, "keep_checkpoints", 1)
  _number(config, "max_minutes", 0, zero="no limit")
  _int(config, "classifier_steps", 1)
  if "class_share_samples" in config:  # Runs saved before it existed counted 10,000.
    _int(config, "class_share_samples", 1)
  if "style_code_samples" in config:  # Runs saved before it existed had no style-code scores.
    _int(config, "style_code_samples", 1)


def _batch_size(config: ml_collections.ConfigDict, key: str) -> None:
  """A global batch splits evenly over every device of the run."""
  _int(config, key, 1)
  if _get(config, key) % jax.device_count():
    fail(f"config.{key}", _get(config, key),
          f"must be a multiple of the {jax.device_count()} devices of the run")


# ---- Handwriting data and ScrabbleGAN (configs/scrabble.py) --------------------------------------

def check_data(config: ml_collections.ConfigDict) -> None:
  """Checks the data keys of configs/scrabble.py (what experiments.show_data reads): the data set and
  its size, `data_dir`, `manual_dir` for IAM, RIMES and CVL, the seed, the length buckets and the
  IAM, RIMES and CVL options."""
  _choice(config, "dataset", handwriting.DATASETS)
  sizes = [c.name for c in synthetic_handwriting.SyntheticHandwriting.BUILDER_CONFIGS]
  _choice(config, "synthetic_size", sizes)  # Read only for synthetic words, but a typo is a typo.
  _folder_to_write(config, "data_dir")
  manual_dir = _get(config, "manual_dir")
  if config.dataset in handwriting.MANUAL_DATASETS:
    name, holds = MANUAL_FOLDERS[config.dataset]
    if not manual_dir:
      fail("config.manual_dir", manual_dir, f"dataset={config.dataset!r} needs the {name} folder "
            f"({holds}), e.g. --config.manual_dir={name}_FOLDER")
    check_manual_dir = handwriting.MANUAL_DATASETS[config.dataset][0]
    try:
      check_manual_dir(os.path.expanduser(manual_dir))
    except (FileNotFoundError, ValueError) as e:  # ValueError: a ground truth that is not UTF-8.
      fail("config.manual_dir", manual_dir, f"{str(e).splitlines()[0].rstrip('.')}; see "
            f"ganxai_jax/data/{config.dataset}.py for what it holds")
  _int(config, "seed", 0)
  _int(config, "bucket_size", 1)
  _bool(config, "iam.keep_segmentation_errors")
  _number(config, "iam.min_width_per_char", 0, low_open=True)
  _number(config, "iam.max_width_per_char", config.iam.min_width_per_char, low_open=True)
  _int(config, "iam.test_percent", 0, 100)
  for section, alphabets in (("rimes", rimes_words.ALPHABETS), ("cvl", cvl_words.ALPHABETS)):
    _choice(config, f"{section}.alphabet", alphabets)
    _number(config, f"{section}.min_width_per_char", 0, low_open=True)
    _number(config, f"{section}.max_width_per_char", config[section].min_width_per_char,
            low_open=True)


def check_recognizer(config: ml_collections.ConfigDict) -> None:
  """Checks what experiments.train_recognizer reads: the data keys (`check_data`), that the words fit
  the models' alphabet (`handwriting.check_model_alphabet`) and the config's `recognizer` section."""
  check_data(config)
  _alphabet_and_lexicon(config)
  handwriting.check_model_alphabet(config)
  _number(config, "recognizer.width_multiplier", 0, low_open=True)
  # Every process reads its own share of a batch.
  _int(config, "recognizer.batch_size", 1)
  if config.recognizer.batch_size % jax.process_count():
    fail("config.recognizer.batch_size", config.recognizer.batch_size,
          f"must be a multiple of the {jax.process_count()} processes of the run")
  _number(config, "recognizer.learning_rate", 0, low_open=True)
  _int(config, "recognizer.num_steps", 1)
  for key in ("recognizer.log_every_steps", "recognizer.checkpoint_every_steps"):
    _int(config, key, 1)
  _number(config, "recognizer.max_minutes", 0, zero="no limit")


def _attention_heights() -> tuple[tuple[int, ...], tuple[int, ...]]:
  """Heights of the outputs of ScrabbleGAN's G up-blocks and D down-blocks: where attention can sit."""
  g_heights, height = [], scrabblegan.PATCH_SIZE
  for factor, _ in scrabblegan.G_UPSAMPLING:
    height *= factor
    g_heights.append(height)
  d_heights = []
  for downsample in scrabblegan.D_DOWNSAMPLE:
    height //= 2 if downsample else 1
    d_heights.append(height)
  return tuple(g_heights), tuple(sorted(set(d_heights)))


def check_scrabble(config: ml_collections.ConfigDict) -> None:
  """Checks every key of configs/scrabble.py but its `recognizer` section (experiments.train does not
  read it), and that the words fit the models' alphabet (`handwriting.check_model_alphabet`)."""
  check_data(config)
  alphabet = _alphabet_and_lexicon(config)
  handwriting.check_model_alphabet(config)
  _batch_size(config, "batch_size")
  _number(config, "width_multiplier", 0, low_open=True)
  num_chunks = len(scrabblegan.G_UPSAMPLING) + 1  # G splits z into one chunk per block and the filter bank.
  _int(config, "z_dim", num_chunks)
  if config.z_dim % num_chunks:
    fail("config.z_dim", config.z_dim, f"must be a multiple of {num_chunks} (one chunk per G block)")
  g_heights, d_heights = _attention_heights()
  _int_tuple(config, "g_attention", g_heights)
  _int_tuple(config, "d_attention", d_heights)
  _choice(config, "conv_impl", ("auto",) + tuple(layers.CONV_IMPLS))
  if "compute_dtype" in config:  # Run folders from before the key compute in float32.
    _choice(config, "compute_dtype", tuple(scrabblegan.COMPUTE_DTYPES))
  _int(config, "g_every", 1)
  _int(config, "num_train_steps", 1)
  _int(config, "r_warmup_steps", 0, zero="none")
  if config.r_warmup_steps >= config.num_train_steps:
    fail("config.r_warmup_steps", config.r_warmup_steps,
          f"must be below config.num_train_steps={config.num_train_steps}, or no GAN step is left")
  _choice(config, "g_schedule", G_SCHEDULES)
  _bool(config, "gradient_balancing")
  _number(config, "balance_alpha", 0)
  _number(config, "ctc_weight", 0)
  _number(config, "learning_rate", 0, low_open=True)
  for key in ("beta1", "beta2"):
    _number(config, key, 0, 1)
  _number(config, "lr_constant_fraction", 0, 1, high_open=False)
  _number(config, "ema_decay", 0, 1, zero="no EMA")
  _number(config, "max_minutes", 0, zero="no limit")
  _int(config, "lexicon_max_length", 1)
  if "fake_capitalize" in config and _get(config, "fake_capitalize") != -1:  # Older run folders: none.
    _number(config, "fake_capitalize", 0, 1, high_open=False)
  for key in ("log_every_steps", "checkpoint_every_steps"):
    _int(config, key, 1)
  _int(config, "sample_every_steps", 0, zero="only at the end")
  _int(config, "keep_checkpoints", 1)
  _words(config, "sample_words", alphabet)
  _int(config, "sample_num_styles", 1)
  if _get(config, "eval_recognizer_workdir"):
    _recognizer_folder("config.eval_recognizer_workdir", config.eval_recognizer_workdir)
  _int(config, "eval_num_words", 1)
  _int(config, "eval_num_styles", 1)
  _words(config, "eval_style_words", alphabet)
  if "curve_every_steps" in config:  # Run folders from before the curve have none.
    _int(config, "curve_every_steps", 0, zero="no curve")
    _int(config, "curve_num_words", 1)
  if "unlabeled" in config:  # Run folders from before semi-supervised training have none.
    _check_unlabeled(config)
  if "num_categorical" in config:  # Run folders from before the style codes have none.
    _check_style_codes(config)


def _check_style_codes(config: ml_collections.ConfigDict) -> None:
  _int(config, "num_categorical", 0, zero="no categorical code")
  if config.num_categorical == 1:  # One value carries no information: Q's loss is 0 from the start.
    fail("config.num_categorical", 1, "must be 0 (no categorical code) or an integer >= 2")
  _int(config, "num_continuous", 0, zero="no continuous code")
  _number(config, "info_weight", 0)
  _number(config, "info_continuous_weight", 0)
  _int(config, "style_code_samples", 1)
  _int(config, "style_code_num_words", 1)
  _int(config, "style_code_reader_words", 0, zero="hand measurements")
  _int(config, "style_code_reader_test_words", 1)
  _int(config, "style_code_reader_steps", 1)


def _check_unlabeled(config: ml_collections.ConfigDict) -> None:
  _choice(config, "unlabeled.source", handwriting.UNLABELED_SOURCES)
  _bool(config, "unlabeled.disjoint")
  folder = _get(config, "unlabeled.folder")
  if config.unlabeled.source == "folder" and not (isinstance(folder, str) and folder
                                                  and os.path.isdir(os.path.expanduser(folder))):
    fail("config.unlabeled.folder", folder, "must be an existing folder of word images when "
          "config.unlabeled.source='folder'")
  if config.unlabeled.disjoint and config.unlabeled.source != "train_split":
    fail("config.unlabeled.disjoint", True, "needs config.unlabeled.source='train_split' (a folder is "
          f"another set of images already; source is {config.unlabeled.source!r})")


def check_scrabble_run(name: str, path: str, run_config: dict[str, Any]) -> None:
  """What scoring the ScrabbleGAN run in `path` needs beyond its folder: the evaluation recognizer."""
  recognizer = run_config.get("eval_recognizer_workdir") or ""
  if not recognizer:
    fail(name, path, "its config.json has no eval_recognizer_workdir, which scoring a ScrabbleGAN run needs; "
          "train one with experiments.train_recognizer and train the run with --config.eval_recognizer_workdir=DIR")
  _recognizer_folder(f"{name}={path!r}: its config.eval_recognizer_workdir", recognizer)


# ---- Explanations (configs/explain.py) -----------------------------------------------------------

def run_config_or_none(path: Any) -> dict[str, Any] | None:
  """The config.json of the run in `path` as a dict, or None when it cannot be read (the run folder's
  own check, `check_run_folder`, says why)."""
  try:
    with open(os.path.join(os.path.expanduser(path), "config.json"), encoding="utf-8") as f:
      run_config = json.load(f)
  except (OSError, TypeError, ValueError):
    return None
  return run_config if isinstance(run_config, dict) else None


def run_alphabet(path: Any) -> text.Alphabet:
  """The alphabet of the ScrabbleGAN run in `path` (IAM's for other runs, or when it cannot be read:
  the run folder's own check reports that)."""
  run_config = run_config_or_none(path)
  if run_config is None or run_config.get("model") != "scrabblegan":
    return text.IAM
  try:
    return text.alphabet_of(ml_collections.ConfigDict(run_config))
  except (TypeError, ValueError):
    return text.IAM


def _check_shared_direction_keys(config: ml_collections.ConfigDict, section: str,
                                 alphabet: text.Alphabet = text.IAM) -> None:
  """The keys that configs/explain.py gives each of directions, ganspace and sefa."""
  _int(config, f"{section}.num_traversal_steps", 2)  # A traversal has two ends.
  _int(config, f"{section}.num_figure_directions", 1)
  _int(config, f"{section}.num_seed_figures", 0, zero="none")
  _int(config, f"{section}.num_figure_seeds", 1)
  _int(config, f"{section}.num_named_directions", 1)
  _int(config, f"{section}.naming_seeds", 1)
  _int(config, f"{section}.naming_steps", 2)  # A slope needs two points.
  _int(config, f"{section}.spread_samples", 2)  # A standard deviation needs two samples.
  _number(config, f"{section}.min_effect", 0)
  _number(config, f"{section}.min_consistency", 0, 1, high_open=False)
  word = _get(config, f"{section}.word")
  if not isinstance(word, str) or len(word.split()) != 1:
    fail(f"config.{section}.word", word, "must be one word, e.g. Shalom")
  if alphabet.is_iam:  # A custom alphabet's run writes a word of its lexicon when it cannot write this one.
    check_word(f"config.{section}.word", word)
  _int(config, f"{section}.calibration_images", 1)
  _int(config, f"{section}.disentanglement_samples", 10)  # DCI holds out a fifth of them.
  _int(config, f"{section}.factor_reader_words", 0, zero="hand measurements instead")
  _int(config, f"{section}.factor_reader_test_words", 2)
  _int(config, f"{section}.factor_reader_steps", 1)
  if "content_samples" in config[section]:
    _int(config, f"{section}.content_samples", 0, zero="content not checked")
  _number(config, f"{section}.traversal_radius", 0, low_open=True)
  _number(config, f"{section}.naming_radius", 0, low_open=True)


def check_explain(config: ml_collections.ConfigDict, models: Sequence[str]) -> None:
  """Checks every key of configs/explain.py, and that `generator_workdir` is a training run's folder
  (config.json and checkpoints/) of one of `models`."""
  _choice(config, "method", runner.METHODS)
  _int(config, "seed", 0)
  _bool(config, "tiny")

  for key in ("num_images", "num_queries", "num_score_images", "batch_size"):
    _int(config, f"attention.{key}", 1)
  _number(config, "attention.ink_threshold", -1, 1, high_open=False)  # Images lie in [-1, 1].
  _number(config, "attention.ink_query_fraction", 0, 1, low_open=True, high_open=False)
  _number(config, "attention.rollout_residual_weight", 0, 1, high_open=False)

  for key in ("num_words", "pixels_per_call"):
    _int(config, f"influence.{key}", 1)
  _int(config, "influence.num_figure_words", 0, zero="no figures")
  _int(config, "influence.word_length", 0, zero="the generator's")
  _number(config, "influence.mass_fraction", 0, 1, low_open=True, high_open=False)

  _choice(config, "directions.kind", directions.TRAINABLE_KINDS)
  baselines = _get(config, "directions.baselines")
  fixed = tuple(k for k in directions.DIRECTION_KINDS if k not in directions.TRAINABLE_KINDS)
  if not isinstance(baselines, (tuple, list)) or any(b not in fixed for b in baselines):
    fail("config.directions.baselines", baselines,
          f"must be a tuple of kinds among {', '.join(map(repr, fixed))} (() for none)")
  _int(config, "directions.num_directions", 0, zero="min(latent_dim, 64)")
  _int(config, "directions.batch_size", 1)
  _int(config, "directions.num_steps", 1)
  _number(config, "directions.max_minutes", 0, zero="no limit")
  _number(config, "directions.learning_rate", 0, low_open=True)
  _number(config, "directions.shift_scale", 0, low_open=True)
  _number(config, "directions.min_shift", 0, config.directions.shift_scale, high_open=False)
  _number(config, "directions.shift_weight", 0)
  _int_tuple(config, "directions.reconstructor_channels", minimum=1)
  for key in ("log_every_steps", "checkpoint_every_steps", "eval_samples", "steps_per_call"):
    _int(config, f"directions.{key}", 1)
  _bool(config, "directions.compare_closed_form")

  _int(config, "ganspace.num_directions", 1)
  _int(config, "ganspace.num_samples", 2)  # PCA of the samples' features.
  _int(config, "sefa.num_directions", 1)
  alphabet = run_alphabet(_get(config, "generator_workdir"))
  for section in ("directions", "ganspace", "sefa"):
    _check_shared_direction_keys(config, section, alphabet)
  check_run_folder("config.generator_workdir", _get(config, "generator_workdir"), models)
