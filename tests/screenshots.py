"""The README's screenshots, made through the browser tests' own path (`tests/browser.py`, the explorer's
`server.start_server`), on a trained run and an explanation of it:

  python3 -m tests.screenshots --workdir=runs/scrabble --explain=runs/scrabble_sefa --output_dir=docs

writes `docs/report.png` (the top of the run's `report.html`, rebuilt first) and `docs/explorer.png` (the
explorer with the first direction's slider moved to the end of its range).
"""
from __future__ import annotations

import argparse
import os
import pathlib

from ganxai_jax import html_report
from ganxai_jax.serve import server
from tests import browser


def report_screenshot(workdir: str, path: str, width: int = 1280, height: int = 1000) -> None:
  """The top of `workdir`'s report (rebuilt) as a PNG."""
  report = html_report.write_report(workdir)
  with browser.open_page(width, height) as (page, _):
    page.goto(pathlib.Path(os.path.abspath(report)).as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=path)


def explorer_screenshot(workdir: str, explain_dir: str, path: str, width: int = 1280, height: int = 720) -> None:
  """The explorer of `workdir` with `explain_dir`'s directions, its first slider moved to the end."""
  explorer = server.build_explorer(workdir, [explain_dir])
  server.warm_up(explorer)
  httpd = server.start_server(explorer, 0)
  try:
    with browser.open_page(width, height) as (page, _):
      page.goto(f"http://127.0.0.1:{httpd.server_port}/")
      page.wait_for_selector("body[data-renders='1']")
      page.locator("#directions input[type=range]").first.focus()
      page.keyboard.press("End")
      page.wait_for_selector("body[data-renders='2']")
      page.screenshot(path=path)
  finally:
    httpd.shutdown()


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", required=True, help="a trained run's folder")
  parser.add_argument("--explain", required=True, help="an explain run of directions, ganspace or sefa on it")
  parser.add_argument("--output_dir", default="docs")
  args = parser.parse_args()
  os.makedirs(args.output_dir, exist_ok=True)
  report_screenshot(args.workdir, os.path.join(args.output_dir, "report.png"))
  explorer_screenshot(args.workdir, args.explain, os.path.join(args.output_dir, "explorer.png"))
  print(f"wrote {args.output_dir}/report.png and {args.output_dir}/explorer.png")


if __name__ == "__main__":
  main()
