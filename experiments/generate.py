"""Writes text with a trained ScrabbleGAN: one row per style, the same z across the words of a row.

  python -m experiments.generate --workdir=RUN --text="Shalom world" --num_styles=8 --output=out.png
"""
from absl import flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import generation

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A ScrabbleGAN training run's folder (config.json, checkpoints/).")
flags.DEFINE_string("text", None, "Words to write, separated by spaces (80-symbol IAM alphabet).")
flags.DEFINE_integer("num_styles", 8, "Number of styles (rows), each one fixed z.")
flags.DEFINE_string("output", "generated.png", "PNG file to write.")
flags.DEFINE_integer("seed", 0, "Seed of the styles' z: the same seed gives the same image.")
flags.mark_flags_as_required(["workdir", "text"])


def main(argv):
  del argv
  path = generation.write_text_image(FLAGS.workdir, FLAGS.text, FLAGS.num_styles, FLAGS.output, FLAGS.seed)
  print(f"wrote {path}")


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("generate"))
