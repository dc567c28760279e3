"""Times ScrabbleGAN's full training step (G + D + R) at batch 8 on 10-character words (32 × 160).

For each config (paper size, cpu), convolution implementation ('lax', 'shifted_matmul') and compute
dtype ('float32', 'bfloat16': `config.compute_dtype`) it prints and writes to JSON: parameter counts,
compile time, seconds per full step (median of `--steps` timed steps after one warm-up), images/s,
XLA's FLOP count for the step (`jitted.lower(...).compile().cost_analysis()`), and that FLOP rate as
a fraction of the device's measured f32 matmul peak (a large matmul timed in this script; bfloat16
steps are compared with the same f32 peak, so on accelerators their fraction can exceed 1). It also
times the step without the G update (3 of every 4 iterations with g_every = 4) and, for the cpu
config, one `jax.lax.cond` step against two host-chosen jitted steps. The machine's load average is
recorded before and after.

  python -m benchmarks.scrabble_step --output=OUT.json
  python -m benchmarks.scrabble_step --configs=cpu --conv_impls=lax,shifted_matmul --steps=5 --output=OUT.json
  python -m benchmarks.scrabble_step --configs=paper --conv_impls=lax --compute_dtypes=float32,bfloat16 \
      --output=OUT.json
"""
from __future__ import annotations

import functools
import json
import os
import platform
import statistics
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from configs import scrabble
from ganxai_jax.models import layers
from ganxai_jax.models import scrabblegan
from ganxai_jax.run import parallel
from ganxai_jax.training import scrabble_step
from ganxai_jax.training import scrabble_trainer

FLAGS = flags.FLAGS
flags.DEFINE_string("output", None, "JSON file to write the results to.")
flags.DEFINE_list("configs", ["paper", "cpu"], "Configs to time: paper (configs/scrabble.py) and/or cpu.")
flags.DEFINE_list("conv_impls", ["lax", "shifted_matmul"], "Convolution implementations to time.")
flags.DEFINE_list("compute_dtypes", ["float32"], "Compute dtypes to time: float32 and/or bfloat16.")
flags.DEFINE_integer("steps", 5, "Timed steps per measurement (the median is reported).")
flags.DEFINE_integer("batch_size", 8, "Global batch size.")
flags.DEFINE_integer("num_chars", 10, "Characters per word (width 16 px each).")
flags.DEFINE_bool("compare_g_schedule", True, "Also time lax.cond against host-chosen steps (cpu config).")


def matmul_peak_flops(size: int | None = None, repeats: int = 5) -> dict[str, float]:
  """Median f32 FLOP/s of a square matmul of `size` (4096 on CPU, 8192 on accelerators)."""
  size = size or (4096 if jax.default_backend() == "cpu" else 8192)
  a = jax.random.normal(jax.random.key(0), (size, size), jnp.float32)
  b = jax.random.normal(jax.random.key(1), (size, size), jnp.float32)
  matmul = jax.jit(lambda x, y: x @ y)
  matmul(a, b).block_until_ready()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    matmul(a, b).block_until_ready()
    times.append(time.perf_counter() - start)
  seconds = statistics.median(times)
  return {"size": size, "seconds": seconds, "flops_per_second": 2 * size ** 3 / seconds}


def fake_batch(batch_size: int, num_chars: int, mesh: Any) -> dict[str, jax.Array]:
  """A real-looking batch: random images in [-1, 1], random words of `num_chars` characters."""
  rng = np.random.default_rng(0)
  width = 16 * num_chars
  batch = {"image": rng.uniform(-1, 1, (batch_size, 32, width, 1)).astype(np.float32),
           "labels": rng.integers(1, 81, (batch_size, num_chars)).astype(np.int32),
           "label_lengths": np.full((batch_size,), num_chars, np.int32),
           "image_widths": np.full((batch_size,), width, np.int32),
           "valid": np.ones((batch_size,), bool),
           "fake_labels": rng.integers(1, 81, (batch_size, num_chars)).astype(np.int32),
           "fake_label_lengths": np.full((batch_size,), num_chars, np.int32)}
  return parallel.global_batch(batch, mesh)


def _flops(compiled: Any) -> float:
  analysis = compiled.cost_analysis()
  if isinstance(analysis, (list, tuple)):  # Older JAX: one dict per computation.
    analysis = analysis[0]
  return float(analysis.get("flops", float("nan")))


def time_step(step_fn: Callable, state: Any, batch: Any, steps: int, step_index: Callable[[int], Any]
              ) -> tuple[list[float], Any]:
  """Runs one warm-up step then `steps` timed steps; returns (seconds per step, state)."""
  state, metrics = step_fn(state, batch, step_index(0))
  jax.block_until_ready(metrics)
  times = []
  for i in range(steps):
    start = time.perf_counter()
    state, metrics = step_fn(state, batch, step_index(i + 1))
    jax.block_until_ready((state, metrics))
    times.append(time.perf_counter() - start)
  return times, state


def benchmark_config(name: str, conv_impl: str, compute_dtype: str, mesh: Any, peak: float) -> dict[str, Any]:
  """All measurements of one config with one convolution implementation and compute dtype."""
  config = scrabble.get_config("cpu" if name == "cpu" else None)
  config.conv_impl = conv_impl
  config.compute_dtype = compute_dtype
  config.batch_size = FLAGS.batch_size
  components = scrabble_trainer.build_components(config, mesh)
  state = scrabble_trainer.create_state(config, components, mesh)
  batch = fake_batch(FLAGS.batch_size, FLAGS.num_chars, mesh)
  tag = f"{name}/{conv_impl}/{compute_dtype}"
  result: dict[str, Any] = {
      "config": name, "conv_impl": conv_impl, "compute_dtype": compute_dtype,
      "width_multiplier": config.width_multiplier,
      "params": {net: layers.count_params(state.nets[net].params)
                 for net in ("generator", "discriminator", "recognizer")}}
  print(f"[{tag}] parameters: " + ", ".join(f"{k} {v / 1e6:.2f} M" for k, v in
                                                        result["params"].items()), flush=True)

  for label, update_generator in (("full_step", True), ("d_r_step", False)):
    jitted = jax.jit(functools.partial(scrabble_step.train_step, components=components,
                                       update_generator=update_generator), donate_argnums=0)
    start = time.perf_counter()
    compiled = jitted.lower(state, batch).compile()
    compile_seconds = time.perf_counter() - start
    flops = _flops(compiled)
    times, state = time_step(lambda s, b, _: compiled(s, b), state, batch, FLAGS.steps, lambda i: i)
    seconds = statistics.median(times)
    result[label] = {"compile_seconds": compile_seconds, "seconds_per_step_median": seconds,
                     "seconds_per_step_all": times, "images_per_second": FLAGS.batch_size / seconds,
                     "flops_per_step": flops, "flops_per_second": flops / seconds,
                     "fraction_of_matmul_peak": flops / seconds / peak}
    print(f"[{tag}] {label}: compile {compile_seconds:.1f} s, {seconds:.3f} s/step "
          f"(median of {len(times)}), {FLAGS.batch_size / seconds:.2f} images/s, "
          f"{flops / 1e12:.3f} TFLOP/step, {flops / seconds / 1e9:.1f} GFLOP/s = "
          f"{flops / seconds / peak:.0%} of matmul peak", flush=True)
  g_every = config.g_every
  mean_iteration = (result["full_step"]["seconds_per_step_median"]
                    + (g_every - 1) * result["d_r_step"]["seconds_per_step_median"]) / g_every
  result["mean_seconds_per_iteration_with_g_every"] = mean_iteration
  print(f"[{tag}] mean over a g_every={g_every} cycle: {mean_iteration:.3f} s/iteration",
        flush=True)

  if FLAGS.compare_g_schedule and name == "cpu":
    schedules = {}
    for schedule in ("host", "cond"):
      step_fn = scrabble_step.make_train_step(components, schedule)
      start = time.perf_counter()
      # The first g_every steps compile what the schedule needs (two functions or one).
      for i in range(g_every):
        state, metrics = step_fn(state, batch, i)
      jax.block_until_ready(metrics)
      first_cycle = time.perf_counter() - start
      cycles = []
      for _ in range(max(1, FLAGS.steps // 2)):
        start = time.perf_counter()
        for i in range(g_every):
          state, metrics = step_fn(state, batch, i)
        jax.block_until_ready((state, metrics))
        cycles.append(time.perf_counter() - start)
      schedules[schedule] = {"first_cycle_seconds_with_compile": first_cycle,
                             "seconds_per_iteration_median": statistics.median(cycles) / g_every}
      print(f"[{tag}] g_schedule={schedule}: first cycle (compiling) {first_cycle:.1f} s, "
            f"{statistics.median(cycles) / g_every:.3f} s/iteration", flush=True)
    result["g_schedule"] = schedules
  return result


def main(argv):
  del argv
  mesh = parallel.make_mesh()
  load_before = os.getloadavg()
  peak = matmul_peak_flops()
  print(f"backend {jax.default_backend()} ({jax.devices()[0].device_kind}), {jax.device_count()} device(s); "
        f"f32 matmul {peak['size']}²: {peak['flops_per_second'] / 1e9:.1f} GFLOP/s; "
        f"load average {load_before[0]:.2f}", flush=True)
  results = []
  for name in FLAGS.configs:
    for conv_impl in FLAGS.conv_impls:
      for compute_dtype in FLAGS.compute_dtypes:
        results.append(benchmark_config(name, conv_impl, compute_dtype, mesh, peak["flops_per_second"]))
  payload = {
      "backend": jax.default_backend(), "device_kind": jax.devices()[0].device_kind,
      "device_count": jax.device_count(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
      "jax_version": jax.__version__, "batch_size": FLAGS.batch_size, "num_chars": FLAGS.num_chars,
      "steps": FLAGS.steps, "matmul_peak": peak,
      "load_average_before": load_before, "load_average_after": os.getloadavg(),
      "auto_conv_impl": scrabblegan.resolve_conv_impl("auto"), "results": results}
  if FLAGS.output:
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
    with open(FLAGS.output, "w", encoding="utf-8") as fh:
      json.dump(payload, fh, indent=2)
    print(f"wrote {FLAGS.output}")


if __name__ == "__main__":
  app.run(main)
