"""dnactx.metrics: pure functions that agree with scikit-learn and with hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, f1_score, roc_auc_score

from dnactx.metrics import (
    best_f1_threshold,
    binary_metrics,
    confusion_at,
    evaluate,
    expected_calibration_error,
    reliability_curve,
)


@pytest.fixture
def scores():
    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.05).astype(int)
    p = np.clip(rng.normal(0.2 + 0.3 * y, 0.15), 0, 1)
    return y, p


def test_ranking_and_brier_equal_scikit_learn(scores):
    y, p = scores
    m = binary_metrics(y, p, threshold=0.3)
    assert m["auroc"] == pytest.approx(roc_auc_score(y, p))
    assert m["auprc"] == pytest.approx(average_precision_score(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert m["f1_at_0_5"] == pytest.approx(f1_score(y, p >= 0.5))
    assert m["f1_at_threshold"] == pytest.approx(f1_score(y, p >= 0.3))
    assert m["pos_rate"] == pytest.approx(y.mean()) and m["n"] == 2000


def test_confusion_counts_by_hand():
    y = np.array([1, 1, 0, 0, 0])
    p = np.array([0.9, 0.4, 0.6, 0.1, 0.2])
    c = confusion_at(y, p, 0.5)  # tp=1, fp=1, fn=1
    assert (c["precision"], c["recall"], c["f1"], c["pred_pos_rate"]) == (0.5, 0.5, 0.5, 0.4)


def test_tuned_threshold_maximises_f1_over_every_observed_score(scores):
    y, p = scores
    t = best_f1_threshold(y, p)
    called = p[None, :] >= np.unique(p)[:, None]  # one row per observed score used as the threshold
    tp, fp, fn = (called & (y == 1)).sum(1), (called & (y == 0)).sum(1), (~called & (y == 1)).sum(1)
    best = (2 * tp / (2 * tp + fp + fn)).max()  # F1 at every threshold at once (scikit-learn checks one below)
    assert f1_score(y, p >= t) == pytest.approx(best)


def test_calibration_error_is_zero_when_each_bin_rate_matches_its_probability():
    p = np.repeat([0.05, 0.25, 0.75], 20)
    y = np.concatenate([[1] + [0] * 19, [1] * 5 + [0] * 15, [1] * 15 + [0] * 5])
    assert expected_calibration_error(y, p) == pytest.approx(0.0)
    curve = reliability_curve(y, p, bins=10)
    assert sum(curve["count"]) == 60 and curve["frac_pos"][7] == pytest.approx(0.75)
    assert expected_calibration_error(np.zeros(10), np.full(10, 0.5)) == pytest.approx(0.5)


def test_a_split_without_positives_gives_nulls_with_a_reason():
    m = binary_metrics(np.zeros(10), np.full(10, 0.5), threshold=0.5)
    assert m["auroc"] is None and m["auprc"] is None and "no positives" in m["null_reason"]


def test_threshold_is_tuned_on_val_and_applied_to_test_per_context_too(scores):
    y, p = scores
    ctx = np.where(np.arange(y.size) % 2, "CG", "CHH")
    m = evaluate(y, p, 1 - y, p, ctx, ctx)
    assert m["threshold"] == pytest.approx(best_f1_threshold(y, p))
    assert m["test"]["f1_at_threshold"] == pytest.approx(f1_score(1 - y, p >= m["threshold"]))
    assert set(m["by_context"]["val"]) == {"CG", "CHH"}
    cg = ctx == "CG"
    assert m["by_context"]["test"]["CG"]["f1_at_threshold"] == pytest.approx(
        f1_score(1 - y[cg], p[cg] >= m["threshold"]))
    assert "facts" not in m  # facts are the trainer's, not evaluate's
