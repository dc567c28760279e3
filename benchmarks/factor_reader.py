"""How well the style factors of the synthetic handwriting can be read from word images: the learned
factor reader against the calibrated hand measurements, R² per factor on words of held-out writers.

Both readers learn from the same rendered training words and are scored on the same held-out words
(other writers), with the settings `configs/explain.py` gives the directions report:

  python3 -m benchmarks.factor_reader --output=OUT.json
  python3 -m benchmarks.factor_reader --train_words=2000 --steps=400 --output=OUT.json
"""
from __future__ import annotations

import time

from absl import flags

from configs import explain as explain_configs
from ganxai_jax import cli
from ganxai_jax.explain import factor_reader, naming
from ganxai_jax.run import workdir as workdir_lib

FLAGS = flags.FLAGS
_DEFAULTS = explain_configs.get_config("directions").directions
flags.DEFINE_integer("word_length", 6, "Characters per rendered word (ScrabbleGAN's explanations use 6).")
flags.DEFINE_integer("train_words", _DEFAULTS.factor_reader_words, "Rendered training words.")
flags.DEFINE_integer("test_words", _DEFAULTS.factor_reader_test_words, "Words of held-out writers.")
flags.DEFINE_integer("steps", _DEFAULTS.factor_reader_steps, "Adam steps of the reader.")
flags.DEFINE_integer("seed", 0, "Seed of the words, writers and the reader's initialisation.")
flags.DEFINE_string("output", None, "JSON file to write the results to (printed either way).")


def main(argv):
  del argv
  started = time.time()
  reader = factor_reader.train_reader(FLAGS.word_length, FLAGS.train_words, FLAGS.test_words, FLAGS.steps,
                                      seed=FLAGS.seed)
  reader_seconds = time.time() - started
  # The hand measurements: calibrated on the same training words, scored on the same held-out words.
  train_images, train_factors, names = naming.render_calibration_set(FLAGS.train_words, FLAGS.word_length,
                                                                     FLAGS.seed)
  test_images, test_factors, _ = naming.render_calibration_set(FLAGS.test_words, FLAGS.word_length,
                                                               FLAGS.seed + 7919)
  calibration = naming.calibrate(train_images, train_factors, names)
  hand = factor_reader.r_squared(calibration.read(test_images), test_factors)
  result = {"factors": list(names), "reader_r2": reader.r2_dict(),
            "reader_train_r2": dict(zip(names, map(float, reader.train_r2))),
            "hand_r2": dict(zip(names, map(float, hand))),
            "settings": {"word_length": FLAGS.word_length, "train_words": FLAGS.train_words,
                         "test_words": FLAGS.test_words, "steps": FLAGS.steps, "seed": FLAGS.seed},
            "reader_seconds": reader_seconds}
  print(f"{'factor':<18} {'reader R²':>9} {'hand R²':>8}")
  for name in names:
    print(f"{name:<18} {result['reader_r2'][name]:>9.3f} {result['hand_r2'][name]:>8.3f}")
  print(f"reader trained in {reader_seconds:.0f} s")
  if FLAGS.output:
    workdir_lib.write_json(FLAGS.output, result)


if __name__ == "__main__":
  cli.run(main)
