"""Synthetic handwritten words with known style factors, as an offline TFDS data set.

Each writer is one fixed draw of style factors; each of its words is a lexicon word drawn as strokes
from a Hershey stroke font (the `hershey-fonts` wheel), slanted, spaced, wobbled by a smooth random
displacement field, written along a drifting baseline with a pen of the writer's width and ink, and
then resized to exactly 32 x 16·n pixels (n characters), as ScrabbleGAN preprocesses IAM. Because
the images are rendered, every example carries the true style factors of its writer, which lets
explanation methods be scored against ground truth.

Style factors, in the order of the `style` feature (`STYLE_FACTOR_NAMES`):

  0 font              index into `FONTS` (stored as a float here; also as the int feature `font`)
  1 slant             horizontal shear, dx = slant · height above the baseline (positive leans right)
  2 stroke_width      pen width in pixels of the 32-pixel-high image (before the width resize;
                      'scriptc' draws with `FONT_PEN_SCALE` = 0.6 of it)
  3 letter_spacing    extra advance after each letter, as a fraction of the capital height
  4 size              capital height in pixels of the 32-pixel-high image
  5 baseline_drift    amplitude in pixels of the slow up-and-down wave of the baseline
  6 jitter_amplitude  amplitude in pixels of the smooth random displacement of the strokes
  7 jitter_smoothness wavelength in pixels of that displacement (larger is smoother)
  8 ink_intensity     darkness of the ink, 1 = black

Images are uint8 `[32, 16·n, 1]`, white background (255) and dark ink, so that scaling to [-1, 1]
maps the background to +1, as IAM's "pad a batch with white" expects.

Splits are writer-disjoint: the test split holds every word of the held-out writers. IAM's standard
partitions are writer-independent, and a recognizer or a style explanation has to generalise to
hands it has not seen; a word-disjoint split would let a test writer's style leak into training.
Words are drawn independently per writer (a length uniformly, then a lexicon word of that length),
so train and test may share words.

Everything is deterministic for `seed`: writer styles come from `default_rng([seed, writer])`, the
words and their per-word noise from `default_rng([seed, writer, word_index])`.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image, ImageDraw

from ganxai_jax.data import iam_words
from ganxai_jax.data import lexicon
from ganxai_jax.data import text

# The same word-image format as the IAM words (ScrabbleGAN's).
IMAGE_HEIGHT = iam_words.IMAGE_HEIGHT
WIDTH_PER_CHAR = iam_words.WIDTH_PER_CHAR

# Single-stroke Hershey fonts. 'cursive' (identical to 'scripts') is a joined script; 'scriptc' a
# script drawn with doubled strokes, which reads as a heavier, rounder hand; 'futural' and 'rowmans'
# are print-like hands (many IAM writers print). Serif and gothic fonts look typeset, not written.
FONTS = ("cursive", "scriptc", "futural", "rowmans")
FONT_PROBABILITIES = (0.4, 0.25, 0.2, 0.15)
# 'scriptc' outlines its letters with two close strokes, which a wide pen fills into blobs: it writes
# with this fraction of the writer's pen width.
FONT_PEN_SCALE = (1.0, 0.6, 1.0, 1.0)

STYLE_FACTOR_NAMES = ("font", "slant", "stroke_width", "letter_spacing", "size", "baseline_drift",
                      "jitter_amplitude", "jitter_smoothness", "ink_intensity")
NUM_STYLE_FACTORS = len(STYLE_FACTOR_NAMES)

# Ranges of the continuous factors (uniform draws), chosen by looking at rendered samples: beyond
# them letters touch the image border, strokes merge into blobs, or the jitter tears letters apart.
STYLE_RANGES = {
    "slant": (-0.15, 0.55),
    "stroke_width": (1.2, 2.5),
    "letter_spacing": (-0.05, 0.2),
    "size": (14.0, 18.5),
    "baseline_drift": (0.0, 1.6),
    "jitter_amplitude": (0.0, 0.7),
    "jitter_smoothness": (10.0, 24.0),
    "ink_intensity": (0.6, 1.0),
}

# Hershey coordinates are y-down with the baseline at 9 and the capital line at -12 (21 units high);
# descenders reach 21.
_HERSHEY_BASELINE = 9.0
_HERSHEY_CAP_HEIGHT = 21.0
_HERSHEY_DESCENDER = 12.0
_SUPERSAMPLING = 4
# Largest gap (font units) between two consecutive stroke points once densified, so that the
# displacement field bends lines instead of moving only the sparse original corners.
_MAX_SEGMENT = 1.5
_JITTER_WAVES = 3


@dataclasses.dataclass(frozen=True)
class WriterStyle:
  """One writer's fixed style factors (see the module docstring for their meaning and units)."""
  font: int
  slant: float
  stroke_width: float
  letter_spacing: float
  size: float
  baseline_drift: float
  jitter_amplitude: float
  jitter_smoothness: float
  ink_intensity: float

  def as_vector(self) -> np.ndarray:
    """The factors as float32 in the order of `STYLE_FACTOR_NAMES`."""
    return np.array([getattr(self, name) for name in STYLE_FACTOR_NAMES], dtype=np.float32)


def sample_writer_style(seed: int, writer: int) -> WriterStyle:
  """The style of writer `writer` for data set seed `seed` (a pure function of both)."""
  rng = np.random.default_rng([seed, writer])
  font = int(rng.choice(len(FONTS), p=FONT_PROBABILITIES))
  values = {name: float(rng.uniform(low, high)) for name, (low, high) in STYLE_RANGES.items()}
  return WriterStyle(font=font, **values)


@functools.lru_cache(maxsize=len(FONTS))
def _glyphs(font: str) -> dict[str, tuple[float, float, tuple[np.ndarray, ...]]]:
  """Per character of the alphabet: (left offset, advance width, strokes as float arrays [P, 2])."""
  import HersheyFonts  # pylint: disable=import-outside-toplevel
  fonts = HersheyFonts.HersheyFonts()
  fonts.load_default_font(font)
  table = {}
  for char in text.ALPHABET:
    glyph = fonts.all_glyphs[char]
    strokes = tuple(_densify(np.asarray(stroke, dtype=np.float64))
                    for stroke in glyph.strokes if len(stroke))
    table[char] = (float(glyph.left_offset), float(glyph.char_width), strokes)
  return table


def _densify(stroke: np.ndarray) -> np.ndarray:
  """Inserts points so that no segment is longer than `_MAX_SEGMENT` font units."""
  if len(stroke) < 2:
    return stroke
  pieces = [stroke[:1]]
  for start, end in zip(stroke[:-1], stroke[1:]):
    steps = max(1, int(np.ceil(np.linalg.norm(end - start) / _MAX_SEGMENT)))
    t = np.arange(1, steps + 1)[:, None] / steps
    pieces.append(start + t * (end - start))
  return np.concatenate(pieces)


def _word_strokes(word: str, style: WriterStyle) -> list[np.ndarray]:
  """The word's strokes in font units, letters placed with the writer's extra spacing."""
  glyphs = _glyphs(FONTS[style.font])
  cursor = 0.0
  strokes = []
  for char in word:
    left_offset, advance, glyph_strokes = glyphs[char]
    for stroke in glyph_strokes:
      strokes.append(stroke + np.array([cursor - left_offset, 0.0]))
    cursor += advance + style.letter_spacing * _HERSHEY_CAP_HEIGHT
  return strokes


def _smooth_field(points: np.ndarray, rng: np.random.Generator, amplitude: float,
                  wavelength: float) -> np.ndarray:
  """A smooth random 2-D displacement of `points` [P, 2]: a few plane waves of one wavelength."""
  directions = rng.uniform(0.0, 2 * np.pi, size=(2, _JITTER_WAVES))
  phases = rng.uniform(0.0, 2 * np.pi, size=(2, _JITTER_WAVES))
  wave_vectors = np.stack([np.cos(directions), np.sin(directions)], axis=-1) * (2 * np.pi / wavelength)
  # [P, 2 axes, waves]: the phase of each wave at each point, one set of waves per axis.
  angle = np.einsum("pd,awd->paw", points, wave_vectors) + phases[None]
  return amplitude * np.sin(angle).sum(-1) / np.sqrt(_JITTER_WAVES / 2)


def render_word(word: str, style: WriterStyle, rng: np.random.Generator) -> np.ndarray:
  """Draws `word` in `style`; uint8 `[32, 16·len(word)]`, white background and dark ink.

  `rng` supplies only the per-word noise (jitter waves and the baseline's phase), so two words of
  one writer share every style factor.
  """
  if not word:
    raise ValueError("Cannot render an empty word.")
  unknown = text.unknown_characters(word)
  if unknown:
    raise ValueError(f"Word {word!r} has characters outside the alphabet: {unknown}.")
  scale = style.size / _HERSHEY_CAP_HEIGHT  # pixels per font unit
  strokes = _word_strokes(word, style)
  points = np.concatenate(strokes) if strokes else np.zeros((0, 2))
  # Font units to pixels of a 32-pixel-high image, baseline placed so that the span from capital
  # line to descender line is centred vertically.
  span_centre = _HERSHEY_BASELINE + (_HERSHEY_DESCENDER - _HERSHEY_CAP_HEIGHT) / 2
  pixels = (points - np.array([0.0, span_centre])) * scale + np.array([0.0, IMAGE_HEIGHT / 2])
  baseline_y = (_HERSHEY_BASELINE - span_centre) * scale + IMAGE_HEIGHT / 2
  pixels[:, 0] += style.slant * (baseline_y - pixels[:, 1])
  pixels += _smooth_field(pixels, rng, style.jitter_amplitude, style.jitter_smoothness)
  drift_period = 5.0 * style.size
  pixels[:, 1] += style.baseline_drift * np.sin(
      2 * np.pi * pixels[:, 0] / drift_period + rng.uniform(0, 2 * np.pi))

  # Draw white-on-black ink coverage at 4x, crop to the ink's columns, resize to 16·n columns.
  pen = style.stroke_width * FONT_PEN_SCALE[style.font] * _SUPERSAMPLING
  margin = pen
  x_min = pixels[:, 0].min() * _SUPERSAMPLING - margin
  x_max = pixels[:, 0].max() * _SUPERSAMPLING + margin
  canvas_width = int(np.ceil(x_max - x_min)) + 1
  canvas = Image.new("L", (canvas_width, IMAGE_HEIGHT * _SUPERSAMPLING), 0)
  draw = ImageDraw.Draw(canvas)
  offset = 0
  for stroke in strokes:
    xy = pixels[offset:offset + len(stroke)] * _SUPERSAMPLING - np.array([x_min, 0.0])
    offset += len(stroke)
    coordinates = [tuple(p) for p in xy.tolist()]
    if len(coordinates) == 1:
      coordinates = coordinates * 2
    draw.line(coordinates, fill=255, width=max(1, int(round(pen))), joint="curve")
    # Round pen tips: ImageDraw ends lines square.
    radius = pen / 2
    for x, y in (coordinates[0], coordinates[-1]):
      draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
  coverage = canvas.resize((WIDTH_PER_CHAR * len(word), IMAGE_HEIGHT), Image.Resampling.BOX)
  ink = np.asarray(coverage, dtype=np.float32) / 255.0
  return np.round(255.0 * (1.0 - style.ink_intensity * ink)).astype(np.uint8)


def writer_words(seed: int, writer: int, num_words: int, min_length: int, max_length: int,
                 capitalize_probability: float) -> list[str]:
  """The words that writer `writer` writes (deterministic for the seed)."""
  rng = np.random.default_rng([seed, writer, 0x776f7264])  # 'word'
  return lexicon.sample_words(rng, num_words, min_length, max_length, capitalize_probability)


def split_writers(num_writers: int, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
  """Writer-disjoint split: a seeded random `test_fraction` of the writers (at least one) is test."""
  if num_writers < 2:
    raise ValueError(f"A writer-disjoint split needs at least 2 writers, got {num_writers}.")
  num_test = min(num_writers - 1, max(1, int(round(test_fraction * num_writers))))
  order = np.random.default_rng([seed, 0x73706c6974]).permutation(num_writers)  # 'split'
  return {"train": np.sort(order[num_test:]), "test": np.sort(order[:num_test])}


def render_example(seed: int, writer: int, word_index: int, word: str) -> dict[str, np.ndarray]:
  """One data set example: the rendered word and its labels and style factors."""
  style = sample_writer_style(seed, writer)
  rng = np.random.default_rng([seed, writer, word_index])
  image = render_word(word, style, rng)
  return {
      "image": image[..., None],
      "text": word,
      "labels": text.encode(word),
      "writer": np.int32(writer),
      "font": np.int32(style.font),
      "style": style.as_vector(),
  }


@dataclasses.dataclass
class SyntheticHandwritingConfig(tfds.core.BuilderConfig):
  """Size and randomness of a synthetic handwriting data set."""
  num_writers: int = 200
  words_per_writer: int = 250
  test_writer_fraction: float = 0.1
  min_length: int = 1
  max_length: int = 10
  capitalize_probability: float = 0.1
  seed: int = 0


class SyntheticHandwriting(tfds.core.GeneratorBasedBuilder):
  """Lexicon words rendered from Hershey stroke fonts by many synthetic writers; offline."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [
      SyntheticHandwritingConfig(name="default", description="200 writers x 250 words."),
      SyntheticHandwritingConfig(name="tiny", description="6 writers x 10 words, for tests.",
                                 num_writers=6, words_per_writer=10, test_writer_fraction=0.2),
  ]
  DEFAULT_CONFIG_NAME = "default"

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=iam_words.word_features(
            font=tfds.features.Tensor(shape=(), dtype=np.int32),
            style=tfds.features.Tensor(shape=(NUM_STYLE_FACTORS,), dtype=np.float32)),
        description=(
            "Words of the web2 lexicon drawn from Hershey stroke fonts by synthetic writers, each a "
            "fixed draw of style factors " + ", ".join(STYLE_FACTOR_NAMES) + ". Writer-disjoint "
            "train/test splits."))

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing is downloaded.
    config = self.builder_config
    writers = split_writers(config.num_writers, config.test_writer_fraction, config.seed)
    return {name: self._generate_examples(ids) for name, ids in writers.items()}

  def _generate_examples(self, writers: np.ndarray):
    config = self.builder_config
    for writer in writers.tolist():
      words = writer_words(config.seed, writer, config.words_per_writer, config.min_length,
                           config.max_length, config.capitalize_probability)
      for word_index, word in enumerate(words):
        yield f"{writer}_{word_index}", render_example(config.seed, writer, word_index, word)
