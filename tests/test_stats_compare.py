"""dnactx.stats.compare: paired block-bootstrap differences, their p-values and verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from dnactx.errors import DnactxError
from dnactx.stats.compare import (
    A_BETTER,
    B_BETTER,
    NO_DIFFERENCE,
    RunScores,
    align_sites,
    p_value,
    paired_difference,
    verdict,
)


@pytest.fixture
def split():
    """4,000 sites in 80 blocks, ~4% positives; a trained-like score that ranks positives higher."""
    rng = np.random.default_rng(11)
    blocks = np.repeat(np.arange(80), 50)
    y = (rng.random(blocks.size) < 0.04).astype(int)
    trained = 1 / (1 + np.exp(-(2.5 * y + rng.normal(0, 1, y.size) - 2)))
    context = rng.choice(["CG", "CHG", "CHH"], y.size)
    return y, trained, blocks, context


def test_a_run_compared_with_itself_shows_no_detectable_difference(split):
    y, trained, blocks, context = split
    run = RunScores(y, trained, threshold=0.4)
    for metric in ("auprc", "auroc", "f1", "within_auprc"):
        out = paired_difference(run, run, blocks, metric=metric, context=context, n_resamples=200)
        assert out["verdict"] == NO_DIFFERENCE
        assert out["ci"][0] <= 0 <= out["ci"][1] and out["difference"] == 0
        assert out["p_value"] == 1.0


def test_a_trained_score_beats_shuffled_scores_and_the_verdict_follows_the_order(split):
    y, trained, blocks, context = split
    shuffled = np.random.default_rng(0).permutation(trained)
    a, b = RunScores(y, trained), RunScores(y, shuffled)
    out = paired_difference(a, b, blocks, n_resamples=500)
    assert out["verdict"] == A_BETTER and out["ci"][0] > 0 and out["p_value"] < 0.01
    assert out["a"] == pytest.approx(average_precision_score(y, trained))
    assert out["b"] == pytest.approx(average_precision_score(y, shuffled))
    assert out["difference"] == pytest.approx(out["a"] - out["b"])
    assert paired_difference(b, a, blocks, n_resamples=500)["verdict"] == B_BETTER
    within = paired_difference(a, b, blocks, metric="within_auroc", context=context, n_resamples=300)
    assert within["verdict"] == A_BETTER


def test_pairing_makes_the_difference_interval_narrower_than_either_runs_own(split):
    """Two similar runs: each AUPRC varies a lot across block draws, their difference much less."""
    from dnactx.stats.bootstrap import bootstrap_ci

    y, trained, blocks, _ = split
    other = trained + np.random.default_rng(1).normal(0, 0.02, y.size)
    diff = paired_difference(RunScores(y, trained), RunScores(y, other), blocks, n_resamples=300)
    own = bootstrap_ci(y, trained, blocks, n_resamples=300)["auprc"]
    assert diff["ci"][1] - diff["ci"][0] < (own[1] - own[0]) / 3


def test_same_seed_same_comparison(split):
    y, trained, blocks, _ = split
    a, b = RunScores(y, trained), RunScores(y, trained ** 2 + 0.01 * y)
    assert paired_difference(a, b, blocks, seed=5, n_resamples=100) == paired_difference(a, b, blocks, seed=5,
                                                                                          n_resamples=100)


def test_runs_on_different_numbers_of_sites_are_refused(split):
    y, trained, blocks, _ = split
    with pytest.raises(DnactxError, match="different sites: A has 4,000, B has 3,999"):
        paired_difference(RunScores(y, trained), RunScores(y[1:], trained[1:]), blocks)


def test_runs_with_different_labels_are_refused(split):
    y, trained, blocks, _ = split
    flipped = y.copy()
    flipped[:3] = 1 - flipped[:3]
    with pytest.raises(DnactxError, match="labels differ at 3 of 4,000 sites"):
        paired_difference(RunScores(y, trained), RunScores(flipped, trained), blocks)


def test_runs_on_different_dataset_rows_are_refused():
    a = RunScores(np.array([0, 1]), np.array([0.1, 0.9]), index=np.array([4, 5]))
    b = RunScores(np.array([0, 1]), np.array([0.1, 0.9]), index=np.array([4, 6]))
    with pytest.raises(DnactxError, match="dataset rows differ"):
        align_sites(a, b)


def test_the_same_sites_in_another_order_are_aligned():
    a = RunScores(np.array([0, 1, 0]), np.array([0.1, 0.9, 0.3]), index=np.array([7, 3, 5]))
    b = RunScores(np.array([1, 0, 0]), np.array([0.8, 0.2, 0.4]), threshold=np.array([0.5, 0.6, 0.7]),
                  index=np.array([3, 5, 7]))
    aligned = align_sites(a, b)
    assert aligned.index.tolist() == [7, 3, 5] and aligned.scores.tolist() == [0.4, 0.8, 0.2]
    assert aligned.labels.tolist() == [0, 1, 0] and aligned.threshold.tolist() == [0.7, 0.5, 0.6]


def test_unknown_metric_and_missing_inputs_are_named(split):
    y, trained, blocks, _ = split
    run = RunScores(y, trained)
    with pytest.raises(DnactxError, match="--metric must be one of"):
        paired_difference(run, run, blocks, metric="accuracy")
    with pytest.raises(DnactxError, match="thresholds"):
        paired_difference(run, run, blocks, metric="f1")
    with pytest.raises(DnactxError, match="contexts"):
        paired_difference(run, run, blocks, metric="within_auroc")


def test_p_value_is_twice_the_smaller_tail_with_the_plus_one_correction():
    assert p_value(np.array([1.0, 2.0, 3.0, -1.0])) == pytest.approx(2 * (1 + 1) / 5)
    assert p_value(np.zeros(10)) == 1.0
    assert p_value(np.array([np.nan, np.nan])) is None


def test_verdict_reads_the_interval():
    assert verdict([0.01, 0.05]) == A_BETTER
    assert verdict([-0.05, -0.01]) == B_BETTER
    assert verdict([-0.01, 0.05]) == NO_DIFFERENCE
    assert verdict(None) == NO_DIFFERENCE


def test_a_difference_on_too_few_positives_has_no_interval_p_value_or_winner():
    from dnactx.stats.compare import MIN_POSITIVES, too_few_positives

    measured = {"metric": "auroc", "a": 0.9, "b": 0.2, "difference": 0.7, "ci": [0.5, 0.9], "p_value": 0.003,
                "verdict": "A better"}
    assert too_few_positives(measured, MIN_POSITIVES) is measured
    thin = too_few_positives(measured, 1)
    assert (thin["ci"], thin["p_value"], thin["verdict"]) == (None, None, "too few positives (1)")
    assert (thin["a"], thin["b"], thin["difference"]) == (0.9, 0.2, 0.7)  # the point values stay, for reference
