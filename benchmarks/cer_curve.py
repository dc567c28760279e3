"""Legibility against wall-clock time: the CER curve of a ScrabbleGAN run, from its metrics.jsonl.

A run trained with `config.curve_every_steps > 0` (the `cpu` config: every 500 steps) and an evaluation
recognizer logs `curve/cer`, `curve/wer`, `curve/cer_capitalised` and `curve/minutes` (wall-clock minutes
since its process started training, compilation included) of a fixed set of test words in fixed
styles. This tabulates them and finds the first point at or below each CER threshold:

  python3 -m experiments.train --config=configs/scrabble.py:cpu --workdir=runs/scrabble_curve \
      --config.eval_recognizer_workdir=runs/recognizer --config.num_train_steps=12000
  python3 -m benchmarks.cer_curve --workdir=runs/scrabble_curve --output=curve.json

Minutes restart when a run is resumed (`resumed_at_steps` lists where); a curve for the README comes
from one uninterrupted process.
"""
from __future__ import annotations

import os

from absl import flags

from ganxai_jax import cli
from ganxai_jax.errors import UsageError
from ganxai_jax.evaluation import scrabble_eval
from ganxai_jax.run import workdir as workdir_lib

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A ScrabbleGAN run folder whose metrics.jsonl has curve/* records.")
flags.DEFINE_list("thresholds", ["0.25", "0.1"], "CER levels whose first crossing is reported.")
flags.DEFINE_string("output", None, "JSON file to write the curve to (printed either way).")


def main(argv):
  del argv
  if not FLAGS.workdir:
    raise UsageError("--workdir is required: a ScrabbleGAN run folder.")
  metrics = os.path.join(FLAGS.workdir, "metrics.jsonl")
  if not os.path.isfile(metrics):
    raise UsageError(f"--workdir={FLAGS.workdir!r} has no metrics.jsonl.")
  points = scrabble_eval.read_curve(metrics)
  if not points:
    raise UsageError(f"--workdir={FLAGS.workdir!r}: no curve/* records in metrics.jsonl; train with "
                     "--config.curve_every_steps=N and --config.eval_recognizer_workdir=REC.")
  result = scrabble_eval.summarize_curve(points, [float(t) for t in FLAGS.thresholds])
  print(f"{'step':>7} {'minutes':>8} {'CER':>6} {'WER':>6} {'CER caps':>8}")
  for p in points:
    caps = p.get("cer_capitalised")
    print(f"{p['step']:>7} {p['minutes']:>8.1f} {p['cer']:>6.3f} {p['wer']:>6.3f} "
          f"{'—' if caps is None else f'{caps:.3f}':>8}")
  for threshold, hit in result["first_at_or_below"].items():
    print(f"CER <= {threshold}: " + ("not reached" if hit is None else
                                     f"step {hit['step']}, {hit['minutes']:.1f} min"))
  if result["resumed_at_steps"]:
    print(f"minutes restarted at steps {result['resumed_at_steps']} (resumed run)")
  if FLAGS.output:
    workdir_lib.write_json(FLAGS.output, result)


if __name__ == "__main__":
  cli.run(main)
