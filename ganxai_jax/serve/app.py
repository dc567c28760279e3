"""The latent explorer's web app (Flask): the page, and a small JSON API over an `Explorer`.

  GET  /               the page (`page.html`, self-contained: no file or script from elsewhere)
  GET  /api/info       the generator, its alphabet or classes, the direction sets and their names
  POST /api/render     {seed, text | label, shifts, client} -> {image (PNG data URL), latent, ms}
  POST /api/attention  the same and {row, col} -> an overlay per attention layer (PNG data URLs)

A bad request gets status 400 and `{"error": message}`, which the page shows; a request overtaken by a
newer one of the same client while it waited gets 409 `{"superseded": true}` (see `coalesce`). Any other
exception is a bug: it is logged with its traceback and answered 500, and the server goes on.
"""
from __future__ import annotations

import base64
import importlib.resources
import io
import time
from typing import Any

import flask
import numpy as np
from absl import logging
from matplotlib import colormaps
from PIL import Image

from ganxai_jax import generation
from ganxai_jax.serve.coalesce import Coalescer, Superseded
from ganxai_jax.serve.explorer import BadRequest, Explorer


def data_url(png: bytes) -> str:
  return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def heat_png(heat: np.ndarray) -> bytes:
  """A heat map in [0, 1] `[H, W]` as an RGBA PNG: inferno colours, opacity growing with the heat."""
  rgba = colormaps["inferno"](np.clip(heat, 0.0, 1.0))
  rgba[..., 3] = 0.15 + 0.7 * np.clip(heat, 0.0, 1.0)
  buffer = io.BytesIO()
  Image.fromarray(np.round(rgba * 255).astype(np.uint8), mode="RGBA").save(buffer, format="PNG")
  return buffer.getvalue()


def page_html() -> str:
  return importlib.resources.files("ganxai_jax.serve").joinpath("page.html").read_text(encoding="utf-8")


def create_app(explorer: Explorer) -> flask.Flask:
  """The Flask app serving `explorer`; one `Coalescer` puts its generator calls in a queue of one."""
  app = flask.Flask("ganxai_explorer")
  renders = Coalescer(lambda args: args[0](*args[1:]))
  app.config["coalescer"] = renders

  def payload() -> dict[str, Any]:
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
      raise BadRequest("the request body must be a JSON object.")
    return body

  def client() -> str:
    body = flask.request.get_json(silent=True)
    tag = body.get("client") if isinstance(body, dict) else None
    return f"{flask.request.remote_addr}/{tag if isinstance(tag, str) else ''}"

  @app.errorhandler(BadRequest)
  def bad_request(error: BadRequest):
    return flask.jsonify(error=str(error)), 400

  @app.errorhandler(Superseded)
  def superseded(_):
    return flask.jsonify(superseded=True), 409

  @app.errorhandler(404)
  def not_found(_):
    return flask.jsonify(error=f"no such page: {flask.request.path}"), 404

  @app.errorhandler(405)
  def wrong_method(_):
    return flask.jsonify(error=f"{flask.request.method} is not allowed on {flask.request.path}"), 405

  @app.errorhandler(Exception)
  def bug(error: Exception):
    logging.exception("the explorer failed on %s", flask.request.path)
    return flask.jsonify(error=f"internal error ({type(error).__name__}: {error}); the server goes on"), 500

  @app.get("/")
  def index():
    return flask.Response(page_html(), mimetype="text/html")

  @app.get("/api/info")
  def info():
    return flask.jsonify(explorer.info())

  @app.post("/api/render")
  def render():
    request = explorer.parse(payload())
    start = time.perf_counter()
    rendered = renders.submit(client(), (explorer.render, request))
    return flask.jsonify(image=data_url(generation.png_bytes(rendered.image)), latent=rendered.record,
                         width=int(rendered.image.shape[1]), height=int(rendered.image.shape[0]),
                         ms=1000 * (time.perf_counter() - start))

  @app.post("/api/attention")
  def attention():
    body = payload()
    request = explorer.parse(body)
    row = body.get("row")
    col = body.get("col")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (row, col)):
      raise BadRequest(f"row and col must be whole pixel numbers, got {row!r} and {col!r}.")
    result = renders.submit(client(), (explorer.attention, request, row, col))
    return flask.jsonify(image_hw=result["image_hw"], layers={
        name: {"overlay": data_url(heat_png(layer["heat"])), "query_grid": layer["query_grid"],
               "uniform_level": layer["uniform_level"]}
        for name, layer in result["layers"].items()})

  return app
