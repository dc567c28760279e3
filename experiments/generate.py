"""Writes text with a trained ScrabbleGAN: one row per style, the same z across the words of a row; or
renders one saved latent (as the latent explorer downloads it) to its exact image.

  python -m experiments.generate --workdir=RUN --text="Shalom world" --num_styles=8 --output=out.png
  python -m experiments.generate --workdir=RUN --latent=latent.json --output=image.png
"""
from absl import flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import generation

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A training run's folder (config.json, checkpoints/).")
flags.DEFINE_string("text", None, "Words to write, separated by spaces (in the run's alphabet).")
flags.DEFINE_integer("num_styles", 8, "Number of styles (rows), each one fixed z.")
flags.DEFINE_string("output", "generated.png", "PNG file to write.")
flags.DEFINE_integer("seed", 0, "Seed of the styles' z: the same seed gives the same image.")
flags.DEFINE_string("latent", None, "A latent file (JSON) from the explorer: writes its one image, pixel "
                    "for pixel, instead of --text (any generator: words or digits).")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  if FLAGS.latent:
    path = generation.write_latent_image(FLAGS.workdir, FLAGS.latent, FLAGS.output)
  else:
    path = generation.write_text_image(FLAGS.workdir, FLAGS.text, FLAGS.num_styles, FLAGS.output, FLAGS.seed)
  print(f"wrote {path}")


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("generate"))
