"""The latent explorer: a local page where sliders move a trained generator along explained directions.

  python -m experiments.serve --workdir=runs/scrabble --explain=runs/scrabble_sefa [--port=8765]

Open http://127.0.0.1:8765/ in a browser. Pick a style seed and a text (ScrabbleGAN) or a class (CGAN),
drag the sliders of the directions the explanation named, click a pixel for its attention map (when G
has attention), and download the image or the latent that made it (`experiments.generate
--workdir=RUN --latent=FILE` renders that latent back to the same pixels). It listens on 127.0.0.1 only.
"""
from absl import flags

from ganxai_jax import cli
from ganxai_jax import commands
from ganxai_jax.serve import server

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A training run's folder (config.json, checkpoints/).")
flags.DEFINE_multi_string("explain", [], "Folder of an experiments.explain run of method directions, ganspace "
                          "or sefa on that run; repeat for several.")
flags.DEFINE_integer("port", 8765, "Port on 127.0.0.1 (0: any free port).")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  server.serve(FLAGS.workdir, FLAGS.explain, FLAGS.port)


if __name__ == "__main__":
  cli.run(main, check=commands.for_command("serve"))
