"""`run(config, workdir)` for the latent-direction methods `directions`, `ganspace` and `sefa`.

Reading order: the generator comes through the one interface (`generators.interface`); the
method gives a set of directions with edit scales (`_learned`, `_ganspace`, `_sefa`); every set is
measured along traversals, named (`naming.direction_effects`), scored by MIG, SAP and DCI and, on the
synthetic handwriting, against the true style factors (`naming.ground_truth_scores`); figures of the
traversals go to `workdir/figures/`. The metrics' factors are the true style factors where they are
known (synthetic handwriting, read by the learned reader) and the measured attributes elsewhere (MNIST:
slant, width, height, thickness, intensity), as `disentanglement_factors` in explain.json says. `directions` also reports the reconstructor classification accuracy (RCA) of
the learned directions beside the random and coordinate baselines, and puts GANSpace and SeFa into
its ground-truth table, so one run compares all three methods.
"""
from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from ganxai_jax.data import pipeline
from ganxai_jax.explain import closed_form
from ganxai_jax.explain import content
from ganxai_jax.explain import direction_files
from ganxai_jax.explain import directions as directions_lib
from ganxai_jax.explain import factor_reader
from ganxai_jax.explain import naming
from ganxai_jax.generators.interface import Condition, TrainedGenerator
from ganxai_jax.generators.words import alphabet_of, encode_words, writable_words
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.viz import grids


@dataclasses.dataclass(frozen=True)
class DirectionSet:
  """Directions `[latent_dim, K]` (unit columns), the latent length of one edit unit per direction,
  and the traversal ranges (in edit units) for figures and for naming."""
  label: str
  directions: np.ndarray
  scales: np.ndarray
  traversal_radius: float
  naming_radius: float


# ---- Conditions and seeds --------------------------------------------------------------------------

def figure_word(generator: TrainedGenerator, section: ml_collections.ConfigDict) -> str:
  """The word of the figures: `section.word`, or, when the generator's (custom) alphabet cannot write
  it, a word of its lexicon."""
  return writable_words(generator, [section.word], count=1)[0]


def figure_condition(generator: TrainedGenerator, section: ml_collections.ConfigDict, rng: jax.Array,
                     n: int) -> Condition:
  """Conditions for figure rows: the configured word for ScrabbleGAN, otherwise random ones."""
  if generator.kind == "words":
    return {"chars": jnp.asarray(np.repeat(encode_words([figure_word(generator, section)], alphabet_of(generator)),
                                           n, axis=0))}
  return generator.sample_condition(rng, n)


def _seeds(generator: TrainedGenerator, rng: jax.Array, n: int) -> tuple[np.ndarray, Condition]:
  z_key, c_key = jax.random.split(rng)
  return np.asarray(generator.sample_latent(z_key, n)), generator.sample_condition(c_key, n)


# ---- Figures ---------------------------------------------------------------------------------------

def _label(names: list[str], k: int) -> str:
  return f"d{k}: {names[k]}" if k < len(names) else f"d{k}"


def overview_figure(generator: TrainedGenerator, direction_set: DirectionSet, names: list[str],
                    section: ml_collections.ConfigDict, rng: jax.Array, title: str):
  """Rows: directions; columns: G(z + t·d) for t across [-r, r]; one seed."""
  count = min(section.num_figure_directions, direction_set.directions.shape[1])
  shifts = np.linspace(-direction_set.traversal_radius, direction_set.traversal_radius,
                       section.num_traversal_steps)
  latent, _ = _seeds(generator, rng, 1)
  condition = figure_condition(generator, section, jax.random.fold_in(rng, 1), 1)
  rows = [naming.traversal_images(generator, direction_set.directions[:, k], float(direction_set.scales[k]),
                                  latent, condition, shifts)[0] for k in range(count)]
  return grids.image_grid(np.concatenate(rows), count, len(shifts), title=title,
                          row_labels=[_label(names, k) for k in range(count)],
                          col_labels=[f"{t:+.1f}" for t in shifts])


def seed_figure(generator: TrainedGenerator, direction_set: DirectionSet, k: int, names: list[str],
                section: ml_collections.ConfigDict, rng: jax.Array):
  """One direction: rows seeds, columns shifts; for a CGAN, rows (seed, shift) and columns the digits."""
  r = direction_set.traversal_radius
  direction, scale = direction_set.directions[:, k], float(direction_set.scales[k])
  num_seeds = section.num_figure_seeds
  latents, _ = _seeds(generator, rng, num_seeds)
  title = f"{direction_set.label} {_label(names, k)}"
  if generator.num_classes:
    # Each seed at -r, 0, +r for every digit: does the direction do the same thing to every class?
    shifts = np.array([-r, 0.0, r])
    classes = generator.num_classes
    images = []
    for label in range(classes):
      condition = {"labels": jnp.full((num_seeds,), label, jnp.int32)}
      images.append(naming.traversal_images(generator, direction, scale, latents, condition, shifts))
    grid = np.stack(images, axis=2)  # [S, T, classes, H, W, 1]
    grid = grid.reshape(num_seeds * len(shifts) * classes, *grid.shape[3:])
    return grids.image_grid(grid, num_seeds * len(shifts), classes,
                            title=f"{title}: rows seed × t, columns digits",
                            row_labels=[f"z{s} t={t:+.0f}" for s in range(num_seeds) for t in shifts],
                            col_labels=[str(c) for c in range(classes)])
  shifts = np.linspace(-r, r, section.num_traversal_steps)
  condition = figure_condition(generator, section, jax.random.fold_in(rng, 1), num_seeds)
  images = naming.traversal_images(generator, direction, scale, latents, condition, shifts)
  what = f" writing {figure_word(generator, section)!r}" if generator.kind == "words" else ""
  return grids.image_grid(images.reshape(-1, *images.shape[2:]), num_seeds, len(shifts),
                          title=f"{title}{what}: rows seeds, columns t",
                          row_labels=[f"z{s}" for s in range(num_seeds)],
                          col_labels=[f"{t:+.1f}" for t in shifts])


def write_figures(generator: TrainedGenerator, direction_set: DirectionSet, names: list[str],
                  section: ml_collections.ConfigDict, rng: jax.Array, folder: str) -> list[str]:
  """The overview and the per-seed figures of a direction set; returns their file names."""
  os.makedirs(folder, exist_ok=True)
  written = []
  title = (f"{direction_set.label} on {generator.name} (step {generator.step}): "
           f"rows G(z + t·d), t in [-{direction_set.traversal_radius:g}, {direction_set.traversal_radius:g}]")
  figure = overview_figure(generator, direction_set, names, section, rng, title)
  written.append(f"{direction_set.label}_traversals.png")
  workdir_lib.save_figure(figure, os.path.join(folder, written[-1]))
  for k in range(min(section.num_seed_figures, direction_set.directions.shape[1])):
    figure = seed_figure(generator, direction_set, k, names, section, jax.random.fold_in(rng, 10 + k))
    written.append(f"{direction_set.label}_direction{k:02d}.png")
    workdir_lib.save_figure(figure, os.path.join(folder, written[-1]))
  return written


# ---- Measurement: names and ground truth -----------------------------------------------------------

def measure_set(generator: TrainedGenerator, direction_set: DirectionSet,
                section: ml_collections.ConfigDict, rng: jax.Array) -> tuple[dict[str, np.ndarray], np.ndarray]:
  """Attributes `[K, S, T]` along the traversals of the first `num_named_directions` directions."""
  count = min(section.num_named_directions, direction_set.directions.shape[1])
  latents, condition = _seeds(generator, rng, section.naming_seeds)
  shifts = np.linspace(-direction_set.naming_radius, direction_set.naming_radius, section.naming_steps)
  measured = naming.measure_traversals(generator, direction_set.directions[:, :count],
                                       direction_set.scales[:count], latents, condition, shifts)
  return measured, shifts


def describe_set(generator: TrainedGenerator, direction_set: DirectionSet,
                 section: ml_collections.ConfigDict, spread: dict[str, float],
                 calibration: naming.Calibration | None, rng: jax.Array,
                 reader: factor_reader.Reader | None = None,
                 judge: content.Judge | None = None) -> dict[str, Any]:
  """Names (with per-attribute slopes, effects, consistency), MIG/SAP/DCI and, with a calibration, the
  ground-truth scores of one direction set, the true factors read by the learned `reader` when given,
  else by the calibrated hand measurements (without a calibration the metrics' factors are the measured
  attributes themselves); with a content `judge`, how
  much of the content each named direction's move destroys (`content.content_survival`)."""
  measured, shifts = measure_set(generator, direction_set, section, rng)
  effects = naming.direction_effects(measured, shifts, spread, section.min_effect, section.min_consistency)
  result: dict[str, Any] = {
      "names": [e.name for e in effects],
      "effects": [e.as_dict() for e in effects],
      "naming_radius": direction_set.naming_radius,
  }
  samples = section.get("content_samples", 0)
  if judge is not None and samples:
    count = min(section.num_named_directions, direction_set.directions.shape[1])
    latents, condition = _seeds(generator, jax.random.fold_in(rng, 0x636f), samples)  # 'co'
    result["content"] = content.content_survival(
        generator, direction_set.directions[:, :count], direction_set.scales[:count], latents, condition,
        direction_set.naming_radius, judge)
  count = min(section.num_named_directions, direction_set.directions.shape[1])
  directions, scales = direction_set.directions[:, :count], direction_set.scales[:count]
  # Without true factors (MNIST, real words) the measured attributes are the factors of the metrics.
  read = naming.attribute_reader(generator.ink_polarity)
  if calibration is not None:
    if reader is None:
      result["ground_truth"] = naming.ground_truth_scores(measured, shifts, calibration)
      read = functools.partial(calibration.read, ink_polarity=generator.ink_polarity)
    else:  # The same seeds and shifts as the names, read by the learned reader.
      latents, condition = _seeds(generator, rng, section.naming_seeds)
      predicted = naming.traversal_factors(generator, directions, scales, latents, condition, shifts,
                                           reader.predict)
      result["ground_truth"] = naming.ground_truth_from_factors(predicted, shifts, reader.factor_names,
                                                                reader.r2, "reader_r2")
      read = reader.predict
  if count >= 2 and section.disentanglement_samples:  # MIG compares a factor's two best directions.
    latents, condition = _seeds(generator, jax.random.fold_in(rng, 0x6463), section.disentanglement_samples)
    result["disentanglement"] = naming.disentanglement_scores(
        generator, directions, scales, latents, condition, direction_set.naming_radius, read)
  return result


def ground_truth_applies(generator: TrainedGenerator) -> bool:
  """True for a word generator trained on the synthetic handwriting (its true factors are known)."""
  return generator.kind == "words" and generator.dataset == "synthetic_handwriting"


def make_calibration(generator: TrainedGenerator, section: ml_collections.ConfigDict, seed: int
                     ) -> naming.Calibration:
  images, factors, names = naming.render_calibration_set(section.calibration_images, generator.word_length,
                                                         seed)
  return naming.calibrate(images, factors, names, generator.ink_polarity)


def disentanglement_table(described: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
  """metric -> {set label: score}: MIG, SAP and DCI of every direction set that was scored."""
  table: dict[str, dict[str, float]] = {}
  for label, result in described.items():
    for metric, score in result.get("disentanglement", {}).items():
      table.setdefault(metric, {})[label] = score
  return table


def ground_truth_table(described: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
  """factor -> {set label: best |correlation|}, over every direction set that was scored."""
  table: dict[str, dict[str, float]] = {}
  for label, result in described.items():
    for factor, score in result.get("ground_truth", {}).items():
      table.setdefault(factor, {})[label] = score["best_abs_correlation"]
  return table


# ---- The methods -----------------------------------------------------------------------------------

def _num_directions(section: ml_collections.ConfigDict, generator: TrainedGenerator) -> int:
  return section.num_directions or min(generator.latent_dim, 64)


def _learned(config: ml_collections.ConfigDict, generator: TrainedGenerator, workdir: str
             ) -> tuple[list[DirectionSet], dict[str, Any]]:
  section = config.directions
  setup = directions_lib.make_setup(
      generator, section.kind, tuple(section.baselines), _num_directions(section, generator),
      learning_rate=section.learning_rate, batch_size=section.batch_size, shift_scale=section.shift_scale,
      min_shift=section.min_shift, shift_weight=section.shift_weight,
      reconstructor_channels=tuple(section.reconstructor_channels) or None)
  state = directions_lib.train_directions(
      setup, workdir, section.num_steps, seed=config.seed, log_every_steps=section.log_every_steps,
      checkpoint_every_steps=section.checkpoint_every_steps, max_minutes=section.max_minutes,
      steps_per_call=section.steps_per_call)
  eval_key = jax.random.fold_in(jax.random.key(config.seed), 0x524341)  # 'RCA'
  rca = {}
  for name, kind in setup.variants:
    rca[name] = directions_lib.reconstructor_accuracy(setup, state.variants[name], kind, eval_key,
                                                      section.eval_samples)
    logging.info("RCA %s: %.4f (shift MAE %.3f)", name, rca[name]["rca"], rca[name]["shift_mae"])
  learned_name = setup.variants[0][0]
  matrix = directions_lib.learned_matrix(setup, state, learned_name)
  direction_sets = [DirectionSet(learned_name, matrix, np.ones(matrix.shape[1]), section.traversal_radius,
                                 section.naming_radius)]
  for baseline in ("random", "coordinate"):
    # Scored, not drawn: random directions give the tables' chance level, the latent axes say how
    # far z itself is disentangled.
    if baseline in dict(setup.variants):
      fixed = directions_lib.learned_matrix(setup, state, baseline)
      direction_sets.append(DirectionSet(baseline, fixed, np.ones(fixed.shape[1]), section.traversal_radius,
                                         section.naming_radius))
  numbers = {"rca": rca, "chance_rca": 1.0 / setup.num_directions, "steps": int(jax.device_get(state.step)),
             "num_directions": setup.num_directions, "direction_kind": section.kind,
             "orthonormality_error": float(np.max(np.abs(matrix.T @ matrix - np.eye(matrix.shape[1]))))}
  return direction_sets, numbers


def _ganspace(config: ml_collections.ConfigDict, generator: TrainedGenerator) -> DirectionSet:
  section = config.ganspace
  found = closed_form.ganspace_directions(generator, jax.random.fold_in(jax.random.key(config.seed), 0x6773),
                                          section.num_samples, section.num_directions)
  return DirectionSet("ganspace", found.directions, found.scales, section.traversal_radius,
                      section.naming_radius)


def _sefa(config: ml_collections.ConfigDict, generator: TrainedGenerator) -> DirectionSet:
  section = config.sefa
  found = closed_form.sefa_directions(generator.first_layer_weight(), section.num_directions)
  return DirectionSet("sefa", found.directions, found.scales, section.traversal_radius, section.naming_radius)


def _same_distance(direction_set: DirectionSet, section: ml_collections.ConfigDict) -> DirectionSet:
  """The same directions with unit latent steps and `section`'s radii: |Δz| up to its naming radius."""
  return dataclasses.replace(direction_set, scales=np.ones_like(direction_set.scales),
                             traversal_radius=section.traversal_radius, naming_radius=section.naming_radius)


def run(config: ml_collections.ConfigDict, workdir: str, generator: TrainedGenerator) -> dict[str, Any]:
  """Runs `config.method` (directions, ganspace or sefa) on `generator` (that of
  `config.generator_workdir`); writes figures to `workdir/figures/` and returns the numbers for
  `workdir/explain.json`."""
  method = config.method
  section = config[method]
  generator = generator.with_word_length(len(section.word))
  os.makedirs(workdir, exist_ok=True)
  results: dict[str, Any] = {"generator": generator.name, "generator_step": generator.step,
                             "latent_dim": generator.latent_dim}
  if method == "directions":
    direction_sets, numbers = _learned(config, generator, workdir)
    results.update(numbers)
    # The closed-form methods are cheap: score them here too, for the ground-truth comparison, every
    # direction moved by the same latent distance as the learned ones (GANSpace's own unit, one standard
    # deviation of its component, is a much shorter step in z than the learned shifts).
    compared = ([_same_distance(_ganspace(config, generator), section),
                 _same_distance(_sefa(config, generator), section)] if section.compare_closed_form else [])
  elif method == "ganspace":
    direction_sets, compared = [_ganspace(config, generator)], []
  elif method == "sefa":
    direction_sets, compared = [_sefa(config, generator)], []
  else:
    raise ValueError(f"directions_report does not run method {method!r}.")

  rng = jax.random.fold_in(jax.random.key(config.seed), 0x6e616d65)  # 'name'
  spread = naming.population_spread(generator, jax.random.fold_in(rng, 0), section.spread_samples)
  calibration = (make_calibration(generator, section, config.seed)
                 if ground_truth_applies(generator) else None)
  reader = None
  if calibration is not None and section.factor_reader_words > 0:
    run_config = workdir_lib.load_run_config(config.generator_workdir)
    cache = os.path.join(os.path.expanduser(run_config.get("data_dir") or "") or pipeline.default_data_dir(),
                         "ganxai_factor_readers")
    reader, results["reader_from_cache"] = factor_reader.load_or_train_reader(
        cache, generator.word_length, section.factor_reader_words, section.factor_reader_test_words,
        section.factor_reader_steps, seed=config.seed)
    results["reader_r2"] = reader.r2_dict()
    results["reader_train_r2"] = dict(zip(reader.factor_names, map(float, reader.train_r2)))
    logging.info("factor reader R² on held-out writers: %s",
                 ", ".join(f"{k} {v:.2f}" for k, v in reader.r2_dict().items()))
  judge, judged = content.content_judge(config.generator_workdir, generator)
  results["content_judge"] = judged
  described = {}
  # Every set is measured on the same seeds (latents and words), so the table compares like with like.
  for direction_set in direction_sets + compared:
    set_section = config[direction_set.label] if direction_set.label in ("ganspace", "sefa") else section
    described[direction_set.label] = describe_set(generator, direction_set, set_section, spread, calibration,
                                                  jax.random.fold_in(rng, 1), reader, judge)
    logging.info("%s names: %s", direction_set.label, described[direction_set.label]["names"])

  folder = os.path.join(workdir, "figures")
  figures = []
  for direction_set in direction_sets:
    if direction_set.label in ("random", "coordinate"):
      continue
    figures += write_figures(generator, direction_set, described[direction_set.label]["names"], section,
                             jax.random.fold_in(rng, 99), folder)
  results["attribute_spread"] = spread
  results["direction_sets"] = described
  results["names"] = {label: d["names"] for label, d in described.items()}
  # How many different attributes each set's named directions cover (random: the chance level).
  results["attribute_coverage"] = {label: naming.coverage(d["names"]) for label, d in described.items()}
  for label, found in results["attribute_coverage"].items():
    logging.info("%s: %d named directions cover %d distinct attributes %s", label, found["named"],
                 found["distinct_attributes"], found["attribute_counts"])
  results["figures"] = figures
  direction_files.save(workdir, [
      direction_files.SavedDirections(s.label, s.directions, s.scales, s.traversal_radius,
                                      tuple(described[s.label]["names"]))
      for s in direction_sets + compared])
  if judge is not None:
    results["content_table"] = content.survival_table(described)
    for label, row in results["content_table"].items():
      logging.info("%s: content error %.3f unshifted, %.3f moved (+%.3f)", label, row["unshifted_error"],
                   row["mean_shifted_error"], row["mean_error_increase"])
  results["disentanglement_table"] = disentanglement_table(described)
  results["disentanglement_factors"] = (
      ("the learned factor reader's" if reader is not None else "the calibrated hand measurements'")
      + " true style factors" if calibration is not None
      else "measured attributes (" + ", ".join(naming.ATTRIBUTES) + "): no true factors are known")
  if calibration is not None:
    results["ground_truth_table"] = ground_truth_table(described)
    results["calibration_r2"] = dict(zip(calibration.factor_names, map(float, calibration.r2)))
  return results
