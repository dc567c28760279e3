"""Headless Chromium for the browser tests, driven by Playwright.

The browser is the system's Chromium (Debian's `chromium` package, `/usr/bin/chromium`, which `.ci/run`
installs), never one Playwright downloads. Where no Chromium is found the browser tests are skipped with
that reason, unless `GANXAI_REQUIRE_BROWSER=1` (set by `.ci/run`), which turns the skip into a failure:
CI must run them.

`open_page()` also records every request the page makes, so a test can check that a self-contained
report reaches nothing outside its own file, and that the explorer talks to its own server only.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# Without the background-networking flags Chromium keeps trying to reach Google's hosts at start.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
  """The Chromium executable: `$GANXAI_CHROMIUM`, else the first system one found, else None."""
  candidates = [os.environ.get("GANXAI_CHROMIUM", "")] + list(CHROMIUM_CANDIDATES)
  for path in candidates:
    if path and os.path.isfile(path) and os.access(path, os.X_OK):
      return path
  found = shutil.which("chromium")
  return found


def require_browser() -> str:
  """The Chromium path, or a skip (a failure under `GANXAI_REQUIRE_BROWSER=1`) when there is none."""
  path = chromium_path()
  if path is None:
    message = ("no Chromium found (looked for $GANXAI_CHROMIUM and " + ", ".join(CHROMIUM_CANDIDATES) +
               "); install Debian's chromium package to run the browser tests")
    if os.environ.get("GANXAI_REQUIRE_BROWSER") == "1":
      pytest.fail(message)
    pytest.skip(message)
  try:
    import playwright.sync_api  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
  except ImportError as e:
    pytest.fail(f"playwright is not installed ({e}); it is in setup.py's test extras")
  return path


@contextlib.contextmanager
def open_page(width: int = 1280, height: int = 900) -> Iterator[tuple[object, list[str]]]:
  """A new page in a fresh headless Chromium, and the list of URLs it requested (filled as it runs)."""
  executable = require_browser()
  from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel
  requested: list[str] = []
  profile = tempfile.mkdtemp(prefix="ganxai-chromium-")
  try:
    with sync_playwright() as playwright:
      context = playwright.chromium.launch_persistent_context(
          profile, executable_path=executable, args=CHROMIUM_ARGS, headless=True,
          viewport={"width": width, "height": height}, accept_downloads=True)
      try:
        page = context.pages[0] if context.pages else context.new_page()
        page.on("request", lambda request: requested.append(request.url))
        yield page, requested
      finally:
        context.close()
  finally:
    shutil.rmtree(profile, ignore_errors=True)


def outside_requests(requested: list[str], allowed_prefixes: tuple[str, ...]) -> list[str]:
  """The requested URLs that start with none of `allowed_prefixes` (data: URLs are inside the page)."""
  return [url for url in requested
          if not url.startswith("data:") and not url.startswith(tuple(allowed_prefixes))]
