"""Preparing a TFDS data set once, offline, on process 0, with the project's own log lines.

TFDS prints "Downloading and preparing dataset ..." and draws progress bars (escape codes in a log
file) even when nothing is downloaded: every data set here is built from files already on the machine
(the installed packages, or the folder the user names). `prepare` says instead what it prepares, from
where and how long it took, and silences both.
"""
from __future__ import annotations

import contextlib
import io
import time
from typing import Callable

import jax
import tensorflow_datasets as tfds
from absl import logging


def prepare(make_builder: Callable[[], tfds.core.DatasetBuilder], manual_dir: str | None = None
            ) -> tfds.core.DatasetBuilder:
  """The builder `make_builder()` gives, prepared into its data_dir the first time (a no-op after).

  Only process 0 prepares; the others wait for it, so a multi-host run writes the files once.
  """
  builder = make_builder()
  if builder.is_prepared():
    return builder
  if jax.process_index() == 0:
    source = f"the folder {manual_dir}" if manual_dir else "data in the installed packages (offline)"
    logging.info("preparing %s %s into %s from %s; done once, reused after", builder.name, builder.version,
                 builder.data_dir, source)
    started = time.time()
    tfds.disable_progress_bar()
    download_config = tfds.download.DownloadConfig(manual_dir=manual_dir) if manual_dir else None
    with contextlib.redirect_stdout(io.StringIO()):  # TFDS's own "Downloading and preparing" lines.
      builder.download_and_prepare(download_config=download_config)
    logging.info("prepared %s in %.0f s", builder.name, time.time() - started)
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    multihost_utils.sync_global_devices(f"prepare {builder.name}")
  # Process 0 keeps the builder that prepared (it holds what the build counted); the others read anew.
  return builder if jax.process_index() == 0 else make_builder()
