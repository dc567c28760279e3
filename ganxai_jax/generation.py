"""The generate command's job: write a text with the word generator of a run, one row per style."""
from __future__ import annotations

import os

from ganxai_jax import kinds
from ganxai_jax.data import text as text_lib
from ganxai_jax.errors import UsageError
from ganxai_jax.generators import words as word_generators
from ganxai_jax.run import workdir as workdir_lib


def write_text_image(workdir: str, text: str, num_styles: int, output: str, seed: int = 0) -> str:
  """Writes `text` in `num_styles` styles with the run in `workdir` to the PNG `output`."""
  config = workdir_lib.load_run_config(workdir)
  # The run's alphabet (IAM's, or the custom one its config.json recorded); MNIST runs have IAM's.
  alphabet = text_lib.alphabet_of(config) if config.get("model") == "scrabblegan" else text_lib.IAM
  word_generators.check_text(text, alphabet=alphabet)
  folder = os.path.dirname(os.path.abspath(output))
  if not os.path.isdir(folder):
    raise UsageError(f"output={output!r}: the folder {folder!r} does not exist; create it or choose another.")
  words = word_generators.check_text(text, max_length=config.get("lexicon_max_length", 0), alphabet=alphabet)
  generator = kinds.load_generator(workdir)
  if generator.kind != "words":
    raise UsageError(f"workdir {workdir!r} holds a {generator.name} run, which draws digits, not text; "
                     "pass a ScrabbleGAN run.")
  figure = word_generators.text_figure(generator, words, num_styles, seed,
                                       title=f"{text!r}, step {generator.step}, seed {seed}: one style (z) per row")
  workdir_lib.save_figure(figure, output)
  return output
