"""The generate command's jobs: write a text with the word generator of a run, one row per style; and
render one saved latent (`--latent=FILE`, as the latent explorer downloads it) back to its exact image.

A latent file is JSON: `{"format": "ganxai-latent/1", "generator_step", "latent_dim", "z": [...],
"condition": {name: nested list}, "condition_dtypes": {name: dtype}, ...}` plus what made it (seed,
text or class, the direction shifts), for people. `z` is the moved float32 latent itself, so rendering
it needs neither the explanation nor the seed: the same z and condition through the same compiled
generator give the same pixels.
"""
from __future__ import annotations

import io
import json
import os
from typing import Any

import numpy as np
from PIL import Image

from ganxai_jax import kinds
from ganxai_jax.data import text as text_lib
from ganxai_jax.errors import UsageError
from ganxai_jax.generators import words as word_generators
from ganxai_jax.generators.interface import Condition, TrainedGenerator
from ganxai_jax.run import workdir as workdir_lib

LATENT_FORMAT = "ganxai-latent/1"


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


# ---- One latent, one image ---------------------------------------------------------------------------

def latent_record(generator: TrainedGenerator, z: np.ndarray, condition: Condition, **about: Any
                  ) -> dict[str, Any]:
  """The JSON-ready record of one latent `z [latent_dim]` and its `condition` (batch of one), with
  `about` (seed, text, shifts...) kept for people."""
  z = np.asarray(z, np.float32).reshape(-1)
  arrays = {name: np.asarray(value)[:1] for name, value in condition.items()}
  return {"format": LATENT_FORMAT, "generator": generator.name, "generator_step": int(generator.step),
          "latent_dim": int(generator.latent_dim), "z": [float(v) for v in z],
          "condition": {name: a.tolist() for name, a in arrays.items()},
          "condition_dtypes": {name: str(a.dtype) for name, a in arrays.items()}, **about}


def record_inputs(record: dict[str, Any]) -> tuple[np.ndarray, Condition]:
  """`(z [1, latent_dim] float32, condition)` of a latent record, exactly as it was rendered."""
  z = np.asarray(record["z"], np.float32)[None, :]
  dtypes = record.get("condition_dtypes", {})
  condition = {name: np.asarray(value, dtype=dtypes.get(name, None))
               for name, value in record.get("condition", {}).items()}
  return z, condition


def to_uint8(images: np.ndarray) -> np.ndarray:
  """Images in [-1, 1] `[..., H, W, 1]` as uint8 `[..., H, W]` (+1 → 255), the pixels a PNG holds."""
  return word_generators.to_uint8(images)[..., 0]


def render_record(generator: TrainedGenerator, record: dict[str, Any]) -> np.ndarray:
  """The uint8 image `[H, W]` of a latent record."""
  z, condition = record_inputs(record)
  return to_uint8(generator.render(z, condition))[0]


def png_bytes(image: np.ndarray) -> bytes:
  """A uint8 grey image `[H, W]` as PNG bytes (lossless: the file holds exactly these pixels)."""
  buffer = io.BytesIO()
  Image.fromarray(np.asarray(image, np.uint8), mode="L").save(buffer, format="PNG")
  return buffer.getvalue()


def read_latent(path: str) -> dict[str, Any]:
  """The latent record in the JSON file `path`; a one-line UsageError for a file that is not one."""
  if not os.path.isfile(path):
    raise UsageError(f"latent={path!r} does not exist; pass a latent file that the explorer downloaded.")
  try:
    with open(path, encoding="utf-8") as fh:
      record = json.load(fh)
  except (UnicodeDecodeError, json.JSONDecodeError) as e:
    raise UsageError(f"latent={path!r} is not JSON ({e}); pass a latent file that the explorer downloaded.")
  if not isinstance(record, dict) or record.get("format") != LATENT_FORMAT or "z" not in record:
    raise UsageError(f"latent={path!r} is not a latent file (format {LATENT_FORMAT!r} with z).")
  return record


def check_latent(record: dict[str, Any], generator: TrainedGenerator, workdir: str, path: str) -> None:
  """A one-line UsageError when the record does not fit the generator of `workdir`."""
  if len(record["z"]) != generator.latent_dim:
    raise UsageError(f"latent={path!r} has a {len(record['z'])}-dimensional z; the generator of {workdir!r} "
                     f"takes {generator.latent_dim}.")
  if record.get("generator") not in (None, generator.name):
    raise UsageError(f"latent={path!r} was made by a {record['generator']} generator; {workdir!r} holds a "
                     f"{generator.name}.")


def write_latent_image(workdir: str, latent_file: str, output: str) -> str:
  """Renders the latent file with the generator of `workdir` and writes its exact pixels to the PNG
  `output`; says so when the run has trained on since the latent was saved (its image then differs)."""
  record = read_latent(latent_file)
  generator = kinds.load_generator(workdir)
  check_latent(record, generator, workdir, latent_file)
  if int(record.get("generator_step", generator.step)) != generator.step:
    print(f"note: the latent was saved at step {record['generator_step']}; {workdir} is at step "
          f"{generator.step}, so its image differs from the saved one.")
  workdir_lib.write_file(output, png_bytes(render_record(generator, record)))
  return output
