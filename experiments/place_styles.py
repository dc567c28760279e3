"""Places inverted real writers on the directions an explanation discovered: one row per direction, each
writer's position along it beside random styles (the coordinates, each writer's inversion scores and
their means go to the output's stem + .json).
The writers come from `experiments.generate --style_image`, whose JSON holds each one's z; the
explanation is a directions, GANSpace or SeFa run of the same generator.

  python -m experiments.generate --workdir=RUN --style_image=a.png --style_text=word --text=x --output=a.png
  python -m experiments.place_styles --explain=EXPLAIN --styles=a.json,b.json --output=writers.png
  python -m experiments.place_styles --explain=EXPLAIN --styles=STYLES_FOLDER --output=writers.png
"""
from absl import flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax import generation
from ganxai_jax.run import workdir as workdir_lib

FLAGS = flags.FLAGS
flags.DEFINE_string("explain", None, "An experiments.explain run of method directions, ganspace or sefa.")
flags.DEFINE_list("styles", None, "The JSON files that experiments.generate --style_image wrote, or folders "
                  "of them.")
flags.DEFINE_string("set", "", "The direction set to use (learned, random, ganspace, sefa...); '' for the first "
                    "of learned, ganspace, sefa that the explanation saved.")
flags.DEFINE_integer("num_directions", 8, "Directions shown (the set's first ones).")
flags.DEFINE_string("output", "writers_on_directions.png", "PNG file to write.")
flags.mark_flags_as_required(["explain", "styles"])


def main(argv):
  del argv
  paths = generation.write_styles_on_directions(FLAGS.explain, FLAGS.styles, FLAGS.output, FLAGS.set,
                                                FLAGS.num_directions)
  mean = workdir_lib.read_json(paths[1])["inversion_mean"]
  if mean:
    print("inversion, mean over the writers: "
          + ", ".join(f"{key} {mean[key]:.3f}" for key in generation.INVERSION_SCORES if key in mean))
  for path in paths:
    print(f"wrote {path}")


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("place_styles"))
