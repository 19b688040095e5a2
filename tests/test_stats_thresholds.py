"""dnactx.stats.thresholds: one F1-maximising threshold per context, tuned on validation and applied to test."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from dnactx.metrics import best_f1_threshold
from dnactx.stats.thresholds import context_thresholds, evaluate_context_thresholds, site_thresholds


def sites(seed: int, n: int = 6000):
    """CG sites are often methylated and scored high; CHH sites rarely, with scores on a lower scale."""
    rng = np.random.default_rng(seed)
    context = rng.choice(["CG", "CHH"], n, p=[0.3, 0.7])
    cg = context == "CG"
    y = (rng.random(n) < np.where(cg, 0.3, 0.05)).astype(int)
    p = np.where(cg, 0.5, 0.05) + np.where(cg, 0.3, 0.1) * y + rng.normal(0, np.where(cg, 0.12, 0.03))
    return y, np.clip(p, 0, 1), context


def test_each_context_gets_its_own_f1_maximising_threshold():
    y, p, context = sites(0)
    got = context_thresholds(y, p, context)
    for ctx in ("CG", "CHH"):
        mask = context == ctx
        assert got[ctx] == best_f1_threshold(y[mask], p[mask])
    assert got["CG"] > got["CHH"]


def test_per_context_thresholds_from_val_beat_one_global_threshold_on_test():
    y_val, p_val, c_val = sites(0)
    y_test, p_test, c_test = sites(1)
    global_t = best_f1_threshold(y_val, p_val)
    per_context = evaluate_context_thresholds(y_test, p_test, c_test, context_thresholds(y_val, p_val, c_val),
                                              global_t)
    assert per_context["f1"] > f1_score(y_test, p_test >= global_t) + 0.05


def test_overall_figures_are_those_of_the_per_site_calls():
    y, p, context = sites(2)
    thresholds = {"CG": 0.6, "CHH": 0.1}
    out = evaluate_context_thresholds(y, p, context, thresholds, default=0.5)
    calls = p >= np.where(context == "CG", 0.6, 0.1)
    assert out["f1"] == pytest.approx(f1_score(y, calls))
    assert out["precision"] == pytest.approx(precision_score(y, calls))
    assert out["recall"] == pytest.approx(recall_score(y, calls))
    assert out["pred_pos_rate"] == pytest.approx(calls.mean())
    cg = context == "CG"
    assert out["by_context"]["CG"]["f1"] == pytest.approx(f1_score(y[cg], p[cg] >= 0.6))
    assert out["thresholds"] == thresholds


def test_a_context_of_one_class_falls_back_to_the_global_threshold():
    y = np.array([0, 1, 0, 1, 0, 0])
    p = np.array([0.2, 0.8, 0.3, 0.6, 0.1, 0.9])
    context = np.array(["CG", "CG", "CG", "CG", "CHH", "CHH"])  # no methylated CHH site
    got = context_thresholds(y, p, context)
    assert got["CHH"] == best_f1_threshold(y, p)
    assert context_thresholds(y, p, context, fallback=0.42)["CHH"] == 0.42


def test_sites_of_a_context_without_a_threshold_use_the_default():
    assert site_thresholds(np.array(["CG", "CHG", "CHH"]), {"CG": 0.7, "CHH": 0.1}, 0.5).tolist() == [0.7, 0.5, 0.1]
