"""`train_and_evaluate(config, workdir)` for the MNIST GANs: GAN, CGAN, SAGAN and InfoGAN.

Reading order: the model and optimizer come from the config (`build_components`), the state is created
replicated on a data-parallel mesh (`create_state`), and the project's training loop (`run.loop`)
feeds global batches to the jitted `gan_step.train_step`, draws samples, checkpoints (state and data
position together) and finally evaluates into `workdir/eval.json` (`evaluate`). Running the same
command again resumes from the latest checkpoint.
"""
from __future__ import annotations

import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from ganxai_jax.data import pipeline
from ganxai_jax.evaluation import classifier as classifier_lib
from ganxai_jax.evaluation import infogan_eval
from ganxai_jax.evaluation import mnist_eval
from ganxai_jax.evaluation import style_codes
from ganxai_jax.generators import mnist as mnist_generators
from ganxai_jax.models import dcgan
from ganxai_jax.run import loop, parallel
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.run.state import TrainState, init_net
from ganxai_jax.training import seeds
from ganxai_jax.training.gan_step import GANComponents, train_step
from ganxai_jax.viz import grids

# The metrics on the progress line.
KEY_METRICS = ("d_loss", "g_loss", "info_loss_categorical", "info_loss_continuous")


def build_components(config: ml_collections.ConfigDict, mesh: Any = None) -> GANComponents:
  """Generator, discriminator, optimizers and latent space of the configured model."""
  spec = mnist_generators.latent_spec(config)
  discriminator = dcgan.Discriminator(num_classes=config.num_classes, channels=config.d_channels,
                                      spectral_norm=config.d_spectral_norm,
                                      attention_resolutions=tuple(config.d_attention),
                                      num_categorical=config.num_categorical,
                                      num_continuous=config.num_continuous,
                                      batch_norm=config.d_batch_norm,
                                      hidden_dim=config.d_hidden_dim,
                                      # Run folders saved before the key existed: no spectral norm there.
                                      projection_spectral_norm=config.get("d_projection_spectral_norm", False))
  return GANComponents(
      generator=mnist_generators.build_generator(config), discriminator=discriminator,
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


def make_train_step(components: GANComponents):
  """The jitted step; the old state's buffers are donated."""
  return jax.jit(functools.partial(train_step, components=components), donate_argnums=0)


def trained_generator(components: GANComponents, state: Any, step: int = 0, dataset: str = ""
                      ) -> mnist_generators.TrainedGenerator:
  """G of a train state (or of a checkpoint restored as a tree) behind the generator interface, with
  its EMA weights when the run keeps them."""
  return mnist_generators.wrap(components.generator, components.latent_spec,
                               workdir_lib.inference_variables(state), "mnist", step, dataset)


def make_generate_fn(components: GANComponents, state: Any):
  """latent (host arrays) -> images (host array), with G in inference mode."""
  return mnist_generators.latent_generate_fn(trained_generator(components, state))


def sample_figures(components: GANComponents, state: TrainState, seed: int, step: int
                   ) -> dict[str, Any]:
  """The figures drawn during training: a sample grid, for CGAN the style/content grid, for InfoGAN
  the traversals of its codes, for a CGAN with codes also its style-code grid."""
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
  if spec.num_categorical and spec.num_classes:
    figures["style_code"] = style_codes.style_code_figure(generate_fn, spec, seed, step)
  return figures


def load_eval_data(config: ml_collections.ConfigDict) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
  """The data set's train and test splits as scaled numpy arrays."""
  builder = pipeline.prepare_builder(config.dataset, config.data_dir, config.manual_dir or None)
  return (pipeline.load_arrays(builder.as_data_source("train")),
          pipeline.load_arrays(builder.as_data_source("test")))


def evaluate(config: ml_collections.ConfigDict, components: GANComponents, state: Any,
             eval_data: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None
             ) -> dict[str, float]:
  """Every score of the model in `state` (a train state, or a checkpoint restored as a tree; see
  `mnist_eval`, `infogan_eval` for InfoGAN's codes, `style_codes` for the codes of a CGAN), plus the
  classifier's test accuracy."""
  train, test = eval_data or load_eval_data(config)
  cache = os.path.join(config.data_dir or pipeline.default_data_dir(), "ganxai_classifiers", config.dataset)
  classifier_params, accuracy = classifier_lib.load_or_train(
      cache, train, test, steps=config.classifier_steps)
  generate_fn = make_generate_fn(components, state)
  scores = mnist_eval.evaluate_generator(
      generate_fn, components.latent_spec, classifier_params, train, test, seed=config.seed,
      class_share_samples=config.get("class_share_samples", mnist_eval.CLASS_SHARE_SAMPLES))
  spec = components.latent_spec
  if spec.num_categorical:
    q_fn = infogan_eval.make_q_fn(components.discriminator,
                                  workdir_lib.inference_variables(state, "discriminator"))
    if spec.num_classes:  # The digit is given: the codes can only carry style.
      samples = config.get("style_code_samples", style_codes.NUM_SAMPLES)
      scores.update(style_codes.evaluate_style_codes(generate_fn, q_fn, spec, test, seed=config.seed,
                                                     num_samples=samples))
      if spec.num_continuous:
        scores.update(infogan_eval.continuous_scores(generate_fn, spec, config.seed, num_samples=samples))
    else:
      scores.update(infogan_eval.evaluate_codes(generate_fn, q_fn, spec, classifier_params, test,
                                                seed=config.seed))
  scores["classifier_test_accuracy"] = accuracy
  scores["step"] = int(jax.device_get(workdir_lib.as_tree(state)["step"]))
  return scores


def seed_parts(config: ml_collections.ConfigDict, components: GANComponents, train_source: Any,
               eval_data: tuple[dict[str, np.ndarray], dict[str, np.ndarray]]) -> seeds.SeedParts:
  """This trainer's parts for `seeds.train_and_evaluate`: the init, step, data, scores and figures of
  its plain runs."""
  return seeds.SeedParts(
      init_fn=_init_fn(components), train_step=functools.partial(train_step, components=components),
      data_iterator=lambda seed: pipeline.train_iterator(train_source, config.batch_size, seed),
      evaluate=lambda seed_config, state: evaluate(seed_config, components, state, eval_data),
      figures=lambda state, seed, step: sample_figures(components, state, seed, step),
      key_metrics=KEY_METRICS)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> TrainState:
  """Trains the configured MNIST GAN in `workdir`, resuming from its latest checkpoint if any, then
  writes its final figures and `eval.json` (see `run.loop.train` for stopping and guards). With
  `num_seeds` > 1 its seeds train as one vmapped program (`seeds.py`)."""
  mesh = parallel.make_mesh()
  pipeline.local_batch_size(config.batch_size)
  pipeline.check_manual_dir(config.dataset, config.manual_dir or None)
  components = build_components(config, mesh)
  builder = pipeline.prepare_builder(config.dataset, config.data_dir, config.manual_dir or None)
  eval_data = load_eval_data(config)
  if config.get("num_seeds", 1) > 1:
    return seeds.train_and_evaluate(config, workdir, seed_parts(config, components,
                                                                builder.as_data_source("train"), eval_data), mesh)
  data_iterator = pipeline.train_iterator(builder.as_data_source("train"), config.batch_size, config.seed)
  jitted = make_train_step(components)

  def step_fn(state, step):
    del step
    return jitted(state, parallel.global_batch(next(data_iterator), mesh))

  def draw(state, step):
    workdir_lib.write_figures(workdir, sample_figures(components, state, config.seed, step), step)

  def finish(state, step):
    workdir_lib.write_figures(workdir, sample_figures(components, state, config.seed, step))
    return evaluate(config, components, state, eval_data)

  hooks = [loop.Hook(config.sample_every_steps, draw),
           loop.Hook(config.eval_every_steps, lambda state, step: evaluate(config, components, state, eval_data),
                     skip_last=True, prefix="eval/")]
  schedule = loop.Schedule(num_steps=config.num_train_steps, log_every_steps=config.log_every_steps,
                           checkpoint_every_steps=config.checkpoint_every_steps,
                           max_minutes=config.max_minutes, keep_checkpoints=config.keep_checkpoints)
  return loop.train(workdir=workdir, config=config, state=create_state(config, components, mesh),
                    step_fn=step_fn, schedule=schedule, data_iterator=data_iterator,
                    key_metrics=KEY_METRICS, hooks=hooks,
                    finish=finish, what=f"{config.model} training")
