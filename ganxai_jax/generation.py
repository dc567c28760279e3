"""The generate command's jobs: write a text with the word generator of a run, one row per style;
write it in the style of a real word image (`--style_image`, inverted to z by `explain.inversion`), or
draw digits in the style of a real digit with a CGAN run; and
render one saved latent (`--latent=FILE`, as the latent explorer downloads it) back to its exact image.

A latent file is JSON: `{"format": "ganxai-latent/1", "generator_step", "latent_dim", "z": [...],
"condition": {name: nested list}, "condition_dtypes": {name: dtype}, ...}` plus what made it (seed,
text or class, the direction shifts), for people. `z` is the moved float32 latent itself, so rendering
it needs neither the explanation nor the seed: the same z and condition through the same compiled
generator give the same pixels.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
from typing import Any, Sequence

import jax
import numpy as np
from PIL import Image

from ganxai_jax import config_checks
from ganxai_jax import kinds
from ganxai_jax.data import iam_words
from ganxai_jax.data import pipeline
from ganxai_jax.data import text as text_lib
from ganxai_jax.data import unlabeled
from ganxai_jax.data import words_pipeline
from ganxai_jax.errors import UsageError
from ganxai_jax.explain import content
from ganxai_jax.explain import direction_files
from ganxai_jax.explain import factor_reader
from ganxai_jax.explain import inversion
from ganxai_jax.generators import words as word_generators
from ganxai_jax.generators.interface import Condition, TrainedGenerator
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.training import scrabble_trainer
from ganxai_jax.viz import handwriting as handwriting_viz
from ganxai_jax.viz import styles as styles_viz

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


# ---- Writing in the style of a real word -------------------------------------------------------------

# The factor reader that scores the style (`explain/factor_reader`): (word length, training words, held-out
# words, steps), as configs/explain.py trains it, so an explanation's cached reader serves here too.
FACTOR_READERS = {"default": (6, 6000, 1000, 1500), "tiny": (6, 64, 32, 5)}


def read_style_image(path: str, word: str) -> np.ndarray:
  """The real word image `path` resized to G's format for its transcription `word` (32 × 16·len(word),
  as every word data set here is prepared), in [-1, 1]: `[32, 16n, 1]`. A one-line ConfigError for a
  file that is missing or not an image."""
  allowed = f"an image file ({', '.join(e.lstrip('.') for e in unlabeled.IMAGE_EXTENSIONS)}) of one written word"
  if not os.path.isfile(path):
    config_checks.fail("--style_image", path, f"does not exist; pass {allowed}")
  image, reason = iam_words.load_word_image(path, len(word), 0.0, float("inf"))
  if image is None:
    config_checks.fail("--style_image", path, f"is {'not an image' if reason == 'unreadable' else reason}; "
                       f"pass {allowed}")
  return words_pipeline.scale_image(image)[..., None]


def run_recognizer(config: Any, state: Any) -> inversion.FeatureNet:
  """The run's own R (it learned from real words only) as the inversion's feature network."""
  model = scrabble_trainer.build_components(config).recognizer
  return inversion.recognizer_features(model, workdir_lib.inference_variables(state, "recognizer"), "the GAN's R")


def load_factor_reader(config: Any, size: str) -> factor_reader.Reader:
  """The factor reader of `size` (`FACTOR_READERS`), cached beside the run's data (trained the first time)."""
  cache = os.path.join(os.path.expanduser(config.get("data_dir") or "") or pipeline.default_data_dir(),
                       "ganxai_factor_readers")
  return factor_reader.load_or_train_reader(cache, *FACTOR_READERS[size])[0]


def write_style_image(workdir: str, style_image: str, style_text: str, text: str, output: str, seed: int = 0,
                      reader_size: str = "default", steps: int = inversion.InversionSettings.steps,
                      feature_weight: float = inversion.InversionSettings.feature_weight) -> tuple[str, str]:
  """Inverts the real word `style_image` (transcribed `style_text`) to z with the run in `workdir`, writes
  `text` in that style to the PNG `output` (one row: the real word, its reconstruction, the new words)
  and the inversion's scores (`inversion.score`, beside random styles) to `output`'s stem + `.json`.
  For a CGAN run, `style_image` is a digit, `style_text` the digit it shows and `text` the digits to draw
  (`write_digit_style_image`). Returns both paths."""
  config, state = kinds.restore(workdir)
  generator = kinds.kind_of(config).generator(config, workdir_lib.inference_variables(state),
                                              int(jax.device_get(state["step"])))
  if generator.kind == "digits" and generator.num_classes:
    return write_digit_style_image(workdir, generator, style_image, style_digit(style_text, generator.num_classes),
                                   parse_digits("--text", text, generator.num_classes), output, seed, steps)
  if generator.kind != "words":
    raise UsageError(f"workdir {workdir!r} holds a {generator.name} run, which draws digits of no asked class; "
                     "pass a ScrabbleGAN or CGAN run.")
  alphabet = word_generators.alphabet_of(generator)
  words = word_generators.check_text(text, max_length=config.get("lexicon_max_length", 0), alphabet=alphabet)
  real = read_style_image(style_image, style_text)
  settings = inversion.InversionSettings(steps=steps, seed=seed, feature_weight=feature_weight)
  features = run_recognizer(config, state) if feature_weight > 0 else None
  found = inversion.invert(generator, real, style_text, features, settings)
  scores = inversion.score(generator, real, style_text, found, words, load_factor_reader(config, reader_size),
                           seed=seed)
  new_words = inversion.write_in_styles(generator, words, found.z[None])
  row = [word_generators.to_uint8(image) for image in [real, found.reconstruction] + [w[0] for w in new_words]]
  figure = handwriting_viz.sample_grid_figure(
      [row], ["inverted style"], column_labels=[f"real: {style_text}", "reconstruction", *words],
      title=(f"style of {os.path.basename(style_image)!r}, step {generator.step}: pixel error "
             f"{scores['pixel_error']:.3f} (random z {scores['random_pixel_error']:.3f}), reader distance "
             f"{scores['reader_distance']:.2f} (random {scores['random_reader_distance']:.2f})"))
  workdir_lib.save_figure(figure, output)
  record = {**scores, "style_image": style_image, "generator_step": generator.step, "seed": seed,
            "inversion": {**dataclasses.asdict(settings), "features": f"{features.name} (frame features)" if features else "none",
                          "restart_losses": found.restart_losses.tolist(),
                          "losses": found.losses[::max(1, len(found.losses) // 50)].tolist()},
            "z": found.z.tolist(), "lower_is_better": ["pixel_error", "reader_distance"]}
  json_path = os.path.splitext(output)[0] + ".json"
  workdir_lib.write_json(json_path, record)
  return output, json_path


# ---- Drawing digits in the style of a real digit (the MNIST CGAN) ------------------------------------

DIGIT_IMAGE = ("an image file ({}) of one digit: MNIST's white on black, or dark ink on light paper (inverted); "
               "it is resized to the generator's square")


def parse_digits(name: str, value: str, num_classes: int) -> list[int]:
  """The digits of `value` (separated by spaces, each a class 0-`num_classes - 1` the CGAN draws); a
  one-line ConfigError naming flag `name` otherwise."""
  tokens = (value or "").split()
  allowed = f"digits the CGAN draws (0-{num_classes - 1}) separated by spaces, e.g. '0 1 2'"
  if not tokens:
    config_checks.fail(name, value, f"is empty; write {allowed}")
  for token in tokens:
    if not (token.isascii() and token.isdigit() and int(token) < num_classes):
      config_checks.fail(name, value, f"{token!r} is not one of the {allowed}")
  return [int(token) for token in tokens]


def style_digit(value: str, num_classes: int) -> int:
  """The one digit `--style_text` names for a CGAN run; a one-line ConfigError otherwise."""
  digits = parse_digits("--style_text", value, num_classes)
  if len(digits) != 1:
    config_checks.fail("--style_text", value, "must be the one digit that --style_image shows")
  return digits[0]


def read_style_digit(path: str, size: tuple[int, int] = (28, 28)) -> tuple[np.ndarray, bool]:
  """The real digit image `path` in the CGAN's format: grey, resized to `size` (H, W), white ink on black,
  in [-1, 1]: `([H, W, 1], inverted)`. An image whose border is brighter than mid-grey shows dark ink on
  light paper and is inverted (`inverted` True). A one-line ConfigError for a file that is missing or not
  an image."""
  allowed = DIGIT_IMAGE.format(", ".join(e.lstrip(".") for e in unlabeled.IMAGE_EXTENSIONS))
  if not os.path.isfile(path):
    config_checks.fail("--style_image", path, f"does not exist; pass {allowed}")
  try:
    with Image.open(path) as image:
      grey = image.convert("L")
      grey.load()
  except (OSError, ValueError, Image.DecompressionBombError):
    config_checks.fail("--style_image", path, f"is not an image; pass {allowed}")
  if 0 in grey.size:
    config_checks.fail("--style_image", path, f"is empty; pass {allowed}")
  pixels = np.asarray(grey.resize((size[1], size[0]), Image.Resampling.BILINEAR), np.float32)
  border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
  inverted = bool(border.mean() > 127.5)
  if inverted:
    pixels = 255.0 - pixels
  return (pixels / 127.5 - 1.0)[..., None], inverted


def write_digit_style_image(workdir: str, generator: TrainedGenerator, style_image: str, digit: int,
                            new_digits: Sequence[int], output: str, seed: int = 0,
                            steps: int = inversion.InversionSettings.steps) -> tuple[str, str]:
  """`write_style_image` for a CGAN run: inverts the real digit `style_image` (showing `digit`) to the
  noise z, draws `new_digits` in that style to the PNG `output` (the real digit, its reconstruction, the
  new digits) and writes the scores (`inversion.score_digit`: pixels and measured attributes beside
  random styles, and the run's evaluation classifier's reading of the new digits) to its stem + `.json`."""
  size = inversion.output_shape(generator, inversion.digit_condition(generator, [digit]))[:2]
  real, inverted = read_style_digit(style_image, size)
  settings = inversion.InversionSettings(steps=steps, seed=seed)
  found = inversion.invert_digit(generator, real, digit, settings)
  judge, judge_about = content.content_judge(workdir, generator)
  scores = inversion.score_digit(generator, real, digit, found, new_digits, judge, seed=seed)
  drawn = generator.render(np.repeat(found.z[None], len(new_digits), axis=0),
                           inversion.digit_condition(generator, new_digits))
  row = [to_uint8(image[None])[0] for image in [real, found.reconstruction, *drawn]]
  content_text = (f", other digit read {scores['content_error']:.2f} (random {scores['random_content_error']:.2f})"
                  if "content_error" in scores else "")
  figure = handwriting_viz.sample_grid_figure(
      [row], ["inverted style"], column_labels=[f"real: {digit}", "reconstruction", *map(str, new_digits)],
      title=(f"style of {os.path.basename(style_image)!r}, step {generator.step}: pixel error "
             f"{scores['pixel_error']:.3f} (random z {scores['random_pixel_error']:.3f}), style distance "
             f"{scores['style_distance']:.2f} (random {scores['random_style_distance']:.2f}){content_text}"))
  workdir_lib.save_figure(figure, output)
  record = {**scores, "style_image": style_image, "colours_inverted": inverted, "content_judge": judge_about,
            "generator_step": generator.step, "seed": seed,
            "inversion": {**dataclasses.asdict(settings), "features": "none",
                          "restart_losses": found.restart_losses.tolist(),
                          "losses": found.losses[::max(1, len(found.losses) // 50)].tolist()},
            "z": found.z.tolist(), "lower_is_better": ["pixel_error", "style_distance", "content_error"]}
  json_path = os.path.splitext(output)[0] + ".json"
  workdir_lib.write_json(json_path, record)
  return output, json_path


def _style_record_or_none(path: str) -> dict[str, Any] | None:
  try:
    record = workdir_lib.read_json(path)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError):
    return None
  if not isinstance(record, dict) or not isinstance(record.get("z"), list) or not (
      "word" in record or "digit" in record):
    return None
  return record


def read_style_record(path: str) -> dict[str, Any]:
  """The record that `write_style_image` wrote to `path` (its JSON); a one-line ConfigError otherwise."""
  record = _style_record_or_none(path)
  if record is None:
    config_checks.fail("--styles", path, "must be the JSON that experiments.generate --style_image wrote (it "
                       "holds the inverted z)")
  return record


def expand_style_files(entries: Sequence[str]) -> list[str]:
  """The style JSONs named by `entries`: each a file, or a folder standing for the style records among its
  `*.json` files (sorted; other JSONs there, such as a placement's own, are passed over), as the generate
  command writes them into one output folder. A one-line ConfigError for an entry that is missing or a
  folder without style records."""
  files = []
  for entry in entries:
    if os.path.isdir(entry):
      found = [path for path in sorted(os.path.join(entry, name) for name in os.listdir(entry))
               if path.endswith(".json") and _style_record_or_none(path) is not None]
      if not found:
        config_checks.fail("--styles", entry, "is a folder without the JSON files that experiments.generate "
                           "--style_image writes; name such files, or their folder")
      files.extend(found)
    elif not os.path.isfile(entry):
      config_checks.fail("--styles", entry, "does not exist; name the JSON files that experiments.generate "
                         "--style_image wrote, or their folder")
    else:
      files.append(entry)
  return files


# The inversion scores (`inversion.score`) that a placement summarises over its writers.
INVERSION_SCORES = ("pixel_error", "random_pixel_error", "random_pixel_error_best", "reader_distance",
                    "random_reader_distance", "style_distance", "random_style_distance",
                    "share_of_random_styles_closer", "content_error", "random_content_error")


def inversion_summary(records: Sequence[dict[str, Any]]) -> dict[str, float]:
  """The mean over `records` (style JSONs) of each inversion score that every one of them holds."""
  return {key: float(np.mean([record[key] for record in records])) for key in INVERSION_SCORES
          if records and all(key in record for record in records)}


def write_styles_on_directions(explain_dir: str, style_files: Sequence[str], output: str, set_label: str = "",
                               num_directions: int = 8, seed: int = 0) -> tuple[str, str]:
  """Places the inverted real writers of `style_files` (the generate command's style JSONs, or folders of
  them) on the first `num_directions` directions of the set `set_label` (default: the first of learned (of
  either kind), ganspace, sefa) saved in `explain_dir`, beside 256 random styles; writes the figure to the PNG `output`
  and the coordinates, each writer's inversion scores and their means to its stem + `.json`. Returns
  both paths."""
  sets = {saved.label: saved for saved in direction_files.load(explain_dir)}
  # The learned set is saved under its kind ('learned_orthonormal', 'learned_linear').
  label = set_label or next((name for method in ("learned", "ganspace", "sefa") for name in sorted(sets)
                             if name == method or name.startswith(method + "_")), "")
  if label not in sets:
    raise UsageError(f"set={set_label!r}: {explain_dir!r} saved the direction sets {sorted(sets)}; pick one.")
  saved = sets[label]
  style_files = expand_style_files(style_files)
  records = [read_style_record(path) for path in style_files]
  z = np.asarray([record["z"] for record in records], np.float64)
  if z.shape[1] != saved.directions.shape[0]:
    raise UsageError(f"the styles have {z.shape[1]}-dimensional z; the directions of {explain_dir!r} move "
                     f"{saved.directions.shape[0]}-dimensional ones: invert with the generator they explain.")
  count = min(num_directions, saved.directions.shape[1])
  directions, scales = saved.directions[:, :count], saved.scales[:count]
  names = [f"{k}: {saved.name(k)}" for k in range(count)]
  coordinates = inversion.direction_coordinates(z, directions, scales)
  random_z = np.random.default_rng(seed).standard_normal((256, z.shape[1]))
  baseline = inversion.direction_coordinates(random_z, directions, scales)
  writers = [f"{os.path.splitext(os.path.basename(r.get('style_image', '')))[0] or r.get('word', r.get('digit'))}"
             for r in records]
  figure = styles_viz.writers_on_directions_figure(
      coordinates, writers, names, baseline,
      title=f"inverted real writers on the {label} directions of {os.path.basename(os.path.normpath(explain_dir))}")
  workdir_lib.save_figure(figure, output)
  json_path = os.path.splitext(output)[0] + ".json"
  spread = baseline.std(axis=0)
  workdir_lib.write_json(json_path, {
      "explain_dir": explain_dir, "set": label, "directions": names, "random_styles_std": spread.tolist(),
      "writers": {writer: {"style_file": path, "coordinates": c.tolist(), "in_random_stds": (c / spread).tolist(),
                           **{key: record[key] for key in INVERSION_SCORES if key in record}}
                  for writer, path, c, record in zip(writers, style_files, coordinates, records)},
      "inversion_mean": inversion_summary(records)})
  return output, json_path


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
