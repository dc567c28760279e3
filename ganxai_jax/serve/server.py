"""Starts the explorer: loads the run and its explanations, compiles the first render, serves on
127.0.0.1 (werkzeug's threaded WSGI server, so a waiting request can be coalesced; see `coalesce`)."""
from __future__ import annotations

import logging as std_logging
import os
import threading
import time
from typing import Sequence

from absl import logging
from werkzeug.serving import BaseWSGIServer, make_server

from ganxai_jax import kinds
from ganxai_jax.errors import UsageError
from ganxai_jax.explain import direction_files
from ganxai_jax.serve import app as app_lib
from ganxai_jax.serve.explorer import Explorer

HOST = "127.0.0.1"


def build_explorer(workdir: str, explain_dirs: Sequence[str] = ()) -> Explorer:
  """The explorer of the run in `workdir` with the direction sets of `explain_dirs`; a set label that
  two explanations share is prefixed with its folder's name."""
  generator = kinds.load_generator(workdir)
  sets, seen = [], set()
  for folder in explain_dirs:
    for saved in direction_files.load(folder):
      if saved.label in seen:
        saved = direction_files.SavedDirections(f"{os.path.basename(os.path.normpath(folder))}/{saved.label}",
                                                saved.directions, saved.scales, saved.traversal_radius,
                                                saved.names)
      seen.add(saved.label)
      sets.append(saved)
  return Explorer(generator, sets, workdir=workdir)


def warm_up(explorer: Explorer) -> float:
  """Renders the page's first image once (compiling it); returns the seconds it took."""
  start = time.perf_counter()
  info = explorer.info()
  explorer.render(explorer.parse({"seed": 0, "text": info.get("default_text", ""), "label": 0}))
  return time.perf_counter() - start


def start_server(explorer: Explorer, port: int = 0) -> BaseWSGIServer:
  """A threaded server for `explorer` on 127.0.0.1:`port` (0: a free one), serving in a daemon thread;
  `server.shutdown()` stops it. Its address is `server.server_port`."""
  # werkzeug logs every request at INFO: a slider makes dozens a second. Errors still show.
  std_logging.getLogger("werkzeug").setLevel(std_logging.WARNING)
  try:
    httpd = make_server(HOST, port, app_lib.create_app(explorer), threaded=True)
  except OSError as e:
    raise UsageError(f"port={port}: cannot listen on {HOST}:{port} ({e.strerror}); choose another port, or 0 "
                     "for any free one.") from None
  threading.Thread(target=httpd.serve_forever, daemon=True, name="explorer-server").start()
  return httpd


def serve(workdir: str, explain_dirs: Sequence[str], port: int) -> None:
  """Serves the explorer until interrupted (Ctrl-C)."""
  explorer = build_explorer(workdir, explain_dirs)
  logging.info("compiling the first render...")
  logging.info("first render took %.1f s", warm_up(explorer))
  httpd = start_server(explorer, port)
  print(f"explorer of {workdir} ({explorer.generator.name}, step {explorer.generator.step}) at "
        f"http://{HOST}:{httpd.server_port}/ ; Ctrl-C stops it", flush=True)
  try:
    while True:
      time.sleep(3600)
  except KeyboardInterrupt:
    pass
  finally:
    httpd.shutdown()
