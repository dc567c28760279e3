"""Tests for the style measurements on rendered digit-like and word-like images."""
from __future__ import annotations

import numpy as np
import pytest

from ganxai_jax.evaluation.measure import (ink_mask, measure_style, skeleton_length_and_endpoints,
                                        skeletonize)

BACKGROUND, INK = -1.0, 1.0


def _stroke(shape: tuple[int, int], thickness: float, length: float, angle: float,
            center: tuple[float, float]) -> np.ndarray:
  """A pen stroke with round caps (all pixels within thickness/2 of a segment), leaning right by
  `angle` degrees from vertical, as a boolean mask."""
  rows = np.arange(shape[0], dtype=np.float64)[:, None] - center[0]
  cols = np.arange(shape[1], dtype=np.float64)[None, :] - center[1]
  angle = np.radians(angle)
  up_row, up_col = -np.cos(angle), np.sin(angle)   # unit vector from the bottom end to the top end
  along = np.clip(rows * up_row + cols * up_col, -length / 2, length / 2)
  return np.hypot(rows - along * up_row, cols - along * up_col) <= thickness / 2


def _sheared_bar(shape: tuple[int, int], width: int, height: int, angle: float) -> np.ndarray:
  """An axis-aligned `width`×`height` bar sheared so that its top moves right by tan(angle) per row."""
  rows = np.arange(shape[0], dtype=np.float64)[:, None]
  cols = np.arange(shape[1], dtype=np.float64)[None, :]
  mid_row, mid_col = (shape[0] - 1) / 2, (shape[1] - 1) / 2
  unsheared_cols = cols + np.tan(np.radians(angle)) * (rows - mid_row)
  return (np.abs(rows - mid_row) < height / 2) & (np.abs(unsheared_cols - mid_col) < width / 2)


def _image(mask: np.ndarray) -> np.ndarray:
  return np.where(mask, INK, BACKGROUND).astype(np.float32)


@pytest.mark.parametrize("angle", [-25.0, -10.0, 0.0, 8.0, 15.0, 30.0])
def test_slant_of_sheared_bars(angle: float) -> None:
  bars = np.stack([_image(_sheared_bar((28, 28), width, 20, angle)) for width in (2, 3, 5)])
  slant = measure_style(bars)["slant"]
  np.testing.assert_allclose(slant, angle, atol=1.0)


def test_slant_sign_and_order_on_strokes_and_words() -> None:
  angles = [-20.0, -5.0, 10.0, 25.0]
  strokes = np.stack([_image(_stroke((28, 28), 2.0, 18, a, (13.5, 13.5))) for a in angles])
  slant = measure_style(strokes)["slant"]
  np.testing.assert_allclose(slant, angles, atol=2.0)
  # A word-like image: five strokes side by side on a 32 × 80 canvas, all leaning by the same angle.
  words = []
  for angle in angles:
    mask = np.zeros((32, 80), dtype=bool)
    for x in (10, 24, 38, 52, 66):
      mask |= _stroke((32, 80), 2.5, 18, angle, (15.5, x))
    words.append(_image(mask))
  np.testing.assert_allclose(measure_style(np.stack(words))["slant"], angles, atol=2.0)


def test_width_height_and_trim() -> None:
  mask = np.zeros((32, 96), dtype=bool)
  mask[8:24, 10:14] = True    # first "letter": columns 10..13
  mask[12:20, 40:60] = True
  mask[6:26, 70:73] = True    # last "letter": columns 70..72, rows 6..25
  image = _image(mask)
  measured = measure_style(image[None, ..., None])   # [B, H, W, 1] is accepted
  assert measured["width"][0] == 63.0
  assert measured["height"][0] == 20.0
  assert measured["ink_area"][0] == mask.sum()
  # A stray speck far away widens the bounding box but not the trimmed extent.
  specked = image.copy()
  specked[2, 93] = INK
  assert measure_style(specked[None])["width"][0] == 84.0
  trimmed = measure_style(specked[None], trim=0.01)["width"][0]
  assert 55.0 <= trimmed <= 63.0


@pytest.mark.parametrize("angle", [0.0, -20.0, 20.0, 35.0])
def test_thickness_of_strokes(angle: float) -> None:
  # On vertical strokes centred on a pixel, odd thicknesses render exactly that many pixels wide.
  thicknesses = [3.0, 5.0] if angle == 0.0 else [2.0, 3.0, 4.0, 5.0, 6.0]
  images = np.stack([_image(_stroke((32, 32), t, 18, angle, (15.5, 15.0))) for t in thicknesses])
  measured = measure_style(images)["thickness"]
  np.testing.assert_allclose(measured, thicknesses, rtol=0.15)
  assert np.all(np.diff(measured) > 0)


def test_thickness_of_a_closed_ring() -> None:
  rows, cols = np.mgrid[:28, :28]
  radius = np.hypot(rows - 13.5, cols - 13.5)
  rings = np.stack([_image(np.abs(radius - 8.0) < t / 2) for t in (2.0, 3.0, 4.0)])
  np.testing.assert_allclose(measure_style(rings)["thickness"], [2.0, 3.0, 4.0], rtol=0.1)


def test_skeleton_is_thin_and_connected() -> None:
  mask = _stroke((32, 32), 5.0, 20, 20.0, (15.5, 15.5))
  skeleton = skeletonize(mask)[0]
  assert skeleton.sum() > 15
  assert not (skeleton[:-1, :-1] & skeleton[1:, 1:] & skeleton[:-1, 1:] & skeleton[1:, :-1]).any()
  assert np.all(mask[skeleton])
  # One skeleton pixel per row across the stroke's middle: a line, not a band.
  assert np.all(skeleton[8:24].sum(1) == 1)
  # No staircase corners: no pixel with both a horizontal and a vertical neighbour that touch diagonally.
  padded = np.pad(skeleton, 1)
  centre = padded[1:-1, 1:-1]
  up, down = padded[:-2, 1:-1], padded[2:, 1:-1]
  left, right = padded[1:-1, :-2], padded[1:-1, 2:]
  assert not (centre & (up | down) & (left | right)).any()


def test_skeleton_length_of_digital_lines() -> None:
  # 8-connected digital lines at 0°, 30° and 45° from vertical: links of 1 and √2 give their length.
  lines = np.zeros((3, 24, 24), dtype=bool)
  for index, angle in enumerate((0.0, 30.0, 45.0)):
    rows = np.arange(2, 22)
    lines[index, rows, 2 + np.round((rows - 2) * np.tan(np.radians(angle))).astype(int)] = True
  length, endpoints = skeleton_length_and_endpoints(lines)
  expected = 19 / np.cos(np.radians([0.0, 30.0, 45.0]))
  np.testing.assert_allclose(length, expected, rtol=0.05)
  np.testing.assert_array_equal(endpoints, 2)


def test_polarity_and_intensity() -> None:
  mask = _stroke((28, 28), 3.0, 18, 12.0, (13.5, 13.5))
  bright = np.where(mask, 0.5, -1.0)[None]           # grey ink: amount 0.75
  dark = -bright                                      # dark grey ink on white
  bright_measures = measure_style(bright, ink_polarity="bright")
  dark_measures = measure_style(dark, ink_polarity="dark")
  for name in bright_measures:
    np.testing.assert_allclose(dark_measures[name], bright_measures[name], rtol=1e-6, err_msg=name)
  np.testing.assert_allclose(bright_measures["intensity"], 0.75, atol=1e-6)
  # The wrong polarity sees the background as ink.
  assert ink_mask(dark, "bright").sum() > 28 * 28 - mask.sum() - 1
  with pytest.raises(ValueError):
    ink_mask(dark, "white")


def test_empty_image_gives_zeros() -> None:
  measured = measure_style(np.full((2, 16, 16), BACKGROUND))
  for name, value in measured.items():
    assert value.shape == (2,)
    np.testing.assert_array_equal(value, 0.0, err_msg=name)


def test_shear_search_recovers_the_known_slant_of_rendered_words() -> None:
  """Words drawn by the synthetic renderer (print font, no jitter or drift) at known shears. The data set
  resizes every word to 16 px per character, which stretches or squeezes the drawn angle, so the test
  asks for order and a near-linear relation, not equal degrees; whole-image moments of a word fail it."""
  from ganxai_jax.data import synthetic_handwriting as synth  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  shears = np.array([-0.15, 0.0, 0.2, 0.4, 0.55])
  words = ("summer", "hollow", "bottle", "litter")
  images, truth = [], []
  for shear in shears:
    style = synth.WriterStyle(font=synth.FONTS.index("futural"), slant=float(shear), stroke_width=1.8,
                              letter_spacing=0.05, size=16.0, baseline_drift=0.0, jitter_amplitude=0.0,
                              jitter_smoothness=16.0, ink_intensity=1.0)
    for word in words:
      images.append(synth.render_word(word, style, rng).astype(np.float32) / 127.5 - 1.0)
      truth.append(np.degrees(np.arctan(shear)))
  images, truth = np.stack(images), np.array(truth)
  shear_slant = measure_style(images, ink_polarity="dark")["slant"]  # 'auto': words are wide.
  means = shear_slant.reshape(len(shears), len(words)).mean(1)
  assert np.all(np.diff(means) > 5.0), means  # Every step of 0.15-0.2 in shear: several degrees more.
  assert abs(means[1]) < 3.0, means  # Upright print reads as upright.
  assert np.corrcoef(shear_slant, truth)[0, 1] > 0.95
  moments = measure_style(images, ink_polarity="dark", slant_method="moments")["slant"]
  assert np.corrcoef(moments, truth)[0, 1] < 0.6


def test_slant_method_is_checked() -> None:
  with pytest.raises(ValueError, match="slant_method"):
    measure_style(np.zeros((1, 8, 8)), slant_method="hough")
