"""Times latent-direction training (Voynov & Babenko A/R) on the default MNIST GAN's generator.

G has the shape of `configs/mnist.py:gan` with freshly initialized weights (the step's cost does not
depend on what G learned); the direction setup is `configs/explain.py:directions` (the learned kind
beside the random and coordinate baselines, K = min(latent_dim, 64)). For each K, kind and
`steps_per_call` n asked for it prints and writes to JSON: compile time, steps/s (n over the median of
`--repeats` timed calls of n steps, each with its host-side conditions, after one warm-up call), XLA's
FLOP count per step (`cost_analysis()` of the compiled one-step program: XLA counts the body of the
n-step loop once, whatever n), that FLOP rate and its fraction of the device's measured f32 matmul
peak. The machine's load average is recorded before and after: on a shared machine other jobs slow
every number down.

  python -m benchmarks.directions_step --output=OUT.json
  python -m benchmarks.directions_step --steps_per_call=1,10,50 --kinds=orthonormal,linear --output=OUT.json

On XLA:CPU more than one step per call is slower, not faster: the convolutions of a loop body are
compiled without the fast kernels the same convolutions get outside a loop.

`--output` comes with the helpers reused from `benchmarks.scrabble_step`.
"""
from __future__ import annotations

import functools
import os
import platform
import statistics
import time
from typing import Any

import jax
from absl import app, flags

from benchmarks.scrabble_step import _flops, matmul_peak_flops
from configs import explain
from configs import mnist
from ganxai_jax.explain import directions
from ganxai_jax.generators.interface import TrainedGenerator
from ganxai_jax.models import layers
from ganxai_jax.run import parallel
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.training import trainer

FLAGS = flags.FLAGS
_DEFAULTS = explain.get_config("directions").directions
flags.DEFINE_list("num_directions", ["64"], "Numbers of directions K to time.")
flags.DEFINE_list("kinds", [_DEFAULTS.kind], "Learned direction kinds to time (linear, orthonormal).")
flags.DEFINE_list("steps_per_call", sorted({"1", "4", str(_DEFAULTS.steps_per_call)}, key=int),
                  "Steps per compiled call to time (1, 4 and the config's default).")
flags.DEFINE_integer("repeats", 5, "Timed calls per measurement (the median is reported).")


def default_generator() -> TrainedGenerator:
  """The `TrainedGenerator` of a fresh `configs/mnist.py:gan` model, as a trained run would load it."""
  config = mnist.get_config("gan")
  components = trainer.build_components(config)
  state = trainer.create_state(config, components, parallel.make_mesh())
  return trainer.trained_generator(components, state)


def benchmark_setup(generator: TrainedGenerator, kind: str, num_directions: int, steps_per_call: int, peak: float
                    ) -> dict[str, Any]:
  """Compile time, steps/s and FLOPs of `steps_per_call` direction steps per call."""
  section = _DEFAULTS
  setup = directions.make_setup(
      generator, kind, tuple(section.baselines), num_directions, learning_rate=section.learning_rate,
      batch_size=section.batch_size, shift_scale=section.shift_scale, min_shift=section.min_shift,
      shift_weight=section.shift_weight, reconstructor_channels=tuple(section.reconstructor_channels) or None)
  state = directions.create_state(setup, seed=0)
  n = steps_per_call
  jitted = jax.jit(functools.partial(directions.train_steps, setup=setup), static_argnums=3, donate_argnums=0)

  def conditions(step: int, count: int = n) -> Any:
    return directions.conditions_for_steps(generator, 0, step, count, setup.batch_size)

  start = time.perf_counter()
  compiled = jitted.lower(state, conditions(0), generator.variables, n).compile()
  compile_seconds = time.perf_counter() - start
  call_flops = _flops(compiled)
  # XLA's cost analysis counts a loop body once, so a step's FLOPs come from the one-step program.
  flops = call_flops if n == 1 else _flops(jitted.lower(state, conditions(0, 1), generator.variables, 1).compile())
  times = []
  for call in range(FLAGS.repeats + 1):  # The first call warms up.
    start = time.perf_counter()
    state, metrics = compiled(state, conditions(call * n), generator.variables)
    jax.block_until_ready((state, metrics))
    times.append(time.perf_counter() - start)
  seconds = statistics.median(times[1:]) / n
  result = {"kind": kind, "num_directions": num_directions, "steps_per_call": n,
            "batch_size": setup.batch_size, "variants": [name for name, _ in setup.variants],
            "reconstructor_params": layers.count_params(state.variants[setup.variants[0][0]].reconstructor.params),
            "compile_seconds": compile_seconds, "seconds_per_call_all": times[1:],
            "seconds_per_step_median": seconds, "steps_per_second": 1 / seconds,
            "flops_per_step": flops, "xla_flops_of_the_call": call_flops, "flops_per_second": flops / seconds,
            "fraction_of_matmul_peak": flops / seconds / peak}
  print(f"[{kind} K={num_directions} steps_per_call={n}] compile {compile_seconds:.1f} s, "
        f"{1 / seconds:.2f} steps/s (median of {FLAGS.repeats} calls), {flops / 1e9:.2f} GFLOP/step, "
        f"{flops / seconds / 1e9:.1f} GFLOP/s = {flops / seconds / peak:.0%} of matmul peak", flush=True)
  return result


def main(argv):
  del argv
  load_before = os.getloadavg()
  peak = matmul_peak_flops()
  print(f"backend {jax.default_backend()} ({jax.devices()[0].device_kind}), {jax.device_count()} device(s); "
        f"f32 matmul {peak['size']}²: {peak['flops_per_second'] / 1e9:.1f} GFLOP/s; "
        f"load average {load_before[0]:.2f}", flush=True)
  generator = default_generator()
  results = [benchmark_setup(generator, kind, int(k), int(n), peak["flops_per_second"])
             for kind in FLAGS.kinds for k in FLAGS.num_directions for n in FLAGS.steps_per_call]
  load_after = os.getloadavg()
  print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} CPUs")
  if FLAGS.output:
    workdir_lib.write_json(FLAGS.output, {
        "machine": {"backend": jax.default_backend(), "device_kind": jax.devices()[0].device_kind,
                    "device_count": jax.device_count(), "cpu_count": os.cpu_count(),
                    "architecture": platform.machine(), "jax_version": jax.__version__},
        "load_average_before": load_before, "load_average_after": load_after, "matmul_peak": peak,
        "generator": generator.name, "latent_dim": generator.latent_dim, "repeats": FLAGS.repeats,
        "results": results})
    print(f"wrote {FLAGS.output}")


if __name__ == "__main__":
  app.run(main)
