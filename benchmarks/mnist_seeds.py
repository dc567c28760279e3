"""Times N seeds of an MNIST GAN as one vmapped step (`config.num_seeds = N`) against N plain steps.

For each variant (default: infogan and cgan at their configs' shapes) it compiles the vmapped step of N
seeds and the plain step, then times rounds of training: one vmapped step, or N plain steps one after
another (one per seed, as N plain runs would take turns). Each measurement is the median over
`--repeats` of `--steps` rounds; the result is in seed-steps per second (N per round for both), and the
speed-up is their ratio. Random data: no data set is read. The machine's load average is recorded
before and after, since a shared machine slows both sides unevenly.

  python -m benchmarks.mnist_seeds --output=OUT.json
  python -m benchmarks.mnist_seeds --variants=infogan --num_seeds=3 --steps=5 --repeats=3 --output=OUT.json
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from typing import Any, Callable

import jax
import numpy as np
from absl import app, flags

from configs import mnist as mnist_configs
from ganxai_jax.run import parallel
from ganxai_jax.training import seeds, trainer

FLAGS = flags.FLAGS
flags.DEFINE_string("output", None, "JSON file to write the results to.")
flags.DEFINE_list("variants", ["infogan", "cgan"], "Variants of configs/mnist.py to time, at their default shapes.")
flags.DEFINE_integer("num_seeds", 3, "Seeds trained together.")
flags.DEFINE_integer("steps", 10, "Timed rounds per repeat (a round: N seed-steps).")
flags.DEFINE_integer("repeats", 3, "Repeats per measurement (the median is reported).")


def random_batch(batch_size: int, num_classes: int, seed: int) -> dict[str, np.ndarray]:
  rng = np.random.default_rng(seed)
  return {"image": rng.uniform(-1, 1, (batch_size, 28, 28, 1)).astype(np.float32),
          "label": rng.integers(0, max(num_classes, 1), (batch_size,)).astype(np.int32)}


def time_rounds(run_round: Callable[[], Any], steps: int, repeats: int) -> list[float]:
  """Seconds per round of each repeat (`run_round` returns what to block on)."""
  per_round = []
  for _ in range(repeats):
    start = time.perf_counter()
    for _ in range(steps):
      out = run_round()
    jax.block_until_ready(out)
    per_round.append((time.perf_counter() - start) / steps)
  return per_round


def measure(variant: str, num_seeds: int, steps: int, repeats: int) -> dict[str, Any]:
  """Compile times and seed-steps/s of the vmapped and the sequential plain steps of `variant`."""
  config = mnist_configs.get_config(variant)
  mesh = parallel.make_mesh()
  components = trainer.build_components(config, mesh)
  parts = trainer.seed_parts(config, components, train_source=None, eval_data=None)
  seed_list = list(range(num_seeds))
  batches = [random_batch(config.batch_size, config.num_classes, seed) for seed in seed_list]

  vmapped_step = seeds.make_train_step(parts.train_step, seed_list)
  stacked = seeds.global_batch({k: np.stack([b[k] for b in batches]) for k in batches[0]}, mesh)
  holder = {"states": seeds.create_states(parts.init_fn, seed_list, mesh)}

  def vmapped_round():
    holder["states"], metrics = vmapped_step(holder["states"], stacked)
    return metrics

  plain_step = trainer.make_train_step(components)
  plain_batches = [parallel.global_batch(b, mesh) for b in batches]
  plain_states = []
  for seed in seed_list:
    config.seed = seed
    plain_states.append(trainer.create_state(config, components, mesh))

  def plain_round():
    for index in range(num_seeds):
      plain_states[index], metrics = plain_step(plain_states[index], plain_batches[index])
    return metrics

  result: dict[str, Any] = {"variant": variant, "batch_size": config.batch_size, "num_seeds": num_seeds}
  for name, run_round in (("vmapped", vmapped_round), ("sequential", plain_round)):
    start = time.perf_counter()
    jax.block_until_ready(run_round())  # Compiles (the plain step once, for all seeds).
    result[f"{name}_first_round_s"] = time.perf_counter() - start
    per_round = time_rounds(run_round, steps, repeats)
    result[f"{name}_round_s"] = per_round
    result[f"{name}_seed_steps_per_s"] = num_seeds / statistics.median(per_round)
    print(f"{variant} {name}: {result[f'{name}_seed_steps_per_s']:.2f} seed-steps/s "
          f"(median of {repeats} × {steps} rounds; first round {result[f'{name}_first_round_s']:.1f} s)", flush=True)
  result["speedup"] = result["vmapped_seed_steps_per_s"] / result["sequential_seed_steps_per_s"]
  print(f"{variant}: vmapped / sequential = {result['speedup']:.2f}", flush=True)
  return result


def main(argv):
  del argv
  load_before = os.getloadavg()
  results = [measure(v, FLAGS.num_seeds, FLAGS.steps, FLAGS.repeats) for v in FLAGS.variants]
  report = {"device": f"{jax.devices()[0].platform} ({getattr(jax.devices()[0], 'device_kind', '')})",
            "device_count": jax.device_count(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "jax": jax.__version__, "steps": FLAGS.steps, "repeats": FLAGS.repeats,
            "load_average_before": list(load_before), "load_average_after": list(os.getloadavg()),
            "results": results}
  print(json.dumps({k: v for k, v in report.items() if k != "results"}))
  if FLAGS.output:
    with open(FLAGS.output, "w", encoding="utf-8") as fh:
      json.dump(report, fh, indent=2)


if __name__ == "__main__":
  app.run(main)
