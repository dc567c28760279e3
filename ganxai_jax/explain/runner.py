"""Runs one explanation method on a trained generator: `run(config, workdir, load_generator)`.

Each method lives in its own module with a function `run(config, workdir, generator) -> dict` that
writes `workdir/figures/*.png` and returns the numbers, which land in `workdir/explain.json`. The
generator comes from the loader the command passes (`kinds.load_generator`), behind the one
interface `generators.interface.TrainedGenerator`.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import ml_collections

from ganxai_jax.errors import UsageError
from ganxai_jax.explain import attention_report, directions_report, influence
from ganxai_jax.generators.interface import TrainedGenerator
from ganxai_jax.run import workdir as workdir_lib

# method name -> `run(config, workdir, generator) -> dict`.
METHODS = {
    "attention": attention_report.run,
    "directions": directions_report.run,
    "influence": influence.run,
    "ganspace": directions_report.run,
    "sefa": directions_report.run,
}


def run(config: ml_collections.ConfigDict, workdir: str,
        load_generator: Callable[[str], TrainedGenerator]) -> dict[str, Any]:
  """Checks the inputs, loads the generator of `config.generator_workdir`, runs `config.method` and
  writes `workdir/explain.json`."""
  if config.method not in METHODS:
    raise UsageError(f"method={config.method!r} is not one of {sorted(METHODS)}.")
  source = config.generator_workdir
  if not source or not os.path.isdir(os.path.join(source, "checkpoints")):
    raise UsageError(f"generator_workdir={source!r} holds no checkpoints/; pass a training run's folder "
                     "with --config.generator_workdir=DIR.")
  generator = load_generator(source)
  results = METHODS[config.method](config, workdir, generator)
  workdir_lib.write_json(os.path.join(workdir, "explain.json"),
                         {"method": config.method, "generator_workdir": source, **results})
  return results
