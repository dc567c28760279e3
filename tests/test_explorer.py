"""The latent explorer (experiments.serve): requests checked and rendered, coalesced, and served. The page
in a real browser, on a tiny ScrabbleGAN with attention and its SeFa directions, is tested in
tests/test_generate.py, beside the other commands that use that run."""
import io
import json
import threading
import time

import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from ganxai_jax import generation
from ganxai_jax.explain.direction_files import SavedDirections
from ganxai_jax.generators.interface import TrainedGenerator
from ganxai_jax.serve import app as app_lib
from ganxai_jax.serve.coalesce import Coalescer, Superseded
from ganxai_jax.serve.explorer import BadRequest, Explorer


def toy_cgan(latent_dim: int = 16, num_classes: int = 3) -> TrainedGenerator:
  """A conditional toy: the image is the latent laid out 4 × 4, plus 0.1 times the class."""

  def apply_fn(variables, z, condition):
    del variables
    return z.reshape(z.shape[0], 4, 4, 1) * 0.1 + 0.1 * condition["labels"].astype(jnp.float32)[:, None, None, None]

  def condition_fn(rng, n):
    del rng
    return {"labels": jnp.zeros((n,), jnp.int32)}

  return TrainedGenerator(name="toy_cgan", kind="digits", latent_dim=latent_dim, ink_polarity="bright",
                          variables={}, apply_fn=apply_fn, features_fn=lambda v, z, c: z,
                          condition_fn=condition_fn, weight_fn=lambda v: np.eye(latent_dim),
                          num_classes=num_classes)


def toy_explorer() -> Explorer:
  directions = np.eye(16, 3, dtype=np.float32)
  return Explorer(toy_cgan(), [SavedDirections("learned", directions, np.array([2.0, 1.0, 1.0], np.float32),
                                               3.0, ("thickness", "slant", "d2"))], workdir="toy")


def test_a_shift_moves_the_latent_along_its_direction_by_t_edit_units():
  explorer = toy_explorer()
  base, _ = explorer.inputs(explorer.parse({"seed": 5, "label": 2}))
  moved, condition = explorer.inputs(explorer.parse({"seed": 5, "label": 2,
                                                     "shifts": [{"set": "learned", "index": 0, "t": 1.5}]}))
  expected = base.copy()
  expected[0, 0] += 1.5 * 2.0  # t times the direction's scale
  np.testing.assert_allclose(moved, expected, rtol=1e-6)
  assert condition["labels"].tolist() == [2]


def test_the_latent_record_renders_back_to_the_same_pixels():
  explorer = toy_explorer()
  rendered = explorer.render(explorer.parse({"seed": 1, "label": 1,
                                             "shifts": [{"set": "learned", "index": 1, "t": -2.0}]}))
  record = json.loads(json.dumps(rendered.record))  # Through JSON, as it is downloaded.
  assert record["shifts"] == [{"set": "learned", "index": 1, "name": "slant", "t": -2.0}]
  assert record["label"] == 1 and record["seed"] == 1
  np.testing.assert_array_equal(generation.render_record(explorer.generator, record), rendered.image)
  decoded = np.asarray(Image.open(io.BytesIO(generation.png_bytes(rendered.image))))
  np.testing.assert_array_equal(decoded, rendered.image)


@pytest.mark.parametrize("payload, message", [
    ({"seed": -1}, "seed must be a whole number"),
    ({"seed": "x"}, "seed must be a whole number"),
    ({"seed": 0, "label": 3}, "label must be a whole number from 0 to 2"),
    ({"shifts": [{"set": "sefa", "index": 0, "t": 1}]}, "unknown direction set 'sefa'; the sets are learned"),
    ({"shifts": [{"set": "learned", "index": 7, "t": 1}]}, "direction index must be a whole number from 0 to 2"),
    ({"shifts": [{"set": "learned", "index": 0, "t": 1e9}]}, "outside [-30, 30]"),
    ({"shifts": [{"set": "learned", "index": 0, "t": float("nan")}]}, "outside"),
    ({"shifts": "up"}, "shifts must be a list"),
    ([1, 2], "must be a JSON object"),
])
def test_bad_requests_are_refused_with_a_message_naming_the_value(payload, message):
  with pytest.raises(BadRequest, match=message.replace("[", r"\[").replace("(", r"\(")):
    toy_explorer().parse(payload)


def test_a_waiting_request_is_dropped_when_a_newer_one_of_its_client_arrives():
  started, release, calls = threading.Event(), threading.Event(), []

  def slow(arg):
    calls.append(arg)
    if arg == "first":
      started.set()
      release.wait(10)
    return arg

  coalescer = Coalescer(slow)
  results = {}

  def submit(name):
    try:
      results[name] = coalescer.submit("client", name)
    except Superseded:
      results[name] = "superseded"

  first = threading.Thread(target=submit, args=("first",))
  first.start()
  assert started.wait(10)
  second = threading.Thread(target=submit, args=("second",))
  second.start()
  while "client" not in coalescer._waiting:  # pylint: disable=protected-access
    time.sleep(0.01)
  third = threading.Thread(target=submit, args=("third",))
  third.start()
  second.join(10)
  release.set()
  for thread in (first, third):
    thread.join(10)
  assert results == {"first": "first", "second": "superseded", "third": "third"}
  assert calls == ["first", "third"] and coalescer.superseded == 1


def test_the_app_answers_bad_requests_with_400_and_goes_on():
  client = app_lib.create_app(toy_explorer()).test_client()
  info = client.get("/api/info").get_json()
  assert info["direction_sets"][0]["directions"] == ["thickness", "slant", "d2"] and info["num_classes"] == 3
  bad = client.post("/api/render", json={"seed": 0, "shifts": [{"set": "learned", "index": 0, "t": 1e9}]})
  assert bad.status_code == 400 and "outside" in bad.get_json()["error"]
  assert client.post("/api/render", data="not json", content_type="application/json").status_code == 400
  assert client.get("/nothing").status_code == 404
  assert client.post("/api/attention", json={"seed": 0, "row": 0, "col": 0}).get_json()["error"].endswith(
      "has no self-attention layer.")
  good = client.post("/api/render", json={"seed": 0, "label": 1})
  assert good.status_code == 200 and good.get_json()["image"].startswith("data:image/png;base64,")
