"""The one table of run kinds: a config's `model` -> how to train it, evaluate it and load its generator.

Nothing else in the project tests the model's name: the commands (`experiments/train.py`, `evaluate`,
`generate`, `explain`, `sweep`) ask this table. A new kind of run is one more `RunKind` row.

  check(config)                      every value of its config, before anything runs (`config_checks`)
  train(config, workdir)             trains (or resumes) and writes eval.json
  evaluate(config, state)            the scores of a trained state (a train state or a restored tree)
  generator(config, variables, step) the generator behind `generators.interface.TrainedGenerator`
"""
from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Callable

import jax
import ml_collections
from absl import logging

from ganxai_jax import config_checks
from ganxai_jax.data import pipeline
from ganxai_jax.errors import UsageError
from ganxai_jax.explain import factor_reader
from ganxai_jax.generators import mnist as mnist_generators
from ganxai_jax.generators import words as word_generators
from ganxai_jax.generators.interface import TrainedGenerator
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.run.checkpoints import Checkpointer
from ganxai_jax.run.loop import numeric
from ganxai_jax.run.metrics import format_scalars
from ganxai_jax.training import scrabble_trainer, trainer


def _evaluate_mnist(config: ml_collections.ConfigDict, state: Any) -> dict[str, Any]:
  return trainer.evaluate(config, trainer.build_components(config), state)


def _style_reader(config: ml_collections.ConfigDict, word_length: int) -> factor_reader.Reader:
  """The learned factor reader the style-code scores of a ScrabbleGAN with codes read factors with, cached
  beside the data as the explanations cache theirs (same settings: the same reader)."""
  cache = os.path.join(os.path.expanduser(config.get("data_dir") or "") or pipeline.default_data_dir(),
                       "ganxai_factor_readers")
  return factor_reader.load_or_train_reader(
      cache, word_length, config.style_code_reader_words, config.style_code_reader_test_words,
      config.style_code_reader_steps, seed=config.seed)[0]


def _no_run_check(name: str, path: str, run_config: dict[str, Any]) -> None:
  del name, path, run_config


@dataclasses.dataclass(frozen=True)
class RunKind:
  """How one kind of run is checked, trained, evaluated and loaded for inference. `check_run(name, path,
  run_config)` checks what evaluating a finished run needs beyond its folder; `writes_text` says
  whether its generator writes words (the generate command takes only those)."""
  models: tuple[str, ...]
  check: Callable[[ml_collections.ConfigDict], None]
  train: Callable[[ml_collections.ConfigDict, str], Any]
  evaluate: Callable[[ml_collections.ConfigDict, Any], dict[str, Any]]
  generator: Callable[[ml_collections.ConfigDict, Any, int], TrainedGenerator]
  description: str
  check_run: Callable[[str, str, dict[str, Any]], None] = _no_run_check
  writes_text: bool = False


KINDS = (
    RunKind(models=("gan", "cgan", "sagan", "infogan"), check=config_checks.check_mnist,
            train=trainer.train_and_evaluate, evaluate=_evaluate_mnist, generator=mnist_generators.from_config,
            description="MNIST GANs (configs/mnist.py)"),
    RunKind(models=("scrabblegan",), check=config_checks.check_scrabble,
            # The factor reader is an explanation's: handed in here, where both layers are in reach.
            train=functools.partial(scrabble_trainer.train_and_evaluate, style_reader=_style_reader),
            evaluate=functools.partial(scrabble_trainer.evaluate, style_reader=_style_reader),
            generator=word_generators.from_config, description="ScrabbleGAN (configs/scrabble.py)",
            check_run=config_checks.check_scrabble_run, writes_text=True),
)
MODELS = tuple(model for kind in KINDS for model in kind.models)
TEXT_MODELS = tuple(model for kind in KINDS if kind.writes_text for model in kind.models)


def kind_of(config: ml_collections.ConfigDict) -> RunKind:
  """The row of `config.model`; a one-line UsageError naming the models there are."""
  for kind in KINDS:
    if config.get("model") in kind.models:
      return kind
  raise UsageError(f"model={config.get('model')!r} is not one of {MODELS}.")


def check_config(config: ml_collections.ConfigDict) -> None:
  """Checks every value of a training config (its kind's checks); a one-line `ConfigError` if one is
  outside its range."""
  config_checks.check_model(config, MODELS)
  kind_of(config).check(config)


def train(config: ml_collections.ConfigDict, workdir: str) -> Any:
  """Trains (or resumes) the run `config` describes in `workdir`."""
  return kind_of(config).train(config, workdir)


def restore(workdir: str) -> tuple[ml_collections.ConfigDict, Any]:
  """The config of the run in `workdir` and its latest checkpoint as a tree of arrays (no optimizer,
  no initialisation: only what was saved)."""
  config = workdir_lib.load_run_config(workdir)
  kind_of(config)  # A folder of an unknown kind fails here, before reading any checkpoint.
  checkpointer = Checkpointer(workdir)
  state = checkpointer.restore_latest(None)
  checkpointer.close()
  if state is None:
    raise UsageError(f"workdir {workdir!r} holds no checkpoint; train first with experiments.train.")
  return config, state


def load_generator(workdir: str) -> TrainedGenerator:
  """The generator trained in `workdir` (EMA weights when the run kept them), at its latest step."""
  config, state = restore(workdir)
  return kind_of(config).generator(config, workdir_lib.inference_variables(state),
                                   int(jax.device_get(state["step"])))


def evaluate_workdir(workdir: str) -> dict[str, Any]:
  """Evaluates the latest checkpoint in `workdir` and writes `workdir/eval.json`."""
  config, state = restore(workdir)
  scores = kind_of(config).evaluate(config, state)
  workdir_lib.write_json(os.path.join(workdir, "eval.json"), scores)
  logging.info("scores at step %s: %s (all in eval.json)", scores.get("step"),
               format_scalars(numeric(scores), limit=8))
  return scores
