"""Results tables, as data: each row one run of a project command, and the numbers read from it.

  python -m experiments.reproduce --table=mnist --workdir=runs/mnist_table [--max_minutes=M] [--tiny]
trains or resumes every run a table needs and writes WORKDIR/results.md and WORKDIR/results.json. A new
table (words, say) is one more `Table` here; `ganxai_jax/reproduce/table.py` says what each field means.
"""
from __future__ import annotations

import dataclasses

from ganxai_jax.reproduce.table import Number, Row, Table, Tally, Target

FID = Number("FID", "fid", baselines=(("real vs real", "fid_real_vs_real"),))
# The learned directions' reconstructor accuracy beside the fixed baselines trained in the same run.
RCA = Number("RCA", "rca.learned_orthonormal.rca",
             baselines=(("random", "rca.random.rca"), ("coordinate", "rca.coordinate.rca"), ("chance", "chance_rca")),
             target=Target(low=0.90), published="0.88 (random 0.46, coordinate 0.48; Voynov & Babenko 2020)")
DIRECTION_NAMES = Tally("learned directions", "names.learned_orthonormal")
# How many different attributes the named learned directions cover, beside random directions' count.
DISTINCT_ATTRIBUTES = Number("distinct attributes", "attribute_coverage.learned_orthonormal.distinct_attributes",
                             baselines=(("random", "attribute_coverage.random.distinct_attributes"),),
                             optional=True)

MNIST = Table(name="mnist", title="MNIST", rows=(
    Row("gan", "configs/mnist.py:gan", numbers=(
        dataclasses.replace(FID, target=Target(high=60)),
        Number("class share min", "class_share_min", target=Target(low=0.07)),
        Number("class share max", "class_share_max", target=Target(high=0.13)))),
    Row("cgan", "configs/mnist.py:cgan", numbers=(
        Number("label accuracy", "label_accuracy", target=Target(low=0.98)), FID)),
    Row("sagan", "configs/mnist.py:sagan", numbers=(Number("label accuracy", "label_accuracy"), FID)),
    Row("infogan", "configs/mnist.py:infogan", overrides={"num_seeds": 3}, numbers=(
        Number("categorical accuracy", "infogan_categorical_accuracy", target=Target(low=0.95),
               published="0.95 (Chen et al. 2016, full MNIST)"),)),
    Row("directions", "configs/explain.py:directions", command="explain", depends_on="gan",
        full_size={"directions.num_steps": 100_000}, numbers=(RCA, DISTINCT_ATTRIBUTES),
        tallies=(DIRECTION_NAMES,)),
    Row("cgan_directions", "configs/explain.py:directions", command="explain", depends_on="cgan",
        full_size={"directions.num_steps": 100_000},
        numbers=(dataclasses.replace(RCA, published=""), DISTINCT_ATTRIBUTES),
        tallies=(DIRECTION_NAMES,)),
))

TABLES = {table.name: table for table in (MNIST,)}
