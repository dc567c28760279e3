"""Training and evaluation of the stand-alone handwriting recognizer (CTC), which scores generators.

`train_recognizer(config, workdir)` trains `ganxai_jax.models.recognizer.Recognizer` on the train
split of the configured word data set, checkpoints the training state and the input iterator under
`workdir/checkpoints` (resuming from there when present), and writes `workdir/eval.json` with the
greedy-decoding character and word error rates on the test split. `load_recognizer(workdir)` gives
the trained model back, for example to score generated words.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable, Mapping, Sequence

import flax
import flax.linen as nn
import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import orbax.checkpoint as ocp
from absl import logging

from ganxai_jax.data import handwriting
from ganxai_jax.data import text
from ganxai_jax.data import words_pipeline
from ganxai_jax.models import recognizer as recognizer_lib

_MODEL_FILE = "recognizer.json"
_BATCH_KEYS = ("image", "labels", "label_lengths", "image_widths", "valid")


@flax.struct.dataclass
class RecognizerState:
  """Everything a recognizer training run carries between steps."""
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any


def make_optimizer(learning_rate: float) -> optax.GradientTransformation:
  """Adam with gradient clipping (CTC gradients spike on the first steps)."""
  return optax.chain(optax.clip_by_global_norm(5.0), optax.adam(learning_rate))


def init_state(model: nn.Module, optimizer: optax.GradientTransformation,
               rng: jax.Array) -> RecognizerState:
  """Fresh parameters (initialised on one 32×16 image; they do not depend on the width)."""
  variables = model.init(rng, jnp.ones((1, words_pipeline.IMAGE_HEIGHT, 16, 1)), train=False)
  params = variables["params"]
  return RecognizerState(step=jnp.zeros((), jnp.int32), params=params,
                         batch_stats=variables.get("batch_stats", {}),
                         opt_state=optimizer.init(params))


def make_train_step(model: nn.Module, optimizer: optax.GradientTransformation
                    ) -> Callable[[RecognizerState, Mapping[str, jax.Array]],
                                  tuple[RecognizerState, dict[str, jax.Array]]]:
  """A jitted `train_step(state, batch) -> (state, metrics)`; it compiles once per batch shape."""

  def train_step(state: RecognizerState, batch: Mapping[str, jax.Array]):
    def loss_fn(params):
      logits, updates = model.apply({"params": params, "batch_stats": state.batch_stats},
                                    batch["image"], train=True, mutable=["batch_stats"])
      loss, usable = recognizer_lib.ctc_loss(logits, batch["labels"], batch["label_lengths"],
                                             batch["image_widths"], batch["valid"])
      return loss, (updates["batch_stats"], usable)

    (loss, (batch_stats, usable)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    new_state = RecognizerState(step=state.step + 1, params=params, batch_stats=batch_stats,
                                opt_state=opt_state)
    return new_state, {"ctc_loss": loss, "usable_fraction": usable.mean()}

  return jax.jit(train_step)


def make_predict_step(model: nn.Module) -> Callable[[Any, Mapping[str, jax.Array]], jax.Array]:
  """A jitted `predict(variables, batch) -> frame ids [B, T]` (argmax, padding frames blank)."""

  def predict(variables, batch):
    logits = model.apply(variables, batch["image"], train=False)
    return recognizer_lib.greedy_frame_ids(logits, batch["image_widths"])

  return jax.jit(predict)


def read_words(predict: Callable, variables: Any, batches) -> tuple[list[str], list[str]]:
  """Greedy CTC transcriptions and references of every valid example of an evaluation pass."""
  references, hypotheses = [], []
  for batch in batches:
    frame_ids = np.asarray(predict(variables, {k: batch[k] for k in _BATCH_KEYS}))
    for row in np.flatnonzero(batch["valid"]):
      references.append(text.decode(batch["labels"][row, :batch["label_lengths"][row]]))
      hypotheses.append(text.ctc_greedy_decode(frame_ids[row]))
  return references, hypotheses


def evaluate(model: nn.Module, variables: Any, config: ml_collections.ConfigDict,
             source: Sequence[Mapping[str, Any]], batch_size: int) -> dict[str, Any]:
  """CER and WER of greedy decoding over every example of `source`, plus a few readings."""
  batches = handwriting.make_batches(config, source, batch_size, train=False)
  references, hypotheses = read_words(make_predict_step(model), variables, batches)
  rates = text.character_and_word_error_rates(references, hypotheses)
  return {**rates, "num_words": len(references),
          "examples": [{"reference": r, "read": h} for r, h in zip(references[:20], hypotheses[:20])]}


def _checkpoint_manager(workdir: str) -> ocp.CheckpointManager:
  return ocp.CheckpointManager(
      os.path.join(os.path.abspath(workdir), "checkpoints"),
      options=ocp.CheckpointManagerOptions(max_to_keep=2, create=True))


def train_recognizer(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains the recognizer on the train split, evaluates on test, writes `workdir/eval.json`."""
  recognizer_config = config.recognizer
  os.makedirs(workdir, exist_ok=True)
  model = recognizer_lib.Recognizer(width_multiplier=recognizer_config.width_multiplier)
  optimizer = make_optimizer(recognizer_config.learning_rate)
  train_source = handwriting.load_split(config, "train")
  test_source = handwriting.load_split(config, "test")
  train_iterator = iter(handwriting.make_batches(config, train_source, recognizer_config.batch_size,
                                                 train=True))

  rng = jax.random.fold_in(jax.random.key(config.seed), 0x7265)  # 're': the recognizer's stream.
  state = init_state(model, optimizer, rng)
  with open(os.path.join(workdir, _MODEL_FILE), "w", encoding="utf-8") as fh:
    json.dump({"width_multiplier": recognizer_config.width_multiplier, "num_classes": text.NUM_CLASSES,
               "alphabet": text.ALPHABET}, fh, indent=2)

  manager = _checkpoint_manager(workdir)
  if manager.latest_step() is not None:
    restored = manager.restore(manager.latest_step(), args=ocp.args.Composite(
        state=ocp.args.StandardRestore(state),
        data=grain.checkpoint.CheckpointRestore(train_iterator)))
    state = restored.state
    logging.info("Resumed from step %d.", int(state.step))

  def save():
    if manager.latest_step() == int(state.step):
      return  # Already saved at this step (periodic save just before the end).
    manager.save(int(state.step), args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), data=grain.checkpoint.CheckpointSave(train_iterator)),
                 force=True)

  train_step = make_train_step(model, optimizer)
  start = time.time()
  deadline = start + 60 * recognizer_config.max_minutes if recognizer_config.max_minutes > 0 else None
  loss_sum, loss_count = 0.0, 0
  while int(state.step) < recognizer_config.num_steps:
    batch = next(train_iterator)
    state, metrics = train_step(state, {k: batch[k] for k in _BATCH_KEYS})
    step = int(state.step)
    loss_sum += float(metrics["ctc_loss"])
    loss_count += 1
    if step % recognizer_config.log_every_steps == 0:
      logging.info("step %d  ctc_loss %.4f  usable %.2f  %.2f steps/s", step, loss_sum / loss_count,
                   float(metrics["usable_fraction"]), step / max(time.time() - start, 1e-9))
      loss_sum, loss_count = 0.0, 0
    if step % recognizer_config.checkpoint_every_steps == 0:
      save()
    if deadline is not None and time.time() > deadline:
      logging.info("Stopping at step %d: the %.1f-minute limit is reached.", step,
                   recognizer_config.max_minutes)
      break
  save()
  manager.wait_until_finished()
  train_seconds = time.time() - start

  variables = {"params": state.params, "batch_stats": state.batch_stats}
  results = evaluate(model, variables, config, test_source, recognizer_config.batch_size)
  results.update(step=int(state.step), split="test", dataset=config.dataset,
                 train_seconds_this_run=round(train_seconds, 1),
                 width_multiplier=recognizer_config.width_multiplier,
                 num_params=int(sum(np.size(p) for p in jax.tree_util.tree_leaves(state.params))))
  with open(os.path.join(workdir, "eval.json"), "w", encoding="utf-8") as fh:
    json.dump(results, fh, indent=2)
  logging.info("Test CER %.4f  WER %.4f on %d words.", results["cer"], results["wer"],
               results["num_words"])
  return results


def load_recognizer(workdir: str) -> tuple[recognizer_lib.Recognizer, dict[str, Any]]:
  """The recognizer trained in `workdir` and its variables (latest checkpoint), for evaluation."""
  with open(os.path.join(workdir, _MODEL_FILE), encoding="utf-8") as fh:
    description = json.load(fh)
  if description["alphabet"] != text.ALPHABET:
    raise ValueError(f"The recognizer in {workdir} was trained on another alphabet.")
  model = recognizer_lib.Recognizer(width_multiplier=description["width_multiplier"])
  # The optimizer only shapes the restore target; its learning rate does not matter here.
  target = init_state(model, make_optimizer(1e-3), jax.random.key(0))
  manager = _checkpoint_manager(workdir)
  if manager.latest_step() is None:
    raise FileNotFoundError(f"No recognizer checkpoint under {workdir}/checkpoints.")
  restored = manager.restore(manager.latest_step(), args=ocp.args.Composite(
      state=ocp.args.StandardRestore(target)))
  state = restored.state
  return model, {"params": state.params, "batch_stats": state.batch_stats}
