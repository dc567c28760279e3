"""The HTML report of a run's folder (`ganxai_jax/html_report`, `experiments.report`).

Unit tests build a folder by hand (config.json, metrics.jsonl, eval.json, small PNGs) and read the page
as text: written, images embedded, run text escaped, every number present, unknown keys kept, missing
files said. The CLI tests rebuild a page and reject a folder that is not a run's. The browser tests
train a tiny CGAN, evaluate and explain it through the commands, and open both pages in headless
Chromium: tables and images shown, nothing requested outside the file, a full-page screenshot saved.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
from typing import Any

import numpy as np
import pytest
from PIL import Image

from ganxai_jax import cli
from ganxai_jax import html_report
from ganxai_jax.html_report import curves, markup
from ganxai_jax.run import workdir as workdir_lib
from tests import browser
from tests.conftest import REPO_ROOT, run_cli

NASTY = "<script>alert('x')</script> & \"Shalom\""


def _png(width: int = 24, height: int = 16, value: int = 90) -> bytes:
  buffer = io.BytesIO()
  Image.fromarray(np.full((height, width), value, np.uint8)).save(buffer, format="PNG")
  return buffer.getvalue()


def _write(path, payload: Any) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  mode = "wb" if isinstance(payload, bytes) else "w"
  with open(path, mode) as fh:
    fh.write(payload if isinstance(payload, (bytes, str)) else json.dumps(payload))


@pytest.fixture
def hand_made(tmp_path) -> str:
  """A training run's folder as the commands leave it, with run text that must be escaped and keys no
  version of the report knows."""
  folder = str(tmp_path / "run")
  _write(os.path.join(folder, "config.json"), {"model": "cgan", "dataset": "mnist_embedded",
                                               "num_train_steps": 6, "num_classes": 10, "note": NASTY,
                                               "section": {"inner_key": 3}})
  records = [{"step": s, "d_loss": 1.0 / s, "g_loss": 0.5 + s, "d_logit_real": 0.1 * s} for s in (2, 4, 6)]
  records.append({"step": 6, "eval/fid": 12.5})
  _write(os.path.join(folder, "metrics.jsonl"), "".join(json.dumps(r) + "\n" for r in records) + "{cut sho")
  _write(os.path.join(folder, "eval.json"), {
      "fid": 141.0298, "fid_real_vs_real": 0.4261, "label_accuracy": 0.125, "classifier_test_accuracy": 0.788,
      "step": 6, "mystery_score": 0.4242, "new_table": {"alpha": {"x": 1.5}, "beta": {"x": 2.5}},
      "new_words": ["<b>bold</b>", "plain"], "examples": [{"asked": "<i>word</i>", "read": "wurd"}]})
  _write(os.path.join(folder, "figures", "samples.png"), _png())
  _write(os.path.join(folder, "figures", "samples_000002.png"), _png(value=30))
  _write(os.path.join(folder, "figures", "odd_<name>.png"), _png(value=200))
  workdir_lib.record_command(folder, "train",
                             ["/x/experiments/train.py", "--workdir=" + folder, f"--config.note={NASTY}"])
  return folder


def _images(page: str) -> list[str]:
  return re.findall(r"<img [^>]*src=\"([^\"]*)\"", page)


def test_the_page_is_written_self_contained_with_every_figure_and_curve_embedded(hand_made):
  path = html_report.write_report(hand_made)
  assert path == os.path.join(hand_made, "report.html")
  page = open(path, encoding="utf-8").read()
  sources = _images(page)
  # 3 figures and the curves (losses and logits; eval/fid was logged once and is no curve).
  assert len(sources) == 5 and all(s.startswith("data:image/png;base64,") for s in sources)
  assert not re.search(r"(src|href)=\"(?!data:|#)", page)  # Nothing fetched, no link out.
  assert "<link" not in page and "<script src" not in page and "@import" not in page
  assert "@media print" in page
  for caption in ("Samples of the generator", "at step 2", "losses: d_loss, g_loss", "logits: d_logit_real"):
    assert caption in page, caption


def test_run_text_is_escaped(hand_made):
  page = open(html_report.write_report(hand_made), encoding="utf-8").read()
  assert "<script>alert" not in page and "<b>bold</b>" not in page and "<i>word</i>" not in page
  assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp;" in page  # The config value, shown as text.
  assert "&lt;b&gt;bold&lt;/b&gt;" in page and "&lt;i&gt;word&lt;/i&gt;" in page
  assert "odd_&lt;name&gt;.png" in page


def test_numbers_sit_beside_their_baselines_and_unknown_keys_are_kept(hand_made):
  page = open(html_report.write_report(hand_made), encoding="utf-8").read()
  # FID beside real vs real; label accuracy beside the classifier and chance (1 / num_classes).
  assert re.search(r"<strong>FID</strong></td><td>141</td><td>real vs real: 0.4261</td>", page)
  assert "classifier on real test digits: 0.788; chance: 0.1" in page
  assert "mystery_score" in page and "0.4242" in page  # An unknown scalar, in the table of other values.
  assert "new_table" in page and "<td>1.5</td>" in page and "<td>2.5</td>" in page  # An unknown nested one.
  assert "plain" in page and "wurd" in page
  # What was run: the command, the data set, the steps beside the plan, the code version.
  assert "python -m experiments.train --workdir=" in page
  assert "mnist_embedded" in page and "6 (from eval.json step), of 6 planned" in page
  assert workdir_lib.code_version() in page
  assert "section.inner_key" in page  # The flattened config.


def test_a_folder_with_only_a_config_gets_a_page_that_says_what_is_missing(tmp_path):
  folder = str(tmp_path / "started")
  _write(os.path.join(folder, "config.json"), {"model": "gan"})
  page = open(html_report.write_report(folder), encoding="utf-8").read()
  missing = page[page.index('id="missing"'):]
  for what in ("eval.json", "explain.json", "metrics.jsonl", "figures/", "commands.jsonl"):
    assert what in missing, what
  assert "<img" not in page


def test_an_unreadable_result_file_is_said_not_raised(tmp_path):
  folder = str(tmp_path / "broken")
  _write(os.path.join(folder, "config.json"), {"model": "gan"})
  _write(os.path.join(folder, "eval.json"), "{not json")
  page = open(html_report.write_report(folder), encoding="utf-8").read()
  assert "eval.json cannot be read" in page


def test_odd_shapes_of_the_result_files_still_make_a_page(tmp_path):
  folder = str(tmp_path / "odd")
  _write(os.path.join(folder, "explain.json"), {
      "method": "directions", "names": {"a": "not a list"}, "figures": 7, "rca": [1, 2], "nan": float("nan"),
      "direction_sets": {"a": {"names": ["x <y>"], "effects": [5], "content": {"shifted_error": "no"}}, "b": 3},
      "layers": {"l": {"q": [1, {"deep": [1, 2]}]}}, "weird": [[1, 2], [3]]})
  _write(os.path.join(folder, "eval.json"), [1, 2])
  _write(os.path.join(folder, "figures", "a_direction00.png"), _png())
  page = open(html_report.write_report(folder), encoding="utf-8").read()
  assert "eval.json holds list" in page and "x &lt;y&gt;" in page and "NaN" in page
  assert "{deep: [1, 2]}" in page and "[[1, 2], [3]]" in page
  assert 'alt="a direction 0: x &lt;y&gt;"' in page


def test_a_recognizer_folder_reads_its_cer_as_the_recognizer_s(tmp_path):
  folder = str(tmp_path / "recognizer")
  _write(os.path.join(folder, "config.json"), {"model": "scrabblegan", "recognizer": {"num_steps": 4}})
  _write(os.path.join(folder, "eval.json"), {"cer": 0.036, "wer": 0.1, "num_words": 50,
                                             "examples": [{"reference": "la", "read": "la"}]})
  _write(os.path.join(folder, "recognizer.json"), {"alphabet": "ab<c", "num_classes": 4})
  page = open(html_report.write_report(folder), encoding="utf-8").read()
  assert "recognizer on real test words" in page and "0.036" in page
  assert "of 4 planned (config recognizer.num_steps)" in page
  assert "ab&lt;c" in page


def test_record_command_appends_argv_time_and_version(tmp_path):
  folder = str(tmp_path / "new")
  workdir_lib.record_command(folder, "evaluate", ["evaluate.py", "--workdir=" + folder])
  workdir_lib.record_command(folder, "evaluate", ["evaluate.py", "--workdir=" + folder, "--verbose"])
  records = workdir_lib.read_commands(folder)
  assert [r["argv"][-1] for r in records] == ["--workdir=" + folder, "--verbose"]
  assert all(r["command"] == "evaluate" and r["time"].endswith("+00:00") and r["version"] for r in records)
  if os.path.isdir(os.path.join(REPO_ROOT, ".git")):
    described = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True,
                               text=True, check=False).stdout.strip()
    assert records[0]["version"] == described


def test_curves_group_variants_by_number_and_others_by_prefix():
  groups = curves.group_keys(["d_loss", "g_loss", "d_logit_real", "learned/accuracy", "random/accuracy",
                              "learned/ce", "random/ce", "curve/cer", "curve/wer", "eval/fid", "usable_fraction"])
  assert groups == {"losses": ["d_loss", "g_loss"], "logits": ["d_logit_real"],
                    "accuracy": ["learned/accuracy", "random/accuracy"], "ce": ["learned/ce", "random/ce"],
                    "curve": ["curve/cer", "curve/wer"], "eval": ["eval/fid"], "usable_fraction": ["usable_fraction"]}
  sizes = {"fid": (np.arange(3), np.array([300.0, 200, 100])), "acc": (np.arange(3), np.array([0.1, 0.5, 0.9]))}
  assert [list(p) for p in curves.panels(sizes)] == [["acc"], ["fid"]]
  # A resumed run's clock starts again: its stretches add up.
  records = [{"step": 1, "curve/minutes": 1.0}, {"step": 2, "curve/minutes": 3.0}, {"step": 3, "curve/minutes": 0.5}]
  assert curves.clock_minutes(records) == (3.5, "curve/minutes")


def test_markup_escapes_what_it_is_given():
  assert markup.cell("<x>") == "&lt;x&gt;"
  assert markup.cell(markup.Html("<b>kept</b>")) == "<b>kept</b>"
  assert markup.cell({"a": 0.123456, "b": None}) == "a: 0.1235, b: —"
  assert markup.tag("td", "<", class_='"q"') == '<td class="&quot;q&quot;">&lt;</td>'


# ---- The command ---------------------------------------------------------------------------------

def test_the_report_command_rebuilds_the_page(hand_made):
  assert not os.path.exists(os.path.join(hand_made, "report.html"))
  proc = run_cli("experiments.report", f"--workdir={hand_made}")
  assert proc.stdout.strip() == f"report: {os.path.join(hand_made, 'report.html')}"
  assert "mystery_score" in open(os.path.join(hand_made, "report.html"), encoding="utf-8").read()


@pytest.mark.parametrize("folder, fragment", [
    ("{tmp}/nowhere", "it does not exist"),
    ("{tmp}/empty", "holds none of config.json, eval.json or explain.json"),
    ("{tmp}/a_file", "it is a file"),
])
def test_the_report_command_rejects_a_folder_that_is_not_a_run_s_in_one_line(tmp_path, folder, fragment):
  (tmp_path / "empty").mkdir()
  (tmp_path / "a_file").write_text("x")
  folder = folder.format(tmp=tmp_path)
  proc = run_cli("experiments.report", f"--workdir={folder}", check=False)
  assert proc.returncode == cli.EXIT_BAD_INPUT, proc.stderr
  lines = proc.stderr.splitlines()
  assert len(lines) == 1 and lines[0].startswith(f"error: --workdir={folder!r}: ") and fragment in lines[0], lines
  assert not os.path.exists(os.path.join(folder, "report.html"))


# ---- In a browser --------------------------------------------------------------------------------

def screenshot_report(workdir: str, path: str, width: int = 1280) -> dict[str, Any]:
  """Opens `workdir/report.html` in headless Chromium (`tests/browser.py`), saves a full-page screenshot
  to `path` and returns what the page showed: `requested` (every URL it asked for), `outside` (those
  outside its own file), `image_widths` (each `<img>`'s naturalWidth: 0 for one that did not load),
  `tables` (how many), `headings` (the h2 and h3 texts) and `text` (the page's visible text)."""
  url = "file://" + os.path.abspath(os.path.join(workdir, html_report.REPORT_FILE))
  with browser.open_page(width=width) as (page, requested):
    page.goto(url, wait_until="load")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    shown = {
        "image_widths": page.eval_on_selector_all("img", "images => images.map(i => i.naturalWidth)"),
        "tables": page.eval_on_selector_all("table", "tables => tables.length"),
        "headings": page.eval_on_selector_all("h2, h3", "hs => hs.map(h => h.textContent)"),
        "text": page.inner_text("body"),
    }
    page.screenshot(path=path, full_page=True)
  return {**shown, "requested": list(requested), "outside": browser.outside_requests(requested, (url,))}


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory, mnist_data_dir) -> dict[str, str]:
  """A tiny CGAN trained and evaluated, and its directions explained, through the commands."""
  browser.require_browser()  # Skip (or fail under GANXAI_REQUIRE_BROWSER=1) before training anything.
  root = tmp_path_factory.mktemp("report_runs")
  gan, directions = str(root / "cgan"), str(root / "directions")
  run_cli("experiments.train", "--config=configs/mnist.py:cgan,tiny", f"--workdir={gan}",
          f"--config.data_dir={mnist_data_dir}")
  assert os.path.exists(os.path.join(gan, "report.html"))
  run_cli("experiments.evaluate", f"--workdir={gan}")
  run_cli("experiments.explain", "--config=configs/explain.py:directions,tiny",
          f"--config.generator_workdir={gan}", f"--workdir={directions}")
  return {"gan": gan, "directions": directions}


def test_every_command_records_itself_and_leaves_a_report(tiny_runs):
  commands = workdir_lib.read_commands(tiny_runs["gan"])
  assert [r["command"] for r in commands] == ["train", "evaluate"]
  assert f"--workdir={tiny_runs['gan']}" in commands[0]["argv"]
  explained = workdir_lib.read_commands(tiny_runs["directions"])
  assert [r["command"] for r in explained] == ["explain"]
  assert workdir_lib.read_json(os.path.join(tiny_runs["directions"], "config.json"))["method"] == "directions"
  for folder in tiny_runs.values():
    assert os.path.getmtime(os.path.join(folder, "report.html")) >= os.path.getmtime(
        os.path.join(folder, workdir_lib.COMMANDS_FILE))


def test_a_tiny_training_run_s_report_in_a_browser(tiny_runs, tmp_path):
  shown = screenshot_report(tiny_runs["gan"], str(tmp_path / "report.png"))
  assert shown["outside"] == [], shown["outside"]
  figures = os.listdir(os.path.join(tiny_runs["gan"], "figures"))
  assert len(shown["image_widths"]) > len(figures) // 3 and all(w > 0 for w in shown["image_widths"])
  assert shown["tables"] >= 3
  assert {"What was run", "Numbers", "Training curves", "Figures"} <= set(shown["headings"])
  text = shown["text"]
  assert "python -m experiments.train" in text and "python -m experiments.evaluate" in text
  assert "FID" in text and "real vs real" in text and "label accuracy" in text
  assert os.path.getsize(tmp_path / "report.png") > 0


def test_an_explanation_s_report_shows_each_named_direction_with_its_strip(tiny_runs, tmp_path):
  shown = screenshot_report(tiny_runs["directions"], str(tmp_path / "report.png"))
  assert shown["outside"] == [], shown["outside"]
  assert shown["image_widths"] and all(w > 0 for w in shown["image_widths"])
  explained = workdir_lib.read_json(os.path.join(tiny_runs["directions"], "explain.json"))
  assert "Named directions" in shown["headings"]
  for label, names in explained["names"].items():
    assert label in shown["headings"], label
  page = open(os.path.join(tiny_runs["directions"], "report.html"), encoding="utf-8").read()
  learned = explained["names"]["learned_orthonormal"]
  for index, name in enumerate(learned):
    assert re.search(rf"<td>{index}</td><td><strong>{re.escape(name)}</strong></td>", page), (index, name)
  # The directions with a figure of their own have it as their strip; the overview is above the table.
  strips = [f for f in explained["figures"] if "_direction" in f]
  assert strips and all(f'alt="learned_orthonormal direction {int(f[-6:-4])}: ' in page for f in strips)
  assert "learned_orthonormal_traversals.png" in page
  assert "RCA" in shown["text"] and "coordinate" in shown["text"] and "chance" in shown["text"]
