"""A run's folder as one self-contained HTML page: `write_report(workdir)` writes `WORKDIR/report.html`.

`page.py` assembles the page from the folder's files; `numbers.py` turns the result files into tables
beside their baselines, `directions.py` shows the named directions of an explanation with their strips,
`curves.py` draws metrics.jsonl, `figures.py` captions figures/*.png, and `markup.py` holds the HTML
building blocks (escaping, tables, embedded images, the inline CSS). Every command that writes into a
workdir calls `write_report` at its end; `python -m experiments.report --workdir=DIR` rebuilds it.
"""
from ganxai_jax.html_report.page import REPORT_FILE, RUN_FILES, write_report

__all__ = ["REPORT_FILE", "RUN_FILES", "write_report"]
