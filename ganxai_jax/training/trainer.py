"""`train_and_evaluate(config, workdir)` for the MNIST GANs: GAN, CGAN, SAGAN and InfoGAN.

Reading order: the model and optimizer come from the config (`build_components`), the state is created
replicated on a data-parallel mesh (`create_state`), the loop at the bottom feeds global batches to the
jitted `gan_step.train_step`, logs, draws, checkpoints (state and data position together) and finally
evaluates into `workdir/eval.json`. Running the same command again resumes from the latest checkpoint.
"""
from __future__ import annotations

import functools
import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging

from ganxai_jax.data import pipeline
from ganxai_jax.evaluation import classifier as classifier_lib
from ganxai_jax.errors import UsageError
from ganxai_jax.evaluation import infogan_eval
from ganxai_jax.evaluation import mnist_eval
from ganxai_jax.models import dcgan
from ganxai_jax.models.latent import LatentSpec
from ganxai_jax.training import guards, parallel
from ganxai_jax.training.checkpoints import Checkpointer
from ganxai_jax.training.gan_step import GANComponents, generate, train_step
from ganxai_jax.training.metric_writer import MetricWriter, Progress
from ganxai_jax.training.state import TrainState, init_net
from ganxai_jax.viz import grids

MODELS = ("gan", "cgan", "sagan", "infogan")


def latent_spec(config: ml_collections.ConfigDict) -> LatentSpec:
  """The latent space the config asks for."""
  return LatentSpec(noise_dim=config.latent_dim, num_classes=config.num_classes,
                    num_categorical=config.num_categorical, num_continuous=config.num_continuous)


def build_components(config: ml_collections.ConfigDict, mesh: Any = None) -> GANComponents:
  """Generator, discriminator, optimizers and latent space of the configured model."""
  if config.model not in MODELS:
    raise ValueError(f"model={config.model!r} is not one of {MODELS}.")
  spec = latent_spec(config)
  generator = dcgan.Generator(latent_dim=config.latent_dim, num_classes=config.num_classes,
                              channels=config.g_channels, spectral_norm=config.g_spectral_norm,
                              attention_resolutions=tuple(config.g_attention),
                              hidden_dim=config.g_hidden_dim)
  discriminator = dcgan.Discriminator(num_classes=config.num_classes, channels=config.d_channels,
                                      spectral_norm=config.d_spectral_norm,
                                      attention_resolutions=tuple(config.d_attention),
                                      num_categorical=config.num_categorical,
                                      num_continuous=config.num_continuous,
                                      batch_norm=config.d_batch_norm,
                                      hidden_dim=config.d_hidden_dim)
  return GANComponents(
      generator=generator, discriminator=discriminator,
      g_tx=optax.adam(config.g_lr, b1=config.beta1, b2=config.beta2),
      d_tx=optax.adam(config.d_lr, b1=config.beta1, b2=config.beta2),
      latent_spec=spec, loss=config.loss, info_weight=config.info_weight,
      info_continuous_weight=config.info_continuous_weight, ema_decay=config.ema_decay,
      # BatchNorm in D or in Q: real and fake batches apart, as G's step sees a batch of fakes.
      separate_d_batches=config.d_batch_norm or bool(config.num_categorical or config.num_continuous),
      batch_sharding=parallel.batch_sharding(mesh) if mesh is not None else None)


def _init_fn(components: GANComponents):
  def init(rng):
    g_key, d_key = jax.random.split(rng)
    spec = components.latent_spec
    latent = spec.sample(g_key, 2)
    g_net = init_net(components.generator, components.g_tx, g_key, spec.vector(latent), latent.get("labels"))
    d_net = init_net(components.discriminator, components.d_tx, d_key, jnp.zeros((2, 28, 28, 1)),
                     latent.get("labels"))
    return TrainState(step=jnp.zeros((), jnp.int32), rng=jax.random.fold_in(rng, 1),
                      nets={"generator": g_net, "discriminator": d_net},
                      ema_params=g_net.params if components.ema_decay > 0 else None)
  return init


def create_state(config: ml_collections.ConfigDict, components: GANComponents, mesh: Any) -> TrainState:
  """A fresh TrainState from `config.seed`, replicated on `mesh`."""
  return jax.jit(_init_fn(components), out_shardings=parallel.replicated(mesh))(jax.random.PRNGKey(config.seed))


def abstract_state(config: ml_collections.ConfigDict, components: GANComponents, mesh: Any) -> Any:
  """The TrainState's structure, shapes and placement, computing nothing: a restore target."""
  return parallel.abstract_replicated(_init_fn(components), mesh, jax.random.PRNGKey(config.seed))


def make_train_step(components: GANComponents):
  """The jitted step; the old state's buffers are donated."""
  return jax.jit(functools.partial(train_step, components=components), donate_argnums=0)


def make_generate_fn(components: GANComponents, state: TrainState, use_ema: bool = True):
  """latent (host arrays) -> images (host array), with G in inference mode."""
  g_net = state.nets["generator"]
  params = state.ema_params if (use_ema and state.ema_params is not None) else g_net.params
  variables = g_net.variables(params)

  @jax.jit
  def _gen(variables, latent):
    images, _ = generate(components, variables, latent)
    return images

  return lambda latent: np.asarray(_gen(variables, {k: jnp.asarray(v) for k, v in latent.items()}))


def sample_figures(components: GANComponents, state: TrainState, seed: int, step: int
                   ) -> dict[str, Any]:
  """The figures drawn during training: a sample grid, for CGAN the style/content grid, for InfoGAN
  the traversals of its codes."""
  spec = components.latent_spec
  generate_fn = make_generate_fn(components, state)
  figures = {}
  latent = jax.tree_util.tree_map(np.asarray, spec.sample(jax.random.key(seed), 64))
  if spec.num_classes:
    latent["labels"] = np.arange(64) % spec.num_classes
  figures["samples"] = grids.image_grid(generate_fn(latent), 8, 8, title=f"samples, step {step}")
  if spec.num_classes:
    rows = 8
    base = jax.tree_util.tree_map(np.asarray, spec.sample(jax.random.key(seed + 1), rows))
    grid = {k: np.repeat(v, spec.num_classes, axis=0) for k, v in base.items()}
    grid["labels"] = np.tile(np.arange(spec.num_classes), rows)
    figures["style_content"] = grids.image_grid(
        generate_fn(grid), rows, spec.num_classes, col_labels=[str(d) for d in range(spec.num_classes)],
        row_labels=[f"z{r}" for r in range(rows)],
        title=f"style (rows: one z each) × content (columns: digit), step {step}")
  if spec.num_categorical:
    figures.update(infogan_eval.traversal_figures(generate_fn, spec, seed, step))
  return figures


def write_figures(workdir: str, figures: dict[str, Any], step: int | None = None) -> None:
  """Saves figures as `workdir/figures/NAME[_STEP].png` (process 0 only)."""
  if jax.process_index() != 0:
    return
  folder = os.path.join(workdir, "figures")
  os.makedirs(folder, exist_ok=True)
  for name, fig in figures.items():
    suffix = "" if step is None else f"_{step:06d}"
    grids.save(fig, os.path.join(folder, f"{name}{suffix}.png"))


def load_eval_data(config: ml_collections.ConfigDict) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
  """The data set's train and test splits as scaled numpy arrays."""
  builder = pipeline.prepare_builder(config.dataset, config.data_dir, config.manual_dir or None)
  return (pipeline.load_arrays(builder.as_data_source("train")),
          pipeline.load_arrays(builder.as_data_source("test")))


def evaluate(config: ml_collections.ConfigDict, components: GANComponents, state: TrainState,
             eval_data: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None
             ) -> dict[str, float]:
  """Every score of the model in `state` (see `mnist_eval`, and `infogan_eval` for InfoGAN's codes),
  plus the classifier's test accuracy."""
  train, test = eval_data or load_eval_data(config)
  cache = os.path.join(config.data_dir or pipeline.default_data_dir(), "ganxai_classifiers", config.dataset)
  classifier_params, accuracy = classifier_lib.load_or_train(
      cache, train, test, steps=config.classifier_steps)
  generate_fn = make_generate_fn(components, state)
  scores = mnist_eval.evaluate_generator(generate_fn, components.latent_spec, classifier_params, train, test,
                                         seed=config.seed)
  if components.latent_spec.num_categorical:
    q_fn = infogan_eval.make_q_fn(components.discriminator, state.nets["discriminator"].variables())
    scores.update(infogan_eval.evaluate_codes(generate_fn, q_fn, components.latent_spec, classifier_params,
                                              test, seed=config.seed))
  scores["classifier_test_accuracy"] = accuracy
  scores["step"] = int(jax.device_get(state.step))
  return scores


def write_json(path: str, payload: dict[str, Any]) -> None:
  """Writes JSON through a temporary file (process 0 only), so a reader never sees half a file."""
  if jax.process_index() != 0:
    return
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w", encoding="utf-8") as fh:
    json.dump(payload, fh, indent=2, sort_keys=True)
  os.replace(tmp, path)


def load_run_config(workdir: str) -> ml_collections.ConfigDict:
  """The config a run in `workdir` was trained with (its `config.json`)."""
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise UsageError(f"workdir {workdir!r} holds no config.json: it is not a training run's folder.")
  with open(path, encoding="utf-8") as fh:
    return ml_collections.ConfigDict(json.load(fh))


def restore_for_inference(workdir: str) -> tuple[ml_collections.ConfigDict, GANComponents, TrainState]:
  """Config, components and the latest trained state of the run in `workdir` (on all local devices)."""
  config = load_run_config(workdir)
  checkpointer = Checkpointer(workdir)
  if checkpointer.latest_step() is None:
    raise UsageError(f"workdir {workdir!r} holds no checkpoint; train first with experiments.train.")
  mesh = parallel.make_mesh()
  components = build_components(config, mesh)
  state = checkpointer.restore_latest(abstract_state(config, components, mesh))
  checkpointer.close()
  return config, components, state


def evaluate_workdir(workdir: str) -> dict[str, float]:
  """Evaluates the latest checkpoint in `workdir` and writes `workdir/eval.json`."""
  config, components, state = restore_for_inference(workdir)
  scores = evaluate(config, components, state)
  write_json(os.path.join(workdir, "eval.json"), scores)
  logging.info("eval: %s", json.dumps(scores, sort_keys=True))
  return scores


def start_run(config: ml_collections.ConfigDict, workdir: str, state: TrainState, data_iter: Any
              ) -> tuple[TrainState, Checkpointer, int, int | None]:
  """Writes `workdir/config.json` and resumes from the latest checkpoint when there is one.

  Returns `(state, checkpointer, first_step, last_saved_step)`; the last saved step is None on a fresh run.
  """
  if jax.process_index() == 0:
    os.makedirs(workdir, exist_ok=True)
  write_json(os.path.join(workdir, "config.json"), config.to_dict())
  checkpointer = Checkpointer(workdir, max_to_keep=config.keep_checkpoints)
  restored = checkpointer.restore_latest(state, data_iter)
  if restored is not None:
    state = restored
    logging.info("Resumed from step %d of %s", int(jax.device_get(state.step)), checkpointer.directory)
  first_step = int(jax.device_get(state.step))
  return state, checkpointer, first_step, first_step if restored is not None else None


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> TrainState:
  """Trains the configured MNIST GAN in `workdir`, resuming from its latest checkpoint if any.

  Raises `guards.Preempted` after saving when SIGTERM/SIGINT arrives, and `guards.NonFiniteLoss`
  (keeping the last good checkpoint) when a loss turns NaN or infinite.
  """
  # Every check on the input comes before anything is written.
  mesh = parallel.make_mesh()
  pipeline.local_batch_size(config.batch_size)
  pipeline.check_manual_dir(config.dataset, config.manual_dir or None)
  components = build_components(config, mesh)
  builder = pipeline.prepare_builder(config.dataset, config.data_dir, config.manual_dir or None)
  data_iter = pipeline.train_iterator(builder.as_data_source("train"), config.batch_size, config.seed)
  eval_data = load_eval_data(config)

  state, checkpointer, first_step, last_saved = start_run(
      config, workdir, create_state(config, components, mesh), data_iter)

  step_fn = make_train_step(components)
  writer = MetricWriter(workdir)
  progress = Progress(config.num_train_steps, first_step)
  pending: list[dict[str, jax.Array]] = []
  try:
    with guards.PreemptionGuard() as preemption:
      for step in range(first_step + 1, config.num_train_steps + 1):
        batch = parallel.global_batch(next(data_iter), mesh)
        state, metrics = step_fn(state, batch)
        pending.append(metrics)
        is_last = step == config.num_train_steps
        save_now = step % config.checkpoint_every_steps == 0 or is_last
        stop_now = preemption.should_stop()
        if step % config.log_every_steps == 0 or save_now or stop_now:
          history = jax.device_get(pending)
          guards.check_finite(step, history, last_saved)
          if step % config.log_every_steps == 0 or is_last:
            scalars = {k: float(np.mean([h[k] for h in history])) for k in history[0]}
            writer.write(step, scalars)
            progress(step, scalars)
            pending = []
        if config.sample_every_steps and step % config.sample_every_steps == 0:
          write_figures(workdir, sample_figures(components, state, config.seed, step), step)
        if config.eval_every_steps and step % config.eval_every_steps == 0 and not is_last:
          writer.write(step, {f"eval/{k}": v for k, v in evaluate(config, components, state, eval_data).items()
                              if k != "step"})
        if save_now or stop_now:
          checkpointer.save(step, state, data_iter)
          last_saved = step
        if stop_now and not is_last:
          raise guards.Preempted(step, preemption.signal_name)
  finally:  # Also on errors: finish writing the checkpoints already started.
    checkpointer.close()
  final_step = int(jax.device_get(state.step))
  write_figures(workdir, sample_figures(components, state, config.seed, final_step))
  scores = evaluate(config, components, state, eval_data)
  writer.write(final_step, {f"eval/{k}": v for k, v in scores.items() if k != "step"})
  writer.close()
  write_json(os.path.join(workdir, "eval.json"), scores)
  logging.info("eval: %s", json.dumps(scores, sort_keys=True))
  return state
