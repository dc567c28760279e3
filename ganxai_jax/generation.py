"""Writing text with a trained ScrabbleGAN: one row per style (z), the same z for every word of a row.

`check_text` validates the text before anything is loaded; `load_generator(workdir)` rebuilds G from
the run's `config.json` and restores its latest checkpoint (EMA weights when the run kept them);
`render_words` and `text_figure` write the words; `write_text_image` is the CLI's whole job.
"""
from __future__ import annotations

import functools
import os
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import matplotlib.figure
import numpy as np

from ganxai_jax.data import text as text_lib
from ganxai_jax.errors import UsageError
from ganxai_jax.training.state import TrainState
from ganxai_jax.viz import grids
from ganxai_jax.viz import handwriting as handwriting_viz


def check_text(text: str) -> list[str]:
  """The words of `text` (split on whitespace); a one-line UsageError if it is empty or has a
  character outside the 80-symbol IAM alphabet."""
  words = text.split()
  if not words:
    raise UsageError("The text is empty: give at least one word, e.g. --text='Shalom world'.")
  unknown = text_lib.unknown_characters("".join(words))
  if unknown:
    shown = " ".join(f"{c!r} (U+{ord(c):04X})" for c in unknown)
    raise UsageError(f"The text has characters the generator cannot write: {shown}; "
                     f"it writes only the 80 IAM symbols: {text_lib.ALPHABET}")
  return words


def style_latents(seed: int, num_styles: int, z_dim: int) -> np.ndarray:
  """`num_styles` fixed z vectors [num_styles, z_dim], one per style, from `seed`."""
  if num_styles < 1:
    raise ValueError(f"num_styles must be at least 1, got {num_styles}.")
  return np.asarray(jax.random.normal(jax.random.key(seed), (num_styles, z_dim)))


def to_uint8(images: np.ndarray) -> np.ndarray:
  """[-1, 1] images to uint8 [0, 255] (white +1 → 255)."""
  return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


@functools.partial(jax.jit, static_argnums=0)
def _render(generator: nn.Module, variables: Any, z: jax.Array, chars: jax.Array) -> jax.Array:
  images, _ = generator.apply(variables, z, chars, train=False)
  return images


def render_words(generator: nn.Module, variables: Any, words: Sequence[str], z: np.ndarray
                 ) -> list[list[np.ndarray]]:
  """`rows[s][w]`: word `w` written in style `z[s]`, uint8 [32, 16·len(word), 1]."""
  rows: list[list[np.ndarray]] = [[] for _ in range(len(z))]
  for word in words:
    chars = np.tile(text_lib.encode(word)[None, :], (len(z), 1))
    images = to_uint8(_render(generator, variables, jnp.asarray(z), jnp.asarray(chars)))
    for style, image in enumerate(images):
      rows[style].append(image)
  return rows


def text_figure(generator: nn.Module, variables: Any, words: Sequence[str], num_styles: int, seed: int,
                title: str = "") -> matplotlib.figure.Figure:
  """A figure with one row per style, the same z across the words of a row."""
  z = style_latents(seed, num_styles, generator.z_dim)
  rows = render_words(generator, variables, words, z)
  return handwriting_viz.sample_grid_figure(rows, [f"style {s}" for s in range(num_styles)], title=title)


def generator_variables(state: TrainState) -> dict[str, Any]:
  """G's variables for inference: EMA parameters when the run keeps them, with G's statistics."""
  g_net = state.nets["generator"]
  return g_net.variables(state.ema_params if state.ema_params is not None else None)


def load_generator(workdir: str) -> tuple[ml_collections.ConfigDict, nn.Module, dict[str, Any], int]:
  """(config, G, G's inference variables, step) of the latest checkpoint in `workdir`."""
  # Imported here: the trainer imports this module for its figures.
  from ganxai_jax.training import parallel  # pylint: disable=import-outside-toplevel
  from ganxai_jax.training import scrabble_trainer  # pylint: disable=import-outside-toplevel
  from ganxai_jax.training import trainer  # pylint: disable=import-outside-toplevel
  from ganxai_jax.training.checkpoints import Checkpointer  # pylint: disable=import-outside-toplevel
  config = trainer.load_run_config(workdir)
  if config.get("model") != "scrabblegan":
    raise UsageError(f"workdir {workdir!r} holds a {config.get('model')!r} run, not a ScrabbleGAN run.")
  mesh = parallel.make_mesh(jax.devices()[:1])
  components = scrabble_trainer.build_components(config)
  checkpointer = Checkpointer(workdir)
  state = checkpointer.restore_latest(scrabble_trainer.abstract_state(config, components, mesh))
  checkpointer.close()
  if state is None:
    raise UsageError(f"workdir {workdir!r} holds no checkpoint; train first with experiments.train.")
  return config, components.generator, generator_variables(state), int(jax.device_get(state.step))


def write_text_image(workdir: str, text: str, num_styles: int, output: str, seed: int = 0) -> str:
  """Writes `text` in `num_styles` styles with the run in `workdir` to the PNG `output`."""
  words = check_text(text)
  folder = os.path.dirname(os.path.abspath(output))
  if not os.path.isdir(folder):
    raise UsageError(f"output={output!r}: the folder {folder!r} does not exist; create it or choose another.")
  from ganxai_jax.training import trainer  # pylint: disable=import-outside-toplevel
  longest = max(words, key=len)
  max_length = trainer.load_run_config(workdir).get("lexicon_max_length", 0)
  if max_length and len(longest) > max_length:
    raise UsageError(f"the word {longest!r} has {len(longest)} characters; this generator writes words of at "
                     f"most {max_length} (its lexicon_max_length).")
  _, generator, variables, step = load_generator(workdir)
  figure = text_figure(generator, variables, words, num_styles, seed,
                       title=f"{text!r}, step {step}, seed {seed}: one style (z) per row")
  grids.save(figure, output)
  return output
