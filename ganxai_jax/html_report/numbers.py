"""A run's numbers as tables, each with a line saying what its numbers mean and its baseline beside it.

A result file (`eval.json` of a training run, `explain.json` of an explanation) is read in three passes:
1. the scalar scores this report knows for that kind of result (`SCORES`): one row each, its value, the
   baselines the file holds beside it (FID beside the real-vs-real FID, the CER of generated words
   beside the same recognizer on real words, RCA of the learned directions beside random, coordinate
   and chance) and what it means;
2. the nested results this report knows (`TABLES`): RCA per direction set, the content, ground-truth
   and disentanglement tables, attention per layer, the trained G's influence beside a fresh G, ...;
   each one table, its baseline rows greyed (`BASELINE_ROWS`), with a line that says what it holds;
3. everything else as it is: remaining scalars and texts in one table, mappings and lists as tables of
   their own. A key this report does not know is shown without a meaning, never dropped.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

from ganxai_jax.html_report import markup
from ganxai_jax.html_report.markup import Html

Results = Mapping[str, Any]
# A baseline: a dotted key of the results ('rca.random.rca', 'config.num_classes' for the run's config),
# a constant, or a function of (results, config); None where there is none.
Lookup = str | float | Callable[[Results, Results], Any]

# Rows of a nested table that are baselines, not the method itself (shown greyed).
BASELINE_ROWS = ("random", "coordinate", "fresh", "chance", "uniform")
MAX_COLUMNS = 6  # A table of a few rows with more columns than this is shown turned: one row per column.


@dataclasses.dataclass(frozen=True)
class Score:
  """One scalar of a result file: its dotted `key` ('{learned}' stands for the learned direction set's
  label), its label, what it means, and `(label, lookup)` baselines to show beside it."""
  key: str
  label: str
  meaning: str
  baselines: tuple[tuple[str, Lookup], ...] = ()


def _chance(config_key: str) -> Callable[[Results, Results], float | None]:
  def chance(results: Results, config: Results) -> float | None:
    del results
    count = config.get(config_key)
    return 1.0 / count if isinstance(count, (int, float)) and count > 0 else None
  return chance


MNIST = (
    Score("fid", "FID", "Fréchet distance between generated and real test digits in the evaluation "
          "classifier's features (lower is better); beside it training vs test digits, the floor for this "
          "many samples", (("real vs real", "fid_real_vs_real"),)),
    Score("label_accuracy", "label accuracy", "share of generated digits that the evaluation classifier "
          "reads as the digit asked for", (("classifier on real test digits", "classifier_test_accuracy"),
                                           ("chance", _chance("num_classes")))),
    Score("class_share_min", "rarest digit's share", "share of the least generated digit among unconditional "
          "samples, as the classifier reads them; near 0: a digit is missing (mode collapse)",
          (("uniform", 0.1),)),
    Score("class_share_max", "commonest digit's share", "share of the most generated digit among "
          "unconditional samples, as the classifier reads them", (("uniform", 0.1),)),
    Score("infogan_categorical_accuracy", "categorical accuracy", "how well Q's categorical code tells real "
          "test digits apart, after the best one-to-one matching of code values to digits",
          (("chance", _chance("num_categorical")),)),
    Score("infogan_generated_accuracy", "generated digits per code value", "share of digits generated with "
          "each code value that the classifier reads as that value's matched digit",
          (("chance", _chance("num_categorical")),)),
    Score("infogan_categorical_values_used", "code values used", "how many categorical values Q uses on "
          "real digits (fewer than the digits: classes merged)", (("values", "config.num_categorical"),)),
    Score("classifier_test_accuracy", "evaluation classifier accuracy", "the evaluation classifier on real "
          "test digits: how far its readings of generated digits can be trusted"),
    Score("fid_num_samples", "FID samples", "images on each side of the FID"),
)
WORDS = (
    Score("cer", "CER", "character error rate of generated words read by the evaluation recognizer, against "
          "the words asked for (lower is better)", (("real test words", "real_cer"),)),
    Score("wer", "WER", "share of generated words the evaluation recognizer does not read exactly",
          (("real test words", "real_wer"),)),
    Score("cer_capitalised", "CER, capitalised words", "the CER of the generated words that start with a "
          "capital", (("all words", "cer"),)),
    Score("wer_capitalised", "WER, capitalised words", "the WER of the generated words that start with a "
          "capital", (("all words", "wer"),)),
    Score("fid", "FID", "Fréchet distance between generated and real test words in the evaluation "
          "recognizer's features (lower is better); beside it training vs test words, the floor",
          (("real vs real", "fid_real_vs_real"),)),
    Score("style_diversity_features", "style diversity (features)", "mean distance between one word written "
          "in different styles (latents), in the recognizer's features; 0: every style writes alike"),
    Score("style_diversity_pixels", "style diversity (pixels)", "the same distance in pixels"),
    Score("num_words", "words scored", "generated test words read for the CER and WER"),
)
RECOGNIZER = (
    Score("cer", "CER", "character error rate of the recognizer on real test words (lower is better)"),
    Score("wer", "WER", "share of real test words the recognizer does not read exactly"),
    Score("num_words", "test words", "real test words read"),
)
DIRECTIONS = (
    Score("rca.{learned}.rca", "RCA", "reconstructor classification accuracy: how often the reconstructor "
          "tells which direction moved an image (higher: directions easier to tell apart); beside it fixed "
          "random and coordinate directions whose reconstructor trained in the same run, and chance 1/K",
          (("random", "rca.random.rca"), ("coordinate", "rca.coordinate.rca"), ("chance", "chance_rca"))),
    Score("attribute_coverage.{learned}.distinct_attributes", "distinct attributes", "how many different "
          "attributes the named directions change", (("random", "attribute_coverage.random.distinct_attributes"),)),
    Score("attribute_coverage.{learned}.named", "named directions", "directions that change one measured "
          "attribute consistently enough to be named", (("random", "attribute_coverage.random.named"),)),
    Score("content_table.{learned}.mean_error_increase", "content lost by a move", "how much more often the "
          "content (the digit or word asked for) is misread after a move along a named direction than "
          "unmoved (0: content kept)", (("random", "content_table.random.mean_error_increase"),)),
    Score("orthonormality_error", "orthonormality error", "largest entry of |DᵀD − I| of the learned "
          "direction matrix (about 0: orthonormal directions)"),
    Score("steps", "training steps", "steps the direction matrix and its reconstructor trained"),
)
INFLUENCE = (
    Score("trained.outside_share", "influence outside the slot", "share of a character's influence (squared "
          "gradients) that lands outside its own 16-px slot", (("fresh G", "fresh.outside_share"),
                                                              ("uniform", "uniform_outside_share"))),
    Score("trained.width_px", "influence width (px)", "narrowest run of columns holding mass_fraction of a "
          "character's influence", (("fresh G", "fresh.width_px"),)),
    Score("trained.reach_px", "reach beyond the slot (px)", "how far beyond its slot a character's influence "
          "is non-zero at all", (("fresh G", "fresh.reach_px"),)),
)


def attention_scores(results: Results) -> tuple[Score, ...]:
  """Per self-attention layer: the attention mass ink and background queries put on ink, each beside
  the uniform level (the ink share of the keys)."""
  scores = []
  for layer in results.get("layers") or {}:
    for kind in ("ink", "background"):
      scores.append(Score(f"layers.{layer}.{kind}_to_ink", f"{kind} → ink ({layer})",
                          f"mean share of a {kind} query's attention that lands on ink pixels",
                          (("uniform", f"layers.{layer}.uniform_baseline"),)))
  return tuple(scores)


# The known scores of each kind of result: a tuple, or a function of the results for those whose keys
# depend on the run (the attention layers' names).
SCORES: dict[str, tuple[Score, ...] | Callable[[Results], tuple[Score, ...]]] = {
    "mnist": MNIST, "words": WORDS, "recognizer": RECOGNIZER, "directions": DIRECTIONS,
    "influence": INFLUENCE, "attention": attention_scores}


@dataclasses.dataclass(frozen=True)
class Table:
  """Nested results shown as one table: the top-level `keys` it is read from (one key: its rows are the
  mapping's keys; several: one row per key), its title and what its numbers mean (`{key}` is filled
  from the results)."""
  keys: tuple[str, ...]
  title: str
  meaning: str


TABLES = (
    Table(("rca",), "Reconstructor classification accuracy per direction set",
          "rca: share of moves whose direction the reconstructor names (chance {chance_rca}); shift_mae: its "
          "error on the size of the move. random and coordinate are baselines: fixed directions, only "
          "their reconstructor trained."),
    Table(("content_table",), "Content kept along the named directions",
          "Share of images whose content is misread ({content_judge}): unshifted, after a move to either "
          "end of the naming traversal, and the increase; the random directions are the baseline."),
    Table(("ground_truth_table",), "Directions against the true style factors",
          "Per true factor of the synthetic handwriting: the best |correlation| of one direction's move "
          "with it; the random directions give the chance level."),
    Table(("disentanglement_table",), "Disentanglement",
          "MIG, SAP and DCI of each direction set against {disentanglement_factors} (higher: each factor "
          "is moved by one direction alone); the random directions give the chance level, coordinate the "
          "latent axes themselves."),
    Table(("attribute_coverage",), "Attributes the directions are named by",
          "Per direction set: directions named (one attribute changes consistently), unclear, how many "
          "different attributes they cover, and how many directions each attribute names; random "
          "directions are the baseline."),
    Table(("attribute_spread",), "Attribute spread",
          "Population standard deviation of each measured attribute over random samples: the unit of "
          "the direction effects."),
    Table(("layers",), "Attention per self-attention layer",
          "ink_to_ink and background_to_ink: mean attention mass that ink and background queries put on "
          "ink, beside uniform_baseline (the ink share of the keys: what a map that ignored content "
          "gives); *_entropy: normalised entropy of the maps (1 = uniform); *_spread: how much the maps of "
          "one kind of query differ (0: one map for every query); gamma: the layer's output weight."),
    Table(("trained", "fresh"), "Character influence, trained G beside a freshly initialised G",
          "How far each character reaches in the image (squared gradients of the pixels with respect to "
          "its filter-bank patch, averaged over characters and words); the fresh G is the baseline, "
          "what the architecture alone spreads; influence spread evenly would leave {uniform_outside_share} "
          "outside the slot."),
    Table(("class_shares",), "Digit shares", "Share of each digit (0-9) among unconditional samples, as "
          "the evaluation classifier reads them; a generator that covers every digit gives each about 0.1."),
    Table(("examples",), "Example words", "Words asked for (or real test words) and what the recognizer read."),
    Table(("per_seed",), "Scores of each seed", "One row per seed trained together (`config.num_seeds`)."),
    Table(("median", "mean"), "Median and mean over the seeds", "The middle and the mean of the seeds' scores."),
    Table(("reader_r2",), "Factor reader R² (held-out writers)",
          "How well the learned factor reader reads each true factor from generated words (1: exactly)."),
    Table(("reader_train_r2",), "Factor reader R² (training words)", "The same on the reader's training words."),
    Table(("calibration_r2",), "Calibration R²", "How well the hand measurements read each true factor."),
)

# What a scalar or a text of a result file is, for the table of the other values.
MEANINGS = {
    "step": "training step of the scores", "steps": "training steps", "generator": "the generator explained",
    "generator_step": "training step of the generator explained", "generator_workdir": "its training run",
    "latent_dim": "size of the generator's latent z", "method": "explanation method",
    "chance_rca": "RCA of guessing: 1 / number of directions", "num_directions": "directions learned",
    "direction_kind": "how the direction matrix is parametrised", "content_judge": "how content is judged",
    "protocol": "how the scores are measured", "dataset": "data set", "num_styles": "styles per word",
    "fid_real_vs_real": "FID of training vs test images: the floor", "real_cer": "CER on real test words",
    "real_wer": "WER on real test words", "fid_real_vs_real_num_words": "words of the real-vs-real FID",
    "reader_from_cache": "factor reader loaded from its cache", "measure": "what influence measures",
    "word_length": "characters per word", "slot_width_px": "width of one character's slot",
    "image_width_px": "width of a word image", "mass_fraction": "share of influence width_px holds",
    "uniform_outside_share": "outside share of influence spread evenly over the word",
    "num_score_images": "images the scores average over", "skipped": "why no scores were computed",
    "class_share_samples": "samples of the digit shares", "num_capitalised_words": "capitalised words scored",
    "seeds": "seeds trained together", "words": "the words measured", "style_words": "words of the style diversity",
    "split_rule": "how the test split is made", "eval_recognizer_workdir": "the recognizer that reads the words",
}


def result_kind(config: Results, results: Results, has_recognizer: bool) -> str:
  """Which scores and tables apply: 'recognizer' (a folder of experiments.train_recognizer), the method
  family of an explanation ('directions' for directions, ganspace and sefa; 'attention'; 'influence'),
  'words' (ScrabbleGAN) or 'mnist'; '' when the folder says nothing."""
  if has_recognizer:
    return "recognizer"
  method = results.get("method") or config.get("method")
  if method:
    return "directions" if method in ("directions", "ganspace", "sefa") else str(method)
  if config.get("model") == "scrabblegan" or "cer" in results:
    return "words"
  return "mnist" if config.get("model") or "fid" in results else ""


def learned_label(results: Results) -> str:
  """The label of the direction set the run learned or computed: the set of `rca` that is not a baseline
  (a directions run), else the method's own set (ganspace, sefa)."""
  for label in results.get("rca") or {}:
    if label not in BASELINE_ROWS:
      return label
  return str(results.get("method", ""))


def lookup(key: str, results: Results, config: Results) -> Any:
  """The value at dotted `key` of the results (of the config for 'config.…'); None where there is none."""
  node: Any = config if key.startswith("config.") else results
  for part in key.split(".")[1:] if key.startswith("config.") else key.split("."):
    if not isinstance(node, Mapping) or part not in node:
      return None
    node = node[part]
  return node


def _baseline(value: Lookup, results: Results, config: Results) -> Any:
  if callable(value):
    return value(results, config)
  return lookup(value, results, config) if isinstance(value, str) else value


def scores_of(results: Results) -> tuple[Results, str]:
  """The scores the key table reads, and a note: the medians of a run of several seeds, else the results."""
  if isinstance(results.get("median"), Mapping) and isinstance(results.get("per_seed"), list):
    return results["median"], f"medians over {len(results['per_seed'])} seeds (each seed's below)"
  return results, ""


def key_scores(kind: str, results: Results, config: Results) -> tuple[Html, set[str]]:
  """The table of the known scalar scores of `kind` that the results hold, and the flat keys it shows."""
  source, note = scores_of(results)
  names = {"learned": learned_label(results)}
  rows, shown = [], set()
  known = SCORES.get(kind, ())
  for score in known(source) if callable(known) else known:
    key = score.key.format(**names)
    value = lookup(key, source, config)
    if value is None or not markup.is_scalar(value):
      continue
    beside = []
    for label, where in score.baselines:
      baseline = _baseline(where.format(**names) if isinstance(where, str) else where, source, config)
      if baseline is not None and markup.is_scalar(baseline):
        beside.append(markup.Html(f"{markup.text(label)}: {markup.number(baseline)}"))
        if isinstance(where, str) and "." not in where:
          shown.add(where)
    rows.append([markup.tag("strong", score.label), value, markup.join(beside, "; ") if beside else "",
                 markup.join([score.meaning, markup.tag("span", f" ({key})", class_="file")])])
    if "." not in key:
      shown.add(key)
  if not rows:
    return markup.Html(""), shown
  caption = "The scores, each beside its baseline" + (f"; {note}" if note else "") + "."
  return markup.table(["score", "value", "beside it", "what it means"], rows, caption, class_="scores"), shown


def _fill(text: str, results: Results) -> str:
  """`text` with every `{key}` replaced by that top-level value of the results ('?' where absent)."""
  class Values(dict):
    def __missing__(self, key: str) -> str:
      return "?"
  values = Values({k: markup.plain_number(v) if markup.is_scalar(v) else "?" for k, v in results.items()})
  return text.format_map(values)


def value_table(value: Any, caption: Any = "", header_name: str = "") -> Html:
  """Any nested JSON value as a table: a mapping of mappings as rows × columns (turned when a few rows
  have more than `MAX_COLUMNS` columns), a list of mappings one row each, a mapping of scalars one row
  per key, a list of scalars one column per item; baseline rows (`BASELINE_ROWS`) greyed. Deeper values
  land in cells as compact text."""
  if isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
    columns = list(dict.fromkeys(k for v in value.values() for k in v))
    if len(columns) > MAX_COLUMNS and len(columns) > len(value):  # Few wide rows read better turned.
      rows = [[markup.tag("strong", c)] + [inner.get(c) for inner in value.values()] for c in columns]
      return markup.table([header_name] + list(value), rows, caption)
    rows = [[markup.tag("strong", name)] + [inner.get(c) for c in columns] for name, inner in value.items()]
    classes = ["baseline" if name in BASELINE_ROWS else None for name in value]
    return markup.table([header_name] + columns, rows, caption, classes)
  if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
    columns = list(dict.fromkeys(k for v in value for k in v))
    return markup.table(["#"] + columns, [[i] + [v.get(c) for c in columns] for i, v in enumerate(value)], caption)
  if isinstance(value, Mapping):
    return markup.table(["key", "value"], [[markup.tag("strong", k), v] for k, v in value.items()], caption)
  if isinstance(value, list) and all(markup.is_scalar(v) for v in value):
    return markup.table(list(range(len(value))), [value], caption)
  return markup.table(["value"], [[value]], caption)


def known_tables(results: Results) -> tuple[list[Html], set[str]]:
  """The `TABLES` the results hold, each under its title with its meaning, and the keys they show."""
  parts, shown = [], set()
  for spec in TABLES:
    present = [k for k in spec.keys if k in results]
    if not present:
      continue
    if len(spec.keys) == 1:
      value = results[present[0]]
    else:
      value = {k: results[k] for k in present}
      if not all(isinstance(v, Mapping) for v in value.values()):
        continue
    caption = markup.join([markup.tag("strong", spec.title), ": ", _fill(spec.meaning, results),
                           markup.tag("span", f" ({', '.join(present)})", class_="file")])
    parts.append(value_table(value, caption))
    shown.update(present)
  return parts, shown


def other_values(results: Results, shown: set[str]) -> list[Html]:
  """Every value not shown yet: scalars and texts in one table (with their meaning where this report
  knows it), each nested value in a table of its own."""
  rest = {k: v for k, v in results.items() if k not in shown}
  scalars = [[markup.tag("code", k), v, MEANINGS.get(k, "")] for k, v in rest.items() if markup.is_scalar(v)]
  parts = []
  if scalars:
    parts.append(markup.table(["key", "value", "what it is"], scalars,
                              "Other values of the result file (those without a meaning are new to this report)."))
  for key, value in rest.items():
    if not markup.is_scalar(value):
      parts.append(value_table(value, markup.join([markup.tag("strong", key), ": ",
                                                   MEANINGS.get(key, "a value this report shows as it is")])))
  return parts


def numbers_body(kind: str, results: Results, config: Results, skip: Sequence[str] = ()) -> Html:
  """Everything of a result file as tables (the three passes of the module docstring); keys in `skip`
  are shown elsewhere in the report (figures, named directions)."""
  scores, shown = key_scores(kind, results, config)
  tables, in_tables = known_tables(results)
  rest = other_values(results, shown | in_tables | set(skip))
  return markup.join([scores, *tables, *rest])
