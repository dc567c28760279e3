"""The explain CLI end to end on a tiny MNIST GAN: directions (with baselines), SeFa and GANSpace."""
import json
import os

from tests.conftest import run_cli


def test_directions_sefa_ganspace_on_a_tiny_gan(tmp_path, mnist_data_dir):
  gan = str(tmp_path / "gan")
  run_cli("experiments.train", "--config=configs/mnist.py:gan,tiny", f"--workdir={gan}",
          f"--config.data_dir={mnist_data_dir}")

  out = str(tmp_path / "directions")
  run_cli("experiments.explain", "--config=configs/explain.py:directions,tiny",
          f"--config.generator_workdir={gan}", f"--workdir={out}")
  with open(os.path.join(out, "explain.json"), encoding="utf-8") as fh:
    report = json.load(fh)
  assert report["method"] == "directions" and report["steps"] == 3
  assert set(report["rca"]) == {"learned_orthonormal", "random", "coordinate"}
  assert all(0.0 <= r["rca"] <= 1.0 for r in report["rca"].values())
  assert report["chance_rca"] == 0.25 and report["orthonormality_error"] < 1e-4
  assert len(report["names"]["learned_orthonormal"]) == 4
  assert {"ganspace", "sefa", "random", "coordinate"} <= set(report["names"])  # Scored beside the learned set.
  radii = {label: d["naming_radius"] for label, d in report["direction_sets"].items()}
  assert len(set(radii.values())) == 1, radii  # Every method moved by the same latent distance.
  assert "ground_truth_table" not in report  # MNIST has no known style factors ...
  # ... so MIG, SAP and DCI read the measured attributes, for every set that was scored.
  assert report["disentanglement_factors"].startswith("measured attributes")
  table = report["disentanglement_table"]
  assert {"mig", "sap", "dci_disentanglement", "dci_completeness"} <= set(table)
  assert set(table["mig"]) == set(report["names"]) == {
      "learned_orthonormal", "random", "coordinate", "ganspace", "sefa"}
  for metric in ("mig", "sap", "dci_disentanglement", "dci_completeness"):
    assert all(0.0 <= score <= 1.0 for score in table[metric].values()), table
  for name in report["figures"]:
    assert os.path.getsize(os.path.join(out, "figures", name)) > 0
  assert os.listdir(os.path.join(out, "checkpoints"))

  # Rerun with more steps: it resumes from OUT/checkpoints.
  proc = run_cli("experiments.explain", "--config=configs/explain.py:directions,tiny",
                 f"--config.generator_workdir={gan}", f"--workdir={out}", "--config.directions.num_steps=4")
  assert "Resumed from step 3" in proc.stderr
  with open(os.path.join(out, "explain.json"), encoding="utf-8") as fh:
    assert json.load(fh)["steps"] == 4

  for method in ("sefa", "ganspace"):
    out = str(tmp_path / method)
    run_cli("experiments.explain", f"--config=configs/explain.py:{method},tiny",
            f"--config.generator_workdir={gan}", f"--workdir={out}")
    with open(os.path.join(out, "explain.json"), encoding="utf-8") as fh:
      report = json.load(fh)
    assert report["method"] == method and list(report["names"]) == [method]
    assert len(report["names"][method]) == 4
    assert f"{method}_traversals.png" in report["figures"]
    assert os.path.exists(os.path.join(out, "figures", f"{method}_direction00.png"))
