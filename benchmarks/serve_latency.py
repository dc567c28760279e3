"""Slider latency of the latent explorer: the time from a slider move's request to its image, over HTTP.

Starts the explorer of a run on 127.0.0.1 (as `experiments.serve` does, warm-up included), then moves
one direction's slider across its range in `--moves` steps, one request after another as a slider sends
them when each answer arrives, and reports the median and 95th percentile of the round trip (request
sent to the PNG received: checking, the generator call, PNG encoding, HTTP) and of the server's own time.

  python3 -m benchmarks.serve_latency --workdir=runs/scrabble --explain=runs/scrabble_sefa \
      --output=runs/serve_latency.json
"""
from __future__ import annotations

import json
import time
import urllib.request

import numpy as np
from absl import flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax.errors import UsageError
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.serve import server

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A training run's folder.")
flags.DEFINE_multi_string("explain", [], "An explain run of method directions, ganspace or sefa on it.")
flags.DEFINE_integer("port", 0, "Port (0: any free one).")
flags.DEFINE_integer("moves", 100, "Slider moves to time.")
flags.DEFINE_string("text", "", "Text to write (word generators; default: the page's default word).")
flags.DEFINE_string("output", None, "JSON file for the results (printed either way).")
flags.mark_flags_as_required(["workdir"])


def _post(url: str, body: dict) -> dict:
  request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                   headers={"Content-Type": "application/json"})
  with urllib.request.urlopen(request, timeout=120) as response:
    return json.loads(response.read())


def main(argv):
  del argv
  explorer = server.build_explorer(FLAGS.workdir, FLAGS.explain)
  if not explorer.sets:
    raise UsageError("--explain is required: the benchmark moves a direction's slider.")
  warm_up_seconds = server.warm_up(explorer)
  httpd = server.start_server(explorer, FLAGS.port)
  url = f"http://127.0.0.1:{httpd.server_port}/api/render"
  info = explorer.info()
  saved = next(iter(explorer.sets.values()))
  limit = 2 * (saved.traversal_radius or 1.0)  # The page's slider range.
  content = {"text": FLAGS.text or info.get("default_text", "")} if explorer.generator.kind == "words" else {
      "label": 0}
  try:
    _post(url, {"seed": 0, **content, "shifts": [{"set": saved.label, "index": 0, "t": 0.0}]})  # HTTP warm-up.
    round_trip, server_ms = [], []
    for t in np.linspace(-limit, limit, FLAGS.moves):
      start = time.perf_counter()
      answer = _post(url, {"seed": 0, **content, "shifts": [{"set": saved.label, "index": 0, "t": float(t)}]})
      round_trip.append(1000 * (time.perf_counter() - start))
      server_ms.append(answer["ms"])
  finally:
    httpd.shutdown()
  result = {
      "workdir": FLAGS.workdir, "generator": explorer.generator.name, "step": explorer.generator.step,
      "direction": f"{saved.label} d0 ({saved.name(0)})", "moves": FLAGS.moves,
      "image_hw": [answer["height"], answer["width"]], **content,
      "warm_up_seconds": warm_up_seconds,
      "round_trip_ms": {"median": float(np.median(round_trip)), "p95": float(np.percentile(round_trip, 95)),
                        "max": float(np.max(round_trip))},
      "server_ms": {"median": float(np.median(server_ms)), "p95": float(np.percentile(server_ms, 95))},
  }
  print(f"{FLAGS.moves} moves of {result['direction']} on {result['generator']} (step {result['step']}), "
        f"image {result['image_hw'][0]}×{result['image_hw'][1]}: round trip median "
        f"{result['round_trip_ms']['median']:.1f} ms, p95 {result['round_trip_ms']['p95']:.1f} ms "
        f"(server {result['server_ms']['median']:.1f} / {result['server_ms']['p95']:.1f} ms); warm-up "
        f"{warm_up_seconds:.1f} s")
  if FLAGS.output:
    workdir_lib.write_json(FLAGS.output, result)


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("serve"))
