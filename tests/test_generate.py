"""End-to-end tests through the command lines: tiny ScrabbleGAN training, resume, evaluation, generation,
SeFa directions, and the latent explorer's page in a real browser."""
import base64
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from ganxai_jax import kinds
from ganxai_jax.evaluation import scrabble_eval
from ganxai_jax.generators import words as word_generators
from ganxai_jax.serve import server
from tests import browser
from tests.conftest import run_cli, tiny_words_run_flags


def test_check_text_rejects_unknown_characters_and_empty_text():
  assert word_generators.check_text("  Shalom   world ") == ["Shalom", "world"]
  with pytest.raises(ValueError, match="'é'"):
    word_generators.check_text("café au lait")
  with pytest.raises(ValueError, match="empty"):
    word_generators.check_text("   ")


def test_eval_examples_spread_over_the_words_asked():
  asked = [f"{'a' * n}" for n in range(1, 21)]  # Sorted by length, as the evaluation writes them.
  read = [word.upper() for word in asked]
  examples = scrabble_eval.spread_examples(asked, read, count=8)
  assert len(examples) == 8 and examples[0] == {"asked": "a", "read": "A"}
  assert examples[-1] == {"asked": "a" * 20, "read": "A" * 20}
  assert len({e["asked"] for e in examples}) == 8
  assert scrabble_eval.spread_examples(asked[:3], read[:3], count=8) == [
      {"asked": a, "read": r} for a, r in zip(asked[:3], read[:3])]


def test_generate_cli_rejects_unknown_characters_in_one_line(tmp_path):
  proc = run_cli("experiments.generate", f"--workdir={tmp_path}", "--text=Shalom עולם",
                 f"--output={tmp_path / 'out.png'}", check=False)
  assert proc.returncode == 2
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error:") and "U+05E2" in lines[0]
  assert not (tmp_path / "out.png").exists()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
  """A tiny recognizer, then a tiny ScrabbleGAN run with self-attention (4 steps) evaluated with it,
  through the CLIs."""
  root = tmp_path_factory.mktemp("scrabble")
  workdir = root / "run"
  common = [*tiny_words_run_flags(root, "attention"), "--config.curve_every_steps=2"]
  first = run_cli("experiments.train", *common)
  return {"workdir": workdir, "common": common, "first": first}


def test_tiny_training_through_the_cli_writes_metrics_figures_checkpoints_and_eval(trained_run):
  workdir = trained_run["workdir"]
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in records if "d_loss" in r] == [2, 4]
  assert all(r["r_ctc_loss"] > 0 for r in records if "r_ctc_loss" in r)
  scores = json.loads((workdir / "eval.json").read_text())
  assert scores["step"] == 4
  for key in ("cer", "wer", "fid", "fid_real_vs_real", "style_diversity_features", "style_diversity_pixels"):
    assert scores[key] >= 0, key
  assert scores["num_words"] > 0
  # Whole generated words: the text G was asked to write and what the evaluation recognizer read.
  examples = scores["examples"]
  assert len(examples) == min(scrabble_eval.NUM_EXAMPLES, scores["num_words"])
  for example in examples:
    assert set(example) == {"asked", "read"} and isinstance(example["read"], str), example
    word_generators.check_text(example["asked"])  # A word in the alphabet G writes.
  assert os.path.exists(workdir / "figures" / "samples.png")
  assert (workdir / "checkpoints" / "4").is_dir()
  # The legibility curve: fixed test words read every 2 steps, with the minutes trained so far.
  curve = [r for r in records if "curve/cer" in r]
  assert [r["step"] for r in curve] == [2, 4]
  assert all(0 <= r["curve/cer"] and 0 <= r["curve/wer"] <= 1 for r in curve)
  assert 0 < curve[0]["curve/minutes"] < curve[1]["curve/minutes"]


def test_generate_writes_the_text_in_the_styles_asked_for(trained_run, tmp_path):
  out = tmp_path / "words.png"
  run_cli("experiments.generate", f"--workdir={trained_run['workdir']}", "--text=Shalom world",
          "--num_styles=3", f"--output={out}", "--seed=1")
  assert out.stat().st_size > 0
  generator = kinds.load_generator(str(trained_run["workdir"]))
  assert generator.step >= 4
  z = word_generators.style_latents(1, 3, generator.latent_dim)
  rows = word_generators.render_words(generator, ["Shalom", "world"], z)
  assert len(rows) == 3 and [im.shape for im in rows[0]] == [(32, 96, 1), (32, 80, 1)]
  # Same seed, same styles; different rows, different styles.
  again = word_generators.render_words(generator, ["Shalom"], z)
  assert (again[0][0] == rows[0][0]).all() and not (rows[0][0] == rows[1][0]).all()


def test_training_again_resumes_at_the_saved_step(trained_run):
  proc = run_cli("experiments.train", *trained_run["common"], "--config.num_train_steps=6")
  assert "Resumed from step 4" in proc.stderr
  records = [json.loads(line) for line in (trained_run["workdir"] / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in records if "d_loss" in r] == [2, 4, 6]
  assert json.loads((trained_run["workdir"] / "eval.json").read_text())["step"] == 6
  # The CER curve tabulated: the resumed process restarted the minutes at step 6.
  out = trained_run["workdir"].parent / "curve.json"
  proc = run_cli("benchmarks.cer_curve", f"--workdir={trained_run['workdir']}", f"--output={out}")
  curve = json.loads(out.read_text())
  assert [p["step"] for p in curve["points"]] == [2, 4, 6] and curve["resumed_at_steps"] == [6]
  assert set(curve["first_at_or_below"]) == {"0.25", "0.1"} and "CER <= 0.25" in proc.stdout


def test_generate_rejects_a_missing_output_folder_and_too_long_words(trained_run, tmp_path):
  workdir = trained_run["workdir"]
  proc = run_cli("experiments.generate", f"--workdir={workdir}", "--text=Shalom",
                 f"--output={tmp_path / 'missing' / 'out.png'}", check=False)
  assert proc.returncode == 2 and "does not exist" in proc.stderr
  assert len(proc.stderr.strip().splitlines()) == 1
  with open(os.path.join(workdir, "config.json")) as fh:
    max_length = json.load(fh)["lexicon_max_length"]
  proc = run_cli("experiments.generate", f"--workdir={workdir}", f"--text=Shalom {'a' * (max_length + 1)}",
                 f"--output={tmp_path / 'out.png'}", check=False)
  assert proc.returncode == 2 and f"at most {max_length}" in proc.stderr
  assert not (tmp_path / "out.png").exists()


def test_capitalised_words_are_scored_apart():
  rates = scrabble_eval.capitalised_rates(["The", "word", "Shalom", "a"], ["Tho", "word", "Shalom", "b"])
  assert rates == {"cer_capitalised": pytest.approx(1 / 9), "wer_capitalised": 0.5, "num_capitalised_words": 2}
  assert scrabble_eval.capitalised_rates(["word"], ["word"]) == {
      "cer_capitalised": None, "wer_capitalised": None, "num_capitalised_words": 0}


def test_cer_curve_finds_the_first_point_below_each_level(tmp_path):
  metrics = tmp_path / "metrics.jsonl"
  records = [{"step": 2, "d_loss": 1.0}, {"step": 500, "curve/cer": 0.6, "curve/wer": 1.0, "curve/minutes": 3.0},
             {"step": 1000, "curve/cer": 0.2, "curve/wer": 0.7, "curve/minutes": 6.5},
             {"step": 1500, "curve/cer": 0.08, "curve/wer": 0.4, "curve/minutes": 1.0}]
  metrics.write_text("".join(json.dumps(r) + "\n" for r in records))
  points = scrabble_eval.read_curve(str(metrics))
  assert [p["step"] for p in points] == [500, 1000, 1500] and points[0]["cer"] == 0.6
  summary = scrabble_eval.summarize_curve(points, [0.25, 0.1, 0.01])
  assert summary["first_at_or_below"] == {"0.25": {"step": 1000, "minutes": 6.5},
                                          "0.1": {"step": 1500, "minutes": 1.0}, "0.01": None}
  assert summary["resumed_at_steps"] == [1500]
  # A resumed process is told by its start time, also when its minutes happen to exceed the last ones.
  stamped = [{"step": 2, "cer": 0.9, "minutes": 0.2, "started_at": 100.0},
             {"step": 4, "cer": 0.8, "minutes": 0.3, "started_at": 100.0},
             {"step": 6, "cer": 0.7, "minutes": 0.5, "started_at": 170.0}]
  assert scrabble_eval.summarize_curve(stamped, [0.25])["resumed_at_steps"] == [6]


@pytest.fixture(scope="module")
def sefa_run(trained_run, tmp_path_factory):
  """SeFa directions of the tiny run, through the explain CLI."""
  out = tmp_path_factory.mktemp("sefa")
  run_cli("experiments.explain", "--config=configs/explain.py:sefa,tiny",
          f"--config.generator_workdir={trained_run['workdir']}", f"--workdir={out}",
          "--config.sefa.factor_reader_words=0")
  return out


def test_sefa_directions_are_checked_to_keep_the_words_they_write(sefa_run):
  """The directions report of a run with an evaluation recognizer reads the asked words back after every
  named direction's move (explain/content.py): the unshifted CER once, the moved CER per direction."""
  out = sefa_run
  report = json.loads((out / "explain.json").read_text())
  assert report["content_judge"].startswith("CER of the asked words, read by the evaluation recognizer")
  survival = report["direction_sets"]["sefa"]["content"]
  assert len(survival["shifted_error"]) == len(report["names"]["sefa"]) == 4
  assert survival["unshifted_error"] >= 0 and all(e >= 0 for e in survival["shifted_error"])
  np.testing.assert_allclose(survival["error_increase"],
                             np.array(survival["shifted_error"]) - survival["unshifted_error"], atol=1e-12)
  assert report["content_table"]["sefa"]["mean_shifted_error"] == pytest.approx(np.mean(survival["shifted_error"]))


# ---- The latent explorer's page in Chromium, on the tiny run with attention and its SeFa directions --------

def _pixels(data_url: str) -> np.ndarray:
  return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))))


def test_the_explorer_page_moves_renders_downloads_and_reports_bad_text(trained_run, sefa_run, tmp_path):
  workdir, sefa = trained_run["workdir"], sefa_run
  explorer = server.build_explorer(str(workdir), [str(sefa)])
  assert [s.label for s in explorer.sets.values()] == ["sefa"]
  server.warm_up(explorer)
  httpd = server.start_server(explorer, 0)
  url = f"http://127.0.0.1:{httpd.server_port}/"
  try:
    with browser.open_page() as (page, requested):
      page.goto(url)
      page.wait_for_selector("body[data-renders='1']")
      before = _pixels(page.get_attribute("#image", "src"))
      assert before.shape == (32, 16 * len("Shalom"))
      page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)

      slider = page.locator("#slider-sefa-0")
      slider.focus()
      page.keyboard.press("End")  # The slider to its maximum: one input event.
      page.wait_for_selector("body[data-renders='2']")
      after = _pixels(page.get_attribute("#image", "src"))
      assert np.abs(after.astype(int) - before.astype(int)).max() > 0, "the slider did not change the image"

      with page.expect_download() as download:
        page.click("#download-latent")
      latent_file = tmp_path / "latent.json"
      download.value.save_as(latent_file)
      with page.expect_download() as download:
        page.click("#download-image")
      image_file = tmp_path / "image.png"
      download.value.save_as(image_file)
      record = json.loads(latent_file.read_text())
      assert record["text"] == "Shalom" and record["shifts"][0]["set"] == "sefa" and record["shifts"][0]["t"] > 0

      page.click("#image", position={"x": 4 * 2 + 2, "y": 4 * 10 + 2})  # A pixel: its attention map is overlaid.
      page.wait_for_selector("body[data-attention='shown']")
      assert "attention of the query at pixel (10, 2)" in page.inner_text("#message")

      page.fill("#text", "Shalom עולם")
      page.wait_for_selector("#message.error")
      assert "U+05E2" in page.inner_text("#message")
      page.screenshot(path=str(tmp_path / "explorer_error.png"), full_page=True)
      page.fill("#text", "world")  # The server went on after the bad request.
      page.wait_for_selector("body[data-renders='3']")
      assert _pixels(page.get_attribute("#image", "src")).shape == (32, 16 * len("world"))
      assert browser.outside_requests(requested, (url,)) == [], "the page reached outside its server"
  finally:
    httpd.shutdown()

  output = tmp_path / "regenerated.png"
  run_cli("experiments.generate", f"--workdir={workdir}", f"--latent={latent_file}", f"--output={output}")
  np.testing.assert_array_equal(np.asarray(Image.open(output)), np.asarray(Image.open(image_file)))
  np.testing.assert_array_equal(np.asarray(Image.open(image_file)), after)


def test_generate_and_serve_refuse_bad_latent_files_and_folders_in_one_line(trained_run, tmp_path):
  workdir = trained_run["workdir"]
  bad = tmp_path / "bad.json"
  bad.write_text('{"z": [1, 2]}')
  proc = run_cli("experiments.generate", f"--workdir={workdir}", f"--latent={bad}",
                 f"--output={tmp_path / 'x.png'}", check=False)
  assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: latent=")
  proc = run_cli("experiments.serve", f"--workdir={workdir}", f"--explain={tmp_path}", check=False)
  assert proc.returncode == 2 and "holds directions.npz" in proc.stderr.strip().splitlines()[-1]
  assert not (tmp_path / "x.png").exists()
