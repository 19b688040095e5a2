"""dnactx.contracts: metrics.json's layouts, metric names and lookup, metric rows and back, the run-row type."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dnactx.contracts import (
    FACT_NAMES,
    ROW_EXTRAS,
    MetricRef,
    RunRow,
    flatten_metrics,
    metric_value,
    nest_metrics,
    parse_metric,
    read_metrics,
)
from dnactx.metrics import evaluate

FACTS = {"train_seconds": 1.25, "samples_per_s": 800.0, "train_sites": 360, "best_epoch": 2, "epochs_run": 3,
         "truncated_fraction": 0.0, "converged": True, "cache_hit": False, "n_iter": 41}


def _metrics() -> dict:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.3 * y + 0.7 * rng.random(200), 0, 1)
    ctx = rng.choice(["CG", "CHG", "CHH"], 200)
    return {**evaluate(y[:100], p[:100], y[100:], p[100:], ctx[:100], ctx[100:]), "facts": dict(FACTS)}


def test_metric_rows_nest_back_to_the_same_metrics_json_with_ints_and_flags_restored():
    m = _metrics()
    rows = flatten_metrics(m)
    assert ("facts", None, "train_seconds", 1.25) in rows and ("run", None, "threshold", m["threshold"]) in rows
    assert all(isinstance(v, float) for *_, v in rows)  # the value column is REAL
    back = nest_metrics(rows)
    assert back == m
    assert type(back["facts"]["converged"]) is bool and type(back["facts"]["train_sites"]) is int
    assert type(back["val"]["n"]) is int and type(back["by_context"]["test"]["CG"]["n_pos"]) is int


def test_first_layout_facts_move_into_facts_and_today_layout_is_kept():
    old = {"val": {"auprc": 0.5}, "threshold": 0.3, "by_context": {}, "train_seconds": 2.0, "best_epoch": 1,
           "converged": False}
    assert read_metrics(old) == {"val": {"auprc": 0.5}, "threshold": 0.3, "by_context": {},
                                 "facts": {"train_seconds": 2.0, "best_epoch": 1, "converged": False}}
    new = _metrics()
    assert read_metrics(new) is new
    assert read_metrics({"val": {"auprc": 0.5}}) == {"val": {"auprc": 0.5}}
    assert read_metrics(None) is None


@pytest.mark.parametrize(("text", "ref"), [
    ("val_auprc", MetricRef("val", None, "auprc")),
    ("test_f1_at_threshold", MetricRef("test", None, "f1_at_threshold")),
    ("test_CG_f1_at_0_5", MetricRef("test", "CG", "f1_at_0_5")),
    ("train_auprc", MetricRef("train", None, "auprc")),
    ("train_seconds", MetricRef("facts", None, "train_seconds")),  # a fact, not metric "seconds" of split train
    ("train_sites", MetricRef("facts", None, "train_sites")),
    ("threshold", MetricRef("run", None, "threshold")),
])
def test_metric_names_parse_and_label_round_trip(text, ref):
    assert parse_metric(text) == ref
    assert ref.label == text


def test_metric_value_reads_splits_contexts_run_values_and_facts_and_nothing_else():
    m = _metrics()
    assert metric_value(m, "val_auprc") == m["val"]["auprc"]
    assert metric_value(m, "test_CHH_auroc") == m["by_context"]["test"]["CHH"]["auroc"]
    assert metric_value(m, "threshold") == m["threshold"]
    assert metric_value(m, "train_seconds") == 1.25 and metric_value(m, "converged") == 1.0
    assert metric_value(m, "val_nonexistent") is None and metric_value(m, "train_auprc") is None
    assert metric_value({"val": {"auprc": math.nan}}, "val_auprc") is None
    assert metric_value(None, "val_auprc") is None
    # A fact is only ever read from ``facts``: a top-level key of the same name is not a fact any more.
    assert metric_value({"train_seconds": 3.0}, "train_seconds") is None


def test_every_fact_is_named_in_the_contract():
    from dnactx.pretrain.record import facts

    pretrain = facts({"evaluation": {"heldout_accuracy": 0.4, "heldout_perplexity": 3.1, "heldout_loss": 1.1},
                      "training": {"tokens": 1000, "steps": 2, "seconds": 1.0, "tokens_per_s": 900.0}})
    assert FACT_NAMES == set(FACTS) | {"pos_weight_used", "lr"} | set(pretrain)


def test_run_row_type_lists_exactly_the_registry_columns_then_folder_metrics_artifacts():
    from dnactx.registry.models import RUN_COLUMNS

    assert set(RunRow.__annotations__) == set(RUN_COLUMNS) | set(ROW_EXTRAS)
    assert len(RunRow.__annotations__) == len(RUN_COLUMNS) + len(ROW_EXTRAS)
