"""Content survival of a direction's move (explain/content.py) on a toy generator with known answers."""
import numpy as np
import pytest

from ganxai_jax.explain import content
from tests.toy_generators import linear_generator


def test_a_move_that_changes_the_asked_content_is_counted_and_one_that_does_not_is_not():
  """Images are the latent; the 'asked content' of row i is the label i, read back from pixel 1 (z[1]).
  Moving along z[1] by ±3 changes what is read on every seed; moving along z[0] or z[2] changes nothing
  the judge reads. The labels must stay aligned with their images through the traversal."""
  generator = linear_generator()
  labels = np.arange(4)
  latents = np.zeros((4, 16), np.float32)
  latents[:, 1] = labels
  condition = {"labels": labels}

  def judge(images, condition):
    return (np.round(images[:, 0, 1, 0]) != np.asarray(condition["labels"])).astype(float)

  directions = np.eye(16)[:, :3]
  result = content.content_survival(generator, directions, np.ones(3), latents, condition, 3.0, judge)
  assert result["unshifted_error"] == 0.0
  assert result["shifted_error"] == [0.0, 1.0, 0.0]
  assert result["error_increase"] == [0.0, 1.0, 0.0]
  assert result["mean_shifted_error"] == pytest.approx(1 / 3) and result["radius"] == 3.0
  # A move of 0.4 along z[1] rounds back to the label: nothing is lost.
  small = content.content_survival(generator, directions, np.array([1.0, 0.4 / 3, 1.0]), latents,
                                   condition, 3.0, judge)
  assert small["shifted_error"] == [0.0, 0.0, 0.0]
  table = content.survival_table({"learned": {"content": result}, "random": {"names": []}})
  assert table == {"learned": {"unshifted_error": 0.0, "mean_shifted_error": pytest.approx(1 / 3),
                               "mean_error_increase": pytest.approx(1 / 3)}}
