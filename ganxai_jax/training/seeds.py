"""N seeds of one model trained as one `jax.vmap`ped program (`config.num_seeds = N`).

A small model leaves an accelerator idle when its seeds run one after another; here the seeds
`config.seed + 0 .. N-1` share one compiled step. The state is the plain `TrainState` with a leading
seed axis on everything but `step`, which all seeds share (so `run.loop` reads it as it reads any
run's). Seed k is initialised from `PRNGKey(seed + k)` and reads the batches a plain run with that seed
reads (its own `pipeline.train_iterator`), so it trains as that run does, up to float reassociation.

What a run of N seeds writes into WORKDIR:

  checkpoints/    the stacked state and the N data positions, saved together: rerunning resumes
  metrics.jsonl   `seed_K/<metric>` for each seed and `<metric>`, the mean over the seeds
  seed_K/         a complete plain run of seed K: config.json (seed=K, num_seeds=1), a checkpoint of its
                  state and data position at the final step, figures/ and eval.json; every command
                  (evaluate, generate, explain) takes it as it takes any run folder
  eval.json       {"seeds", "per_seed": [scores of each seed], "median", "mean", "step"}

The trainer brings its parts (`SeedParts`), as it brings them to `run.loop.train` for one seed.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import os
from typing import Any, Callable, Iterator, Mapping, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from ganxai_jax.run import loop, parallel
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.run.checkpoints import Checkpointer
from ganxai_jax.run.state import TrainState

Scores = dict[str, Any]


def seeds_of(config: ml_collections.ConfigDict) -> list[int]:
  """The seeds a config trains: `seed`, `seed + 1`, ..., `seed + num_seeds - 1`."""
  return [config.seed + k for k in range(config.num_seeds)]


def seed_config(config: ml_collections.ConfigDict, seed: int) -> ml_collections.ConfigDict:
  """The config of a plain run of `seed` alone."""
  single = copy.deepcopy(config)
  single.seed, single.num_seeds = seed, 1
  return single


def seed_folder(seed: int) -> str:
  """The name of the plain run folder of `seed` inside a run of several seeds."""
  return f"seed_{seed}"


def seed_workdir(workdir: str, seed: int) -> str:
  """The plain run folder of `seed` inside the run of several seeds in `workdir`."""
  return os.path.join(workdir, seed_folder(seed))


class SeedIterators:
  """One data iterator per seed, read in step: each `next` stacks their batches to `[N, B, ...]`.

  It checkpoints as one iterator (grain's orbax handler takes any object whose `get_state` returns
  bytes and that has `set_state` and `start_prefetch`), so the N positions are saved with the state.
  """

  def __init__(self, iterators: Sequence[Any]):
    self.iterators = list(iterators)

  def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    batches = [next(iterator) for iterator in self.iterators]
    return {key: np.stack([np.asarray(b[key]) for b in batches]) for key in batches[0]}

  def get_state(self) -> bytes:
    return json.dumps([iterator.get_state() for iterator in self.iterators]).encode()

  def set_state(self, state: bytes) -> None:
    positions = json.loads(state)
    if len(positions) != len(self.iterators):
      raise ValueError(f"the checkpoint holds {len(positions)} data positions, not one per each of "
                       f"{len(self.iterators)} seeds")
    for iterator, position in zip(self.iterators, positions):
      iterator.set_state(position)

  def start_prefetch(self) -> None:
    for iterator in self.iterators:
      iterator.start_prefetch()


def seed_axes(state: TrainState) -> TrainState:
  """`jax.vmap`'s axes of a stacked state: the seed axis first everywhere but `step`, which is shared."""
  return jax.tree_util.tree_map(lambda _: 0, state).replace(step=None)


def create_states(init_fn: Callable[[jax.Array], TrainState], seeds: Sequence[int], mesh: Any) -> TrainState:
  """The stacked fresh states of `seeds`, replicated on `mesh`: seed k's equals `init_fn(PRNGKey(k))`."""
  keys = jnp.stack([jax.random.PRNGKey(seed) for seed in seeds])
  axes = seed_axes(jax.eval_shape(init_fn, keys[0]))
  return jax.jit(jax.vmap(init_fn, out_axes=axes), out_shardings=parallel.replicated(mesh))(keys)


def seed_state(states: TrainState, index: int) -> TrainState:
  """The plain `TrainState` of the seed at `index` of a stacked state."""
  return jax.tree_util.tree_map(lambda x: x[index], states.replace(step=None)).replace(step=states.step)


def per_seed_metrics(metrics: Mapping[str, jax.Array], seeds: Sequence[int]) -> dict[str, jax.Array]:
  """`{name: [N] values}` as scalars: `seed_K/name` for each seed and `name`, their mean."""
  scalars = {name: jnp.mean(values) for name, values in metrics.items()}
  for index, seed in enumerate(seeds):
    scalars.update({f"seed_{seed}/{name}": values[index] for name, values in metrics.items()})
  return scalars


def make_train_step(train_step: Callable[[TrainState, Any], tuple[TrainState, Mapping[str, jax.Array]]],
                    seeds: Sequence[int]):
  """`train_step(state, batch)` of one seed, vmapped over the seeds of a stacked state and a `[N, B, ...]`
  batch, and jitted (the old state's buffers donated). Its metrics are `per_seed_metrics`: the loop
  checks and logs scalars."""
  def step(states: TrainState, batch: Any) -> tuple[TrainState, dict[str, jax.Array]]:
    axes = seed_axes(states)
    states, metrics = jax.vmap(train_step, in_axes=(axes, 0), out_axes=(axes, 0))(states, batch)
    return states, per_seed_metrics(metrics, seeds)
  return jax.jit(step, donate_argnums=0)


def global_batch(local: Mapping[str, np.ndarray], mesh: Any) -> dict[str, jax.Array]:
  """Each process's `[N, B_local, ...]` batches as global arrays, the batch axis (not the seed axis)
  sharded over the mesh, as a plain run shards its batch."""
  sharding = NamedSharding(mesh, P(None, parallel.DATA_AXIS))
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in local.items()}


def summarize_scores(seeds: Sequence[int], per_seed: Sequence[Scores], step: int) -> Scores:
  """`eval.json` of a run of several seeds: every seed's scores and the median and mean of each number."""
  names = [name for name in loop.numeric(per_seed[0]) if all(name in scores for scores in per_seed)]
  values = {name: [float(scores[name]) for scores in per_seed] for name in names}
  return {"seeds": list(seeds), "per_seed": list(per_seed), "step": step,
          "median": {name: float(np.median(v)) for name, v in values.items()},
          "mean": {name: float(np.mean(v)) for name, v in values.items()}}


@dataclasses.dataclass(frozen=True)
class SeedParts:
  """What a trainer brings for one seed: its init from a key, its pure step, its data iterator for a
  seed, its scores of one seed's state (under that seed's config) and its figures. The same functions
  make its plain runs, which is why seed K of a run of several seeds equals a plain run of seed K."""
  init_fn: Callable[[jax.Array], TrainState]
  train_step: Callable[[TrainState, Any], tuple[TrainState, Mapping[str, jax.Array]]]
  data_iterator: Callable[[int], Any]
  evaluate: Callable[[ml_collections.ConfigDict, TrainState], Scores]
  figures: Callable[[TrainState, int, int], dict[str, Any]]
  key_metrics: tuple[str, ...] = ()


def write_seed_run(config: ml_collections.ConfigDict, workdir: str, parts: SeedParts, state: TrainState,
                   data_iterator: Any, step: int) -> Scores:
  """Writes `workdir` as a complete plain run of `config.seed` at `step`: config.json, a checkpoint of
  `state` and the data position, its figures and eval.json; returns its scores."""
  workdir_lib.write_config(workdir, config)
  checkpointer = Checkpointer(workdir, max_to_keep=config.keep_checkpoints)
  if step not in checkpointer.all_steps():  # A rerun of a finished run has saved it already.
    checkpointer.save(step, state, data_iterator)
  checkpointer.close()
  workdir_lib.write_figures(workdir, parts.figures(state, config.seed, step))
  scores = parts.evaluate(config, state)
  workdir_lib.write_json(os.path.join(workdir, "eval.json"), scores)
  return scores


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, parts: SeedParts, mesh: Any
                       ) -> TrainState:
  """Trains the seeds of `config` (`seeds_of`) in `workdir` as one vmapped program through `run.loop`,
  resuming from its latest checkpoint, then writes each seed's plain run folder and the summary
  `eval.json` (see the module docstring). Returns the stacked state."""
  seeds = seeds_of(config)
  data_iterator = SeedIterators([parts.data_iterator(seed) for seed in seeds])
  jitted = make_train_step(parts.train_step, seeds)

  def step_fn(states, step):
    del step
    return jitted(states, global_batch(next(data_iterator), mesh))

  def draw(states, step):
    for index, seed in enumerate(seeds):
      workdir_lib.write_figures(seed_workdir(workdir, seed),
                                parts.figures(seed_state(states, index), seed, step), step)

  def evaluate(states, step):
    per_seed = [parts.evaluate(seed_config(config, seed), seed_state(states, index))
                for index, seed in enumerate(seeds)]
    summary = summarize_scores(seeds, per_seed, step)
    scalars = dict(summary["mean"])
    for seed, scores in zip(seeds, per_seed):
      scalars.update(loop.numeric(scores, f"seed_{seed}/"))
    return scalars

  def finish(states, step):
    per_seed = [write_seed_run(seed_config(config, seed), seed_workdir(workdir, seed), parts,
                               seed_state(states, index), data_iterator.iterators[index], step)
                for index, seed in enumerate(seeds)]
    return summarize_scores(seeds, per_seed, step)

  hooks = [loop.Hook(config.sample_every_steps, draw),
           loop.Hook(config.eval_every_steps, evaluate, skip_last=True, prefix="eval/")]
  schedule = loop.Schedule(num_steps=config.num_train_steps, log_every_steps=config.log_every_steps,
                           checkpoint_every_steps=config.checkpoint_every_steps,
                           max_minutes=config.max_minutes, keep_checkpoints=config.keep_checkpoints)
  return loop.train(workdir=workdir, config=config, state=create_states(parts.init_fn, seeds, mesh),
                    step_fn=step_fn, schedule=schedule, data_iterator=data_iterator,
                    key_metrics=parts.key_metrics, hooks=hooks, finish=finish,
                    what=f"{config.model} training of seeds {seeds[0]}-{seeds[-1]} as one vmapped program")
