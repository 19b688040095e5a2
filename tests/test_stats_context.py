"""dnactx.stats.context: the context-only floor and the macro average of within-context AUROC/AUPRC."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from dnactx.errors import DnactxError
from dnactx.stats.context import context_floor, context_rates, within_context

TRAIN_Y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
TRAIN_C = np.array(["CG", "CG", "CG", "CG", "CHG", "CHG", "CHG", "CHG", "CHH", "CHH"])


def test_context_rates_are_training_methylation_rates():
    assert context_rates(TRAIN_Y, TRAIN_C) == {"CG": 0.25, "CHG": 0.25, "CHH": 0.0}


def test_floor_scores_each_site_by_its_contexts_training_rate():
    y = np.array([1, 0, 0, 1, 0, 0])
    context = np.array(["CG", "CG", "CHH", "CHG", "CHH", "CHG"])
    floor = context_floor(y, context, TRAIN_Y, TRAIN_C)
    score = np.array([0.25, 0.25, 0.0, 0.25, 0.0, 0.25])
    assert floor["auroc"] == pytest.approx(roc_auc_score(y, score))
    assert floor["auprc"] == pytest.approx(average_precision_score(y, score))


def test_a_context_missing_from_training_scores_the_overall_training_rate():
    # training: CG 1/4 and CHG 1/2, overall 2/6; a CHH site scores 1/3, above every CG site
    floor = context_floor(np.array([1, 0, 0]), np.array(["CHH", "CG", "CG"]), TRAIN_Y[:6], TRAIN_C[:6])
    assert floor["rates"] == {"CG": 0.25, "CHG": 0.5}
    assert floor["auroc"] == 1.0


def test_within_context_is_the_mean_over_contexts_where_defined():
    y = np.array([1, 0, 0, 1, 0, 1, 0, 0])
    p = np.array([0.9, 0.1, 0.5, 0.4, 0.6, 0.3, 0.2, 0.7])
    context = np.array(["CG", "CG", "CG", "CHG", "CHG", "CHH", "CHH", "CHH"])
    per = [(roc_auc_score(y[m], p[m]), average_precision_score(y[m], p[m]))
           for m in (context == c for c in ("CG", "CHG", "CHH"))]
    got = within_context(y, p, context)
    assert got["auroc"] == pytest.approx(np.mean([a for a, _ in per]))
    assert got["auprc"] == pytest.approx(np.mean([b for _, b in per]))


def test_contexts_of_one_class_are_left_out_of_the_mean():
    y = np.array([1, 0, 0, 0])
    p = np.array([0.9, 0.1, 0.5, 0.4])
    got = within_context(y, p, np.array(["CG", "CG", "CHH", "CHH"]))  # CHH: no positive
    assert got == {"auroc": 1.0, "auprc": 1.0}
    assert within_context(np.zeros(2, int), p[:2], np.array(["CG", "CG"])) == {"auroc": None, "auprc": None}


def test_a_model_that_only_knows_the_context_is_at_its_floor_overall_and_at_chance_within():
    rng = np.random.default_rng(0)
    context = rng.choice(["CG", "CHG", "CHH"], 5000, p=[0.2, 0.2, 0.6])
    rate = np.select([context == "CG", context == "CHG"], [0.15, 0.01], 0.004)
    y = (rng.random(5000) < rate).astype(int)
    p = rate + rng.normal(0, 1e-6, 5000)  # context only, with meaningless jitter
    floor = context_floor(y, context, y, context)
    assert roc_auc_score(y, p) == pytest.approx(floor["auroc"], abs=0.02)
    assert within_context(y, p, context)["auroc"] == pytest.approx(0.5, abs=0.1)


def test_floor_needs_one_context_per_label():
    with pytest.raises(DnactxError, match="one context per label"):
        context_floor(np.array([0, 1]), np.array(["CG"]), TRAIN_Y, TRAIN_C)
