"""`train_and_evaluate(config, workdir)` for ScrabbleGAN (configs/scrabble.py).

Reading order, as the MNIST trainer: the networks and optimizers come from the config
(`build_components`), the state is created replicated on a data-parallel mesh (`create_state`), and
the project's training loop (`run.loop`) feeds global batches (real words plus lexicon text in the
same length bucket) to the jitted `scrabble_step.train_step`, draws fixed words in fixed styles,
checkpoints state and data position together, and finally evaluates into `workdir/eval.json`
(`evaluate`, with `ganxai_jax.evaluation.scrabble_eval`, and `evaluation.word_style_codes` for a run
with style codes). Running the same command again resumes from the latest checkpoint.

The style-code scores read style factors with a `StyleReaderFactory` handed in by the caller
(`kinds` gives the learned factor reader of `explain/factor_reader.py`; training may not import
explanations); without one they use the hand measurements and say so in eval.json.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging

from ganxai_jax.data import handwriting
from ganxai_jax.data import lexicon
from ganxai_jax.data import text
from ganxai_jax.evaluation import recognizer_eval
from ganxai_jax.evaluation import scrabble_eval
from ganxai_jax.evaluation import word_style_codes
from ganxai_jax.generators import words as word_generators
from ganxai_jax.generators.interface import TrainedGenerator
from ganxai_jax.models import recognizer as recognizer_lib
from ganxai_jax.models import scrabblegan
from ganxai_jax.models.layers import count_params
from ganxai_jax.run import loop, parallel
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.run.state import TrainState, init_net
from ganxai_jax.training.scrabble_step import ScrabbleComponents, make_schedule, make_train_step

_REAL_KEYS = ("image", "labels", "label_lengths", "image_widths", "valid")
# (config, word length) -> the reader of style factors for the style-code scores.
StyleReaderFactory = Callable[[ml_collections.ConfigDict, int], word_style_codes.StyleReader]


def build_components(config: ml_collections.ConfigDict, mesh: Any = None) -> ScrabbleComponents:
  """G, D and R of the configured size and compute dtype, their Adam optimizers and the step's options.

  A run folder whose config predates `compute_dtype` computes in float32, as it was trained."""
  dtype = scrabblegan.compute_dtype(config.get("compute_dtype", "float32"))
  generator = word_generators.build_generator(config).clone(dtype=dtype)
  conv_impl = generator.conv_impl
  discriminator = scrabblegan.Discriminator(width_multiplier=config.width_multiplier,
                                            attention_resolutions=tuple(config.d_attention),
                                            conv_impl=conv_impl, dtype=dtype,
                                            num_categorical=generator.num_categorical,
                                            num_continuous=generator.num_continuous)
  recognizer = recognizer_lib.Recognizer(width_multiplier=config.width_multiplier,
                                         num_classes=text.alphabet_of(config).num_classes, dtype=dtype)

  if config.r_warmup_steps >= config.num_train_steps:
    raise ValueError(f"r_warmup_steps {config.r_warmup_steps} leaves no GAN steps in num_train_steps "
                     f"{config.num_train_steps}; use fewer warm-up steps.")
  gan_steps = config.num_train_steps - config.r_warmup_steps

  def adam(num_updates):
    schedule = make_schedule(config.learning_rate, num_updates, config.lr_constant_fraction)
    return optax.adam(schedule, b1=config.beta1, b2=config.beta2)

  return ScrabbleComponents(
      generator=generator, discriminator=discriminator, recognizer=recognizer,
      g_tx=adam(-(-gan_steps // config.g_every)), d_tx=adam(gan_steps),
      r_tx=adam(config.num_train_steps), z_dim=config.z_dim, g_every=config.g_every,
      gradient_balancing=config.gradient_balancing, balance_alpha=config.balance_alpha,
      ctc_weight=config.ctc_weight, ema_decay=config.ema_decay, r_warmup_steps=config.r_warmup_steps,
      num_categorical=generator.num_categorical, num_continuous=generator.num_continuous,
      info_weight=config.get("info_weight", 1.0), info_continuous_weight=config.get("info_continuous_weight", 1.0),
      batch_sharding=parallel.batch_sharding(mesh) if mesh is not None else None)


def _init_fn(components: ScrabbleComponents):
  def init(rng):
    g_key, d_key, r_key = jax.random.split(rng, 3)
    image = jnp.zeros((2, scrabblegan.PATCH_SIZE * 8, 16, 1))
    g_net = init_net(components.generator, components.g_tx, g_key, jnp.zeros((2, components.z_dim)),
                     jnp.ones((2, 1), jnp.int32))
    d_net = init_net(components.discriminator, components.d_tx, d_key, image)
    r_net = init_net(components.recognizer, components.r_tx, r_key, image)
    return TrainState(step=jnp.zeros((), jnp.int32), rng=jax.random.fold_in(rng, 1),
                      nets={"generator": g_net, "discriminator": d_net, "recognizer": r_net},
                      ema_params=g_net.params if components.ema_decay > 0 else None)
  return init


def create_state(config: ml_collections.ConfigDict, components: ScrabbleComponents, mesh: Any) -> TrainState:
  """A fresh TrainState from `config.seed`, replicated on `mesh` (parameters do not depend on width)."""
  return jax.jit(_init_fn(components), out_shardings=parallel.replicated(mesh))(
      jax.random.PRNGKey(config.seed))


class LexiconText:
  """Text for generated words: lexicon words in the real batch's length bucket, fixed by (seed, step).

  Every process draws the same global batch and keeps its own rows, as the real pipeline does.
  """

  def __init__(self, seed: int, bucket_size: int, max_length: int, capitalize_probability: float = 0.0,
               alphabet: text.Alphabet = text.IAM, lexicon_file: str = ""):
    self._seed = seed
    self._bucket_size = bucket_size
    self._alphabet = alphabet
    self._groups = lexicon.words_by_length(
        lexicon.load_lexicon(1, max_length, path=lexicon_file, alphabet=alphabet))
    self.capitalize_probability = capitalize_probability

  def probability_for_share(self, share: float) -> float:
    """The `capitalize_probability` that makes about `share` of the generated words start with a capital,
    given the lexicon's own capitalised words (proper nouns), which stay as they are."""
    words = [word for group in self._groups.values() for word in group]
    own = float(np.mean([word[0].isupper() for word in words]))
    return float(np.clip((share - own) / (1.0 - own), 0.0, 1.0)) if own < 1 else 0.0

  def lengths_for_bucket(self, bucket_max_length: int) -> list[int]:
    """Word lengths of the bucket ending at `bucket_max_length` that the lexicon has (or the nearest
    shorter one, for buckets longer than any lexicon word)."""
    wanted = [n for n in range(max(1, bucket_max_length - self._bucket_size + 1), bucket_max_length + 1)
              if n in self._groups]
    return wanted or [max(n for n in self._groups if n <= bucket_max_length)]

  def sample(self, step: int, global_batch_size: int, bucket_max_length: int) -> dict[str, np.ndarray]:
    """`fake_labels` [b, bucket_max_length] (blank-padded) and `fake_label_lengths` [b] of this process."""
    rng = np.random.default_rng([self._seed, step, 0x74657874])  # 'text': its own stream.
    lengths = self.lengths_for_bucket(bucket_max_length)
    labels = np.zeros((global_batch_size, bucket_max_length), np.int32)
    label_lengths = np.zeros((global_batch_size,), np.int32)
    for row in range(global_batch_size):
      group = self._groups[int(rng.choice(lengths))]
      word = group[int(rng.integers(len(group)))]
      # No draw at all without capitals: the text of runs from before the option stays the same.
      if self.capitalize_probability > 0 and rng.random() < self.capitalize_probability:
        capitalised = word[0].upper() + word[1:]
        # A capital the alphabet lacks (or one that is two letters, as 'ß'.upper()): left as it is.
        if len(capitalised) == len(word) and not self._alphabet.unknown_characters(capitalised[0]):
          word = capitalised
      encoded = self._alphabet.encode(word)
      labels[row, :len(encoded)] = encoded
      label_lengths[row] = len(encoded)
    per_process = global_batch_size // jax.process_count()
    rows = slice(jax.process_index() * per_process, (jax.process_index() + 1) * per_process)
    return {"fake_labels": labels[rows], "fake_label_lengths": label_lengths[rows]}


def trained_generator(components: ScrabbleComponents, state: Any, step: int = 0, dataset: str = "",
                      lexicon_file: str = "") -> word_generators.TrainedGenerator:
  """G of a train state (or of a checkpoint restored as a tree) behind the generator interface, with
  its EMA weights when the run keeps them; its random words come from `lexicon_file` ('' built-in)."""
  return word_generators.wrap(components.generator, workdir_lib.inference_variables(state), step, dataset,
                              lexicon_file=lexicon_file)


def sample_figures(config: ml_collections.ConfigDict, components: ScrabbleComponents, state: TrainState,
                   step: int) -> dict[str, Any]:
  """Fixed words (`config.sample_words`) in fixed styles (one z per row, seeded by `config.seed`), each
  column labelled with the word it was asked to write."""
  generator = trained_generator(components, state,
                                lexicon_file=os.path.expanduser(config.get("lexicon", "") or ""))
  figures = {"samples": word_generators.text_figure(
      generator, list(config.sample_words), config.sample_num_styles, seed=config.seed,
      title=f"ScrabbleGAN, step {step}: one style (z) per row, the text asked above each column")}
  if components.num_categorical:  # The same words and z in every row, one code value per row.
    figures["style_code"] = word_style_codes.style_code_figure(generator, list(config.sample_words),
                                                               config.seed, step)
  return figures


def style_code_scores(config: ml_collections.ConfigDict, state: Any, generator: TrainedGenerator,
                      style_reader: StyleReaderFactory | None = None) -> dict[str, Any]:
  """The style-code scores of a run with a categorical code (`evaluation.word_style_codes`): factors read
  by `style_reader` (hand measurements without one, or with config.style_code_reader_words=0), CER per
  value with the evaluation recognizer when the run has one."""
  word_length = word_generators.DEFAULT_WORD_LENGTH
  reader = None
  if style_reader is not None and config.style_code_reader_words > 0:
    reader = style_reader(config, word_length)
  recognizer = None
  if config.eval_recognizer_workdir:
    recognizer = recognizer_eval.load_recognizer(config.eval_recognizer_workdir,
                                                 word_generators.alphabet_of(generator))
  discriminator = build_components(config).discriminator
  q_fn = word_style_codes.make_q_fn(discriminator, workdir_lib.inference_variables(state, "discriminator"))
  return word_style_codes.evaluate_style_codes(
      generator, q_fn, reader, handwriting.load_split(config, "test"), num_samples=config.style_code_samples,
      num_words=config.style_code_num_words, num_real_words=config.eval_num_words, seed=config.seed,
      word_length=word_length, recognizer=recognizer)


def evaluate(config: ml_collections.ConfigDict, state: Any, style_reader: StyleReaderFactory | None = None
             ) -> dict[str, Any]:
  """The scores of `eval.json` for the G of `state` (a train state or a restored tree): CER, WER,
  FID and style diversity read by the evaluation recognizer (`scrabble_eval`), and for a run with
  style codes their scores (`style_code_scores`)."""
  step = int(jax.device_get(workdir_lib.as_tree(state)["step"]))
  generator = word_generators.from_config(config, workdir_lib.inference_variables(state), step)
  codes = style_code_scores(config, state, generator, style_reader) if config.get("num_categorical", 0) else {}
  if not config.eval_recognizer_workdir:
    logging.warning("config.eval_recognizer_workdir is empty: no CER, WER or FID in eval.json.")
    return {"skipped": "no config.eval_recognizer_workdir (see configs/scrabble.py)", **codes, "step": step}
  return {**scrabble_eval.evaluate(config, generator), **codes, "step": step}


def _mean_metrics(host: list[dict[str, Any]]) -> dict[str, float]:
  """Averages a window of step metrics (on the host); D's and G's metrics only over the steps that
  updated D or G (the recognizer warm-up updates neither, and G learns every `g_every` steps)."""
  d_steps = [m for m in host if float(m["d_updated"]) > 0]
  g_steps = [m for m in host if float(m["g_updated"]) > 0]
  scalars = {}
  for key in host[0]:
    if key in ("d_updated", "g_updated"):
      continue
    # Q's loss in D's update (info_loss_d_*) and in G's (info_loss_*) follow their update.
    by_d = key.startswith("d_") or key.startswith("info_loss_d_")
    by_g = key.startswith("g_") or (key.startswith("info_loss_") and not by_d)
    rows = g_steps if by_g else d_steps if by_d else host
    if rows:
      scalars[key] = float(np.mean([float(m[key]) for m in rows]))
  scalars["g_updates_in_window"] = float(len(g_steps))
  return scalars


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str,
                       style_reader: StyleReaderFactory | None = None) -> TrainState:
  """Trains ScrabbleGAN in `workdir` (resuming from its latest checkpoint), then writes eval.json (see
  `run.loop.train` for `max_minutes`, preemption and the non-finite guard; `evaluate` for
  `style_reader`)."""
  handwriting.record_alphabet(config, workdir)  # Before anything reads the alphabet file.
  mesh = parallel.make_mesh()
  components = build_components(config, mesh)
  train_source = handwriting.load_split(config, "train")
  # Semi-supervised (config.unlabeled): R learns from the labeled words only, D from unlabeled ones.
  labeled_source, _, unlabeled_images = handwriting.semi_supervised_sources(config, train_source)
  if unlabeled_images is not None:
    logging.info("semi-supervised: D's real words are %s; R learns from %d labeled words",
                 unlabeled_images.description, len(labeled_source))
  lengths, capitalised = handwriting.scan_lengths_and_capitals(labeled_source)
  data_iterator = iter(handwriting.make_batches(config, labeled_source, config.batch_size, train=True,
                                                lengths=lengths))
  fake_text = LexiconText(config.seed, config.bucket_size, config.lexicon_max_length,
                          alphabet=text.alphabet_of(config),
                          lexicon_file=os.path.expanduser(config.get("lexicon", "") or ""))
  capitalize = config.get("fake_capitalize", 0.0)  # Run folders from before the option: none.
  if capitalize == -1:
    capitalize = fake_text.probability_for_share(float(capitalised.mean()))
    logging.info("generated words: %.3f of the training words start with a capital; lexicon words are "
                 "capitalised with probability %.3f to match", float(capitalised.mean()), capitalize)
  fake_text.capitalize_probability = capitalize
  state = create_state(config, components, mesh)
  logging.info("parameters: %s", ", ".join(
      f"{name} {count_params(net.params) / 1e6:.2f} M" for name, net in state.nets.items()))
  jitted = make_train_step(components, config.g_schedule)

  def step_fn(state, step):
    real = next(data_iterator)
    local = {k: real[k] for k in _REAL_KEYS}
    local.update(fake_text.sample(step, config.batch_size, real["labels"].shape[1]))
    if unlabeled_images is not None:
      # None where no unlabeled word fits the bucket: D's real words are then the labeled ones.
      local.update(unlabeled_images.sample(step, config.batch_size, real["labels"].shape[1]) or
                   {"d_image": local["image"], "d_image_widths": local["image_widths"]})
    return jitted(state, parallel.global_batch(local, mesh), step)

  def draw(state, step):
    if step < config.r_warmup_steps:  # G has not learned yet: its samples and CER say nothing.
      return
    workdir_lib.write_figures(workdir, sample_figures(config, components, state, step), step)

  started = time.time()
  curve_every = config.get("curve_every_steps", 0) if config.eval_recognizer_workdir else 0
  curve = scrabble_eval.CurveEval(config, config.curve_num_words) if curve_every else None

  def legibility(state, step):
    if step < config.r_warmup_steps:
      return None
    scores = curve(trained_generator(components, state, lexicon_file=os.path.expanduser(config.lexicon)))
    scores = {k: v for k, v in scores.items() if v is not None}
    # started_at tells the processes of a resumed run apart (benchmarks/cer_curve.py).
    return {**scores, "minutes": (time.time() - started) / 60, "started_at": started}

  def finish(state, step):
    workdir_lib.write_figures(workdir, sample_figures(config, components, state, step))
    return evaluate(config, state, style_reader)

  schedule = loop.Schedule(num_steps=config.num_train_steps, log_every_steps=config.log_every_steps,
                           checkpoint_every_steps=config.checkpoint_every_steps, max_minutes=config.max_minutes,
                           keep_checkpoints=config.keep_checkpoints)
  return loop.train(workdir=workdir, config=config, state=state, step_fn=step_fn, schedule=schedule,
                    data_iterator=data_iterator, summarize=_mean_metrics,
                    key_metrics=("d_loss", "g_loss_adv", "g_loss_ctc", "r_ctc_loss")
                    + (("info_loss_categorical",) if components.num_categorical else ()),
                    hooks=[loop.Hook(config.sample_every_steps, draw),
                           loop.Hook(curve_every, legibility, prefix="curve/")],
                    finish=finish, what="ScrabbleGAN training")
