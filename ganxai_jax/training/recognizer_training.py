"""Training of the stand-alone handwriting recognizer (CTC), which scores generators.

`train_recognizer(config, workdir)` trains `ganxai_jax.models.recognizer.Recognizer` on the train split
of the configured word data set in the project's training loop (`run.loop`: resume, `max_minutes`,
preemption, the non-finite guard, metrics), then writes `workdir/eval.json` with the greedy-decoding
character and word error rates on the test split and `workdir/recognizer.json` (its width and
alphabet), from which `evaluation.recognizer_eval.load_recognizer` rebuilds it.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from ganxai_jax.data import handwriting
from ganxai_jax.data import words_pipeline
from ganxai_jax.evaluation import recognizer_eval
from ganxai_jax.models import recognizer as recognizer_lib
from ganxai_jax.run import loop
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.run.state import NetState, TrainState, apply_gradients, init_net

NET = "recognizer"


def make_optimizer(learning_rate: float) -> optax.GradientTransformation:
  """Adam with gradient clipping (CTC gradients spike on the first steps)."""
  return optax.chain(optax.clip_by_global_norm(5.0), optax.adam(learning_rate))


def init_state(model: nn.Module, optimizer: optax.GradientTransformation, rng: jax.Array) -> TrainState:
  """Fresh parameters (initialised on one 32×16 image; they do not depend on the width)."""
  net = init_net(model, optimizer, rng, jnp.ones((1, words_pipeline.IMAGE_HEIGHT, 16, 1)), train=False)
  # The step uses no randomness; the key is kept as raw data, which every checkpoint format stores.
  return TrainState(step=jnp.zeros((), jnp.int32), rng=jax.random.key_data(rng), nets={NET: net})


def make_train_step(model: nn.Module, optimizer: optax.GradientTransformation
                    ) -> Callable[[TrainState, Mapping[str, jax.Array]], tuple[TrainState, dict[str, jax.Array]]]:
  """A jitted `train_step(state, batch) -> (state, metrics)`; it compiles once per batch shape."""

  def train_step(state: TrainState, batch: Mapping[str, jax.Array]):
    net: NetState = state.nets[NET]

    def loss_fn(params):
      logits, updates = model.apply(net.variables(params), batch["image"], train=True, mutable=net.mutable)
      loss, usable = recognizer_lib.ctc_loss(logits, batch["labels"], batch["label_lengths"],
                                             batch["image_widths"], batch["valid"])
      return loss, (updates, usable)

    (loss, (updates, usable)), grads = jax.value_and_grad(loss_fn, has_aux=True)(net.params)
    new_net = apply_gradients(net, grads, optimizer, updates)
    return (state.replace(step=state.step + 1, nets={NET: new_net}),
            {"ctc_loss": loss, "usable_fraction": usable.mean()})

  return jax.jit(train_step)


def train_recognizer(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains the recognizer on the train split, evaluates on test, writes `workdir/eval.json`."""
  section = config.recognizer
  alphabet = handwriting.record_alphabet(config, workdir)
  model = recognizer_lib.Recognizer(width_multiplier=section.width_multiplier,
                                    num_classes=alphabet.num_classes)
  optimizer = make_optimizer(section.learning_rate)
  train_source = handwriting.load_split(config, "train")
  test_source = handwriting.load_split(config, "test")
  data_iterator = iter(handwriting.make_batches(config, train_source, section.batch_size, train=True))
  rng = jax.random.fold_in(jax.random.key(config.seed), 0x7265)  # 're': the recognizer's stream.
  jitted = make_train_step(model, optimizer)

  def step_fn(state, step):
    del step
    batch = next(data_iterator)
    return jitted(state, {k: batch[k] for k in recognizer_eval.BATCH_KEYS})

  results: dict[str, Any] = {}

  def finish(state, step):
    results.update(recognizer_eval.evaluate(model, workdir_lib.inference_variables(state, NET), config,
                                            test_source, section.batch_size))
    results.update(step=step, split="test", dataset=config.dataset,
                   train_seconds_this_run=round(time.time() - started, 1),
                   width_multiplier=section.width_multiplier,
                   num_params=int(sum(np.size(p) for p in jax.tree_util.tree_leaves(state.nets[NET].params))))
    return results

  workdir_lib.write_json(os.path.join(workdir, recognizer_eval.MODEL_FILE),
                         recognizer_eval.describe(section.width_multiplier, alphabet))
  started = time.time()
  schedule = loop.Schedule(num_steps=section.num_steps, log_every_steps=section.log_every_steps,
                           checkpoint_every_steps=section.checkpoint_every_steps,
                           max_minutes=section.max_minutes, keep_checkpoints=2)
  loop.train(workdir=workdir, config=config, state=init_state(model, optimizer, rng), step_fn=step_fn,
             schedule=schedule, data_iterator=data_iterator, key_metrics=("ctc_loss", "usable_fraction"),
             finish=finish, what="recognizer training")
  return results
