"""`train_and_evaluate(config, workdir)` for ScrabbleGAN (configs/scrabble.py).

Reading order, as the MNIST trainer: the networks and optimizers come from the config
(`build_components`), the state is created replicated on a data-parallel mesh (`create_state`), the
loop at the bottom feeds global batches (real words plus lexicon text in the same length bucket) to
the jitted `scrabble_step.train_step`, logs, draws fixed words in fixed styles, checkpoints state and
data position together, and finally evaluates into `workdir/eval.json`
(`ganxai_jax.evaluation.scrabble_eval`). Running the same command again resumes from the latest
checkpoint.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import ml_collections
import numpy as np
import optax
from absl import logging

from ganxai_jax import generation
from ganxai_jax.data import handwriting
from ganxai_jax.data import lexicon
from ganxai_jax.data import text
from ganxai_jax.evaluation import scrabble_eval
from ganxai_jax.models import recognizer as recognizer_lib
from ganxai_jax.models import scrabblegan
from ganxai_jax.models.layers import count_params
from ganxai_jax.training import guards
from ganxai_jax.training import parallel
from ganxai_jax.training.metric_writer import MetricWriter, Progress
from ganxai_jax.training.scrabble_step import ScrabbleComponents, make_schedule, make_train_step
from ganxai_jax.training.state import TrainState, init_net
from ganxai_jax.training.trainer import start_run, write_figures, write_json

_REAL_KEYS = ("image", "labels", "label_lengths", "image_widths", "valid")


def resolve_conv_impl(conv_impl: str, backend: str | None = None) -> str:
  """'auto' picks shifted matmuls on CPU (XLA:CPU's conv weight gradient is slow) and lax elsewhere."""
  if conv_impl != "auto":
    return conv_impl
  return "shifted_matmul" if (backend or jax.default_backend()) == "cpu" else "lax"


def build_components(config: ml_collections.ConfigDict, mesh: Any = None) -> ScrabbleComponents:
  """G, D and R of the configured size, their Adam optimizers and the step's options."""
  conv_impl = resolve_conv_impl(config.conv_impl)
  generator = scrabblegan.Generator(width_multiplier=config.width_multiplier, z_dim=config.z_dim,
                                    attention_resolutions=tuple(config.g_attention), conv_impl=conv_impl)
  discriminator = scrabblegan.Discriminator(width_multiplier=config.width_multiplier,
                                            attention_resolutions=tuple(config.d_attention),
                                            conv_impl=conv_impl)
  recognizer = recognizer_lib.Recognizer(width_multiplier=config.width_multiplier)

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


def abstract_state(config: ml_collections.ConfigDict, components: ScrabbleComponents, mesh: Any) -> Any:
  """The TrainState's structure, shapes and placement without computing it: the target to restore a
  checkpoint into when nothing trains (compiling the initialisation of the three nets takes minutes)."""
  return parallel.abstract_replicated(_init_fn(components), mesh, jax.random.PRNGKey(config.seed))


class LexiconText:
  """Text for generated words: lexicon words in the real batch's length bucket, fixed by (seed, step).

  Every process draws the same global batch and keeps its own rows, as the real pipeline does.
  """

  def __init__(self, seed: int, bucket_size: int, max_length: int):
    self._seed = seed
    self._bucket_size = bucket_size
    self._groups = lexicon.words_by_length(lexicon.load_lexicon(1, max_length))

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
      encoded = text.encode(group[int(rng.integers(len(group)))])
      labels[row, :len(encoded)] = encoded
      label_lengths[row] = len(encoded)
    per_process = global_batch_size // jax.process_count()
    rows = slice(jax.process_index() * per_process, (jax.process_index() + 1) * per_process)
    return {"fake_labels": labels[rows], "fake_label_lengths": label_lengths[rows]}


def sample_figures(config: ml_collections.ConfigDict, components: ScrabbleComponents, state: TrainState,
                   step: int) -> dict[str, Any]:
  """Fixed words (`config.sample_words`) in fixed styles (one z per row, seeded by `config.seed`)."""
  variables = generation.generator_variables(state)
  figure = generation.text_figure(components.generator, variables, list(config.sample_words),
                                  config.sample_num_styles, seed=config.seed,
                                  title=f"ScrabbleGAN, step {step}: one style (z) per row")
  return {"samples": figure}


def _write_and_close(workdir: str, figures: dict[str, Any], step: int | None = None) -> None:
  """Saves the figures (see `trainer.write_figures`) and frees them: pyplot keeps figures alive."""
  write_figures(workdir, figures, step)
  for figure in figures.values():
    plt.close(figure)


def _mean_metrics(host: list[dict[str, Any]]) -> dict[str, float]:
  """Averages a window of step metrics (on the host); D's and G's metrics only over the steps that
  updated D or G (the recognizer warm-up updates neither, and G learns every `g_every` steps)."""
  d_steps = [m for m in host if float(m["d_updated"]) > 0]
  g_steps = [m for m in host if float(m["g_updated"]) > 0]
  scalars = {}
  for key in host[0]:
    if key in ("d_updated", "g_updated"):
      continue
    rows = g_steps if key.startswith("g_") else d_steps if key.startswith("d_") else host
    if rows:
      scalars[key] = float(np.mean([float(m[key]) for m in rows]))
  scalars["g_updates_in_window"] = float(len(g_steps))
  return scalars


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> TrainState:
  """Trains ScrabbleGAN in `workdir` (resuming from its latest checkpoint), then writes eval.json.

  Stops after `config.max_minutes` when set (checkpoint, then evaluation). As the MNIST trainer: raises
  `guards.Preempted` after saving when SIGTERM/SIGINT arrives, and `guards.NonFiniteLoss` (keeping the
  last good checkpoint) when a loss turns NaN or infinite.
  """
  mesh = parallel.make_mesh()
  if config.eval_recognizer_workdir and not os.path.isdir(config.eval_recognizer_workdir):
    raise FileNotFoundError(f"eval_recognizer_workdir {config.eval_recognizer_workdir} does not exist.")
  if config.batch_size % jax.device_count():
    raise ValueError(f"batch_size {config.batch_size} is not a multiple of {jax.device_count()} devices.")
  components = build_components(config, mesh)
  train_source = handwriting.load_split(config, "train")
  data_iter = iter(handwriting.make_batches(config, train_source, config.batch_size, train=True))
  fake_text = LexiconText(config.seed, config.bucket_size, config.lexicon_max_length)

  state, checkpointer, first_step, last_saved = start_run(
      config, workdir, create_state(config, components, mesh), data_iter)
  logging.info("Parameters: %s.", ", ".join(
      f"{name} {count_params(net.params) / 1e6:.2f} M" for name, net in state.nets.items()))

  step_fn = make_train_step(components, config.g_schedule)
  writer = MetricWriter(workdir)
  progress = Progress(config.num_train_steps, first_step)
  deadline = time.time() + 60 * config.max_minutes if config.max_minutes > 0 else None
  pending: list[dict[str, jax.Array]] = []
  step = first_step
  try:
    with guards.PreemptionGuard() as preemption:
      while step < config.num_train_steps:
        real = next(data_iter)
        local = {k: real[k] for k in _REAL_KEYS}
        local.update(fake_text.sample(step, config.batch_size, real["labels"].shape[1]))
        state, metrics = step_fn(state, parallel.global_batch(local, mesh), step)
        step += 1
        pending.append(metrics)
        out_of_time = deadline is not None and time.time() > deadline
        is_last = step == config.num_train_steps or out_of_time
        save_now = step % config.checkpoint_every_steps == 0 or is_last
        stop_now = preemption.should_stop()
        if step % config.log_every_steps == 0 or save_now or stop_now:
          history = jax.device_get(pending)
          guards.check_finite(step, history, last_saved)
          if step % config.log_every_steps == 0 or is_last:
            scalars = _mean_metrics(history)
            pending = []
            writer.write(step, scalars)
            progress(step, scalars)
        if config.sample_every_steps and step % config.sample_every_steps == 0:
          _write_and_close(workdir, sample_figures(config, components, state, step), step)
        if save_now or stop_now:
          checkpointer.save(step, state, data_iter)
          last_saved = step
        if stop_now and not is_last:
          raise guards.Preempted(step, preemption.signal_name)
        if out_of_time:
          logging.info("Stopping at step %d: the %.1f-minute limit is reached.", step, config.max_minutes)
          break
  finally:  # Also on errors: finish writing the checkpoints already started.
    checkpointer.close()

  final_step = int(jax.device_get(state.step))
  _write_and_close(workdir, sample_figures(config, components, state, final_step))
  if config.eval_recognizer_workdir:
    scores = scrabble_eval.evaluate(config, components.generator, generation.generator_variables(state))
  else:
    logging.warning("config.eval_recognizer_workdir is empty: no CER, WER or FID in eval.json.")
    scores = {"skipped": "no config.eval_recognizer_workdir (see configs/scrabble.py)"}
  scores["step"] = final_step
  writer.write(final_step, {f"eval/{k}": v for k, v in scores.items() if isinstance(v, (int, float))})
  writer.close()
  write_json(os.path.join(workdir, "eval.json"), scores)
  logging.info("eval: %s", json.dumps({k: v for k, v in scores.items() if k != "examples"}, sort_keys=True))
  return state
