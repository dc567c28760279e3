"""Writes text with a trained ScrabbleGAN: one row per style, the same z across the words of a row; or
in the style of a real word image, inverted to z (the image's reconstruction and scores beside random
styles go to the output's stem + .json); with a CGAN run, draws digits in the style of a real digit the
same way; or renders one saved latent (as the latent explorer downloads it) to its exact image.

  python -m experiments.generate --workdir=RUN --text="Shalom world" --num_styles=8 --output=out.png
  python -m experiments.generate --workdir=RUN --style_image=word.png --style_text=word \
      --text="new words" --output=styled.png
  python -m experiments.generate --workdir=CGAN_RUN --style_image=digit.png --style_text=7 \
      --text="0 1 2 3" --output=styled.png
  python -m experiments.generate --workdir=RUN --latent=latent.json --output=image.png
"""
from absl import flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import generation

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A training run's folder (config.json, checkpoints/).")
flags.DEFINE_string("text", None, "Words to write, separated by spaces (in the run's alphabet); for a CGAN "
                    "run with --style_image, the digits to draw, e.g. '0 1 2'.")
flags.DEFINE_integer("num_styles", 8, "Number of styles (rows), each one fixed z.")
flags.DEFINE_string("output", "generated.png", "PNG file to write.")
flags.DEFINE_integer("seed", 0, "Seed of the styles' z: the same seed gives the same image.")
flags.DEFINE_string("latent", None, "A latent file (JSON) from the explorer: writes its one image, pixel "
                    "for pixel, instead of --text (any generator: words or digits).")
flags.DEFINE_string("style_image", None, "A real word image (PNG, JPEG, ...) whose style --text is written "
                    "in: inverted to z, with --style_text its transcription; for a CGAN run, a real digit.")
flags.DEFINE_string("style_text", None, "The one word that --style_image shows (in the run's alphabet), or "
                    "the digit it shows for a CGAN run.")
flags.DEFINE_integer("inversion_steps", 200, "Adam steps of the inversion of --style_image.")
flags.DEFINE_float("feature_weight", 0.0, "Weight of the run's recognizer features in the inversion's loss "
                   "(0: pixels and the prior only, which reconstructed best on the cpu run).")
flags.DEFINE_enum("factor_reader", "default", list(generation.FACTOR_READERS),
                  "The factor reader that scores the style: default (trained once, minutes, and cached beside "
                  "the data) or tiny (seconds; for tests).")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  if FLAGS.latent:
    path = generation.write_latent_image(FLAGS.workdir, FLAGS.latent, FLAGS.output)
  elif FLAGS.style_image:
    path, scores = generation.write_style_image(FLAGS.workdir, FLAGS.style_image, FLAGS.style_text, FLAGS.text,
                                                FLAGS.output, FLAGS.seed, FLAGS.factor_reader, FLAGS.inversion_steps,
                                                FLAGS.feature_weight)
    print(f"wrote {scores}")
  else:
    path = generation.write_text_image(FLAGS.workdir, FLAGS.text, FLAGS.num_styles, FLAGS.output, FLAGS.seed)
  print(f"wrote {path}")


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("generate"))
