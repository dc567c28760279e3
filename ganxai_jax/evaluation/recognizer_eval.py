"""Reading words with a trained recognizer: greedy CTC transcriptions, CER and WER, and loading the
recognizer a run trained (`load_recognizer`), for example to score generated words."""
from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Sequence

import flax.linen as nn
import jax
import ml_collections
import numpy as np

from ganxai_jax.data import handwriting
from ganxai_jax.data import text
from ganxai_jax.errors import UsageError
from ganxai_jax.models import recognizer as recognizer_lib
from ganxai_jax.run import workdir as workdir_lib
from ganxai_jax.run.checkpoints import Checkpointer

MODEL_FILE = "recognizer.json"  # The recognizer's width and alphabet, beside its checkpoints.
BATCH_KEYS = ("image", "labels", "label_lengths", "image_widths", "valid")


def make_predict_step(model: nn.Module) -> Callable[[Any, Mapping[str, jax.Array]], jax.Array]:
  """A jitted `predict(variables, batch) -> frame ids [B, T]` (argmax, padding frames blank)."""

  def predict(variables, batch):
    logits = model.apply(variables, batch["image"], train=False)
    return recognizer_lib.greedy_frame_ids(logits, batch["image_widths"])

  return jax.jit(predict)


def read_words(predict: Callable, variables: Any, batches, alphabet: text.Alphabet = text.IAM
               ) -> tuple[list[str], list[str]]:
  """Greedy CTC transcriptions and references of every valid example of an evaluation pass."""
  references, hypotheses = [], []
  for batch in batches:
    frame_ids = np.asarray(predict(variables, {k: batch[k] for k in BATCH_KEYS}))
    for row in np.flatnonzero(batch["valid"]):
      references.append(alphabet.decode(batch["labels"][row, :batch["label_lengths"][row]]))
      hypotheses.append(alphabet.ctc_greedy_decode(frame_ids[row]))
  return references, hypotheses


def evaluate(model: nn.Module, variables: Any, config: ml_collections.ConfigDict,
             source: Sequence[Mapping[str, Any]], batch_size: int) -> dict[str, Any]:
  """CER and WER of greedy decoding over every example of `source`, plus a few readings."""
  batches = handwriting.make_batches(config, source, batch_size, train=False)
  references, hypotheses = read_words(make_predict_step(model), variables, batches, text.alphabet_of(config))
  rates = text.character_and_word_error_rates(references, hypotheses)
  return {**rates, "num_words": len(references),
          "examples": [{"reference": r, "read": h} for r, h in zip(references[:20], hypotheses[:20])]}


def describe(width_multiplier: float, alphabet: text.Alphabet = text.IAM) -> dict[str, Any]:
  """What `recognizer.json` records: enough to rebuild the model without the training config."""
  return {"width_multiplier": width_multiplier, "num_classes": alphabet.num_classes,
          "alphabet": alphabet.symbols}


def load_recognizer(workdir: str, alphabet: text.Alphabet = text.IAM
                    ) -> tuple[recognizer_lib.Recognizer, dict[str, Any]]:
  """The recognizer trained in `workdir` and its variables (latest checkpoint), for evaluation; it must
  read `alphabet` (the generator's)."""
  path = os.path.join(workdir, MODEL_FILE)
  if not os.path.exists(path):
    raise UsageError(f"{workdir!r} holds no {MODEL_FILE}: it is not a recognizer run's folder "
                     "(train one with experiments.train_recognizer).")
  description = workdir_lib.read_json(path)
  if description["alphabet"] != alphabet.symbols:
    theirs = len(description["alphabet"])
    raise UsageError(f"the recognizer in {workdir!r} reads a {theirs}-symbol alphabet "
                     f"({'IAM' if description['alphabet'] == text.ALPHABET else 'a custom one'}), not "
                     f"{alphabet.name} ({alphabet.num_symbols} symbols) of the words to score; train it "
                     "with the same --config.alphabet.")
  model = recognizer_lib.Recognizer(width_multiplier=description["width_multiplier"],
                                    num_classes=len(description["alphabet"]) + 1)
  checkpointer = Checkpointer(workdir)
  state = checkpointer.restore_latest(None)
  checkpointer.close()
  if state is None:
    raise UsageError(f"no recognizer checkpoint under {workdir}/checkpoints; train it first.")
  return model, workdir_lib.inference_variables(state, "recognizer")
