"""dnactx.stats.evaluation: what metrics.json says about a run's scores (intervals, floor, within-context,
calibration, both threshold policies), and how those numbers reach the registry's metric rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from dnactx.contracts import flatten_metrics, metric_value, nest_metrics
from dnactx.metrics import best_f1_threshold, expected_calibration_error
from dnactx.stats.context import within_context
from dnactx.stats.evaluation import Settings, Sites, evaluate_run


def _sites(rng: np.random.Generator, n: int, shift: float = 0.0, start: int = 1) -> Sites:
    context = rng.choice(["CG", "CHG", "CHH"], n, p=[0.3, 0.2, 0.5])
    y = (rng.random(n) < np.where(context == "CG", 0.3, 0.04)).astype(int)
    score = 1 / (1 + np.exp(-(1.5 * y + rng.normal(0, 1, n) - 2 + shift)))
    return Sites(y, score, context, np.full(n, "chr1"), start + np.arange(n) * 400)


@pytest.fixture
def run():
    rng = np.random.default_rng(0)
    val, test = _sites(rng, 3000), _sites(rng, 3000, start=2_000_001)
    train = _sites(rng, 5000)
    return val, test, train


def test_every_split_gets_intervals_that_hold_its_values_per_context_too(run):
    val, test, train = run
    m = evaluate_run(val, test, train.labels, train.context, Settings(bootstrap=300, seed=1)).metrics
    t = m["test"]
    for name, key in (("auroc", "auroc"), ("auprc", "auprc"), ("f1_at_threshold", "f1")):
        lo, hi = t["ci"][key]
        assert lo < t[name] < hi
    assert t["ci"]["n_blocks"] == 120 and t["ci"]["approximate"] is False and t["ci"]["block_bp"] == 10_000
    assert (t["ci"]["level"], t["ci"]["n_resamples"], t["ci"]["seed"]) == (0.95, 300, 1)
    for ctx in ("CG", "CHG", "CHH"):
        c = m["by_context"]["test"][ctx]
        assert c["ci"]["auroc"][0] < c["auroc"] < c["ci"]["auroc"][1]
    lo, hi = t["ci"]["within_context"]["auprc"]
    assert lo < t["within_context"]["auprc"] < hi
    assert t["within_context"] == within_context(test.labels, test.scores, test.context)


def test_the_context_floor_scores_sites_by_their_contexts_training_rate(run):
    val, test, train = run
    m = evaluate_run(val, test, train.labels, train.context, Settings(bootstrap=200)).metrics
    floor = m["test"]["context_floor"]
    rate = {c: train.labels[train.context == c].mean() for c in ("CG", "CHG", "CHH")}
    score = np.array([rate[c] for c in test.context])
    assert floor["auroc"] == pytest.approx(roc_auc_score(test.labels, score))
    assert floor["auprc"] == pytest.approx(average_precision_score(test.labels, score))
    assert floor["ci"]["auroc"][0] < floor["auroc"] < floor["ci"]["auroc"][1]
    gain = floor["gain"]["auroc"]
    assert gain["difference"] == pytest.approx(m["test"]["auroc"] - floor["auroc"])
    assert gain["verdict"] == "A better" and gain["ci"][0] > 0  # the score ranks within contexts too


def test_a_split_spanning_few_blocks_is_marked_approximate_and_the_same_seed_repeats(run):
    val, test, train = run
    settings = Settings(bootstrap=100, block_bp=200_000, seed=3)
    a = evaluate_run(val, test, train.labels, train.context, settings).metrics
    b = evaluate_run(val, test, train.labels, train.context, settings).metrics
    assert a["test"]["ci"]["n_blocks"] == 6 and a["test"]["ci"]["approximate"] is True
    assert a == b


def test_no_bootstrap_no_positions_or_no_positives_leave_ci_out_and_say_why(run):
    val, test, train = run
    assert "ci" not in evaluate_run(val, test, train.labels, train.context, Settings(bootstrap=0)).metrics["test"]
    unplaced = Sites(test.labels, test.scores, test.context)
    m = evaluate_run(val, unplaced, train.labels, train.context, Settings(bootstrap=50)).metrics
    assert "no chrom/pos" in m["test"]["ci"]["skipped"] and "auprc" in m["val"]["ci"]
    empty = Sites(np.zeros_like(test.labels), test.scores, test.context, test.chrom, test.pos)
    m = evaluate_run(val, empty, train.labels, train.context, Settings(bootstrap=50)).metrics
    assert "no positive sites" in m["test"]["ci"]["skipped"]


def test_both_threshold_policies_are_kept_and_the_chosen_one_drives_the_calls(run):
    val, test, train = run
    glob = evaluate_run(val, test, train.labels, train.context, Settings(bootstrap=0)).metrics
    ctx = evaluate_run(val, test, train.labels, train.context,
                       Settings(bootstrap=0, threshold_by="context")).metrics
    assert glob["threshold"] == ctx["threshold"] == best_f1_threshold(val.labels, val.scores)
    assert set(ctx["context_thresholds"]) == {"CG", "CHG", "CHH"} and ctx["threshold_by"] == "context"
    for m in (glob, ctx):
        calls = m["test"]["at_thresholds"]
        assert calls["global"]["f1"] == glob["test"]["f1_at_threshold"]
        assert calls["context"]["thresholds"] == ctx["context_thresholds"]
    assert ctx["test"]["f1_at_threshold"] == ctx["test"]["at_thresholds"]["context"]["f1"]
    cg = test.context == "CG"
    called = test.scores[cg] >= ctx["context_thresholds"]["CG"]
    assert ctx["by_context"]["test"]["CG"]["pred_pos_rate_at_threshold"] == pytest.approx(called.mean())


def test_calibration_is_fitted_on_val_applied_to_both_and_its_effect_recorded(run):
    val, test, train = run
    pushed = [Sites(s.labels, np.clip(s.scores * 3, 0, 0.99), s.context, s.chrom, s.pos) for s in (val, test)]
    ev = evaluate_run(*pushed, train.labels, train.context, Settings(bootstrap=0, calibrate="isotonic"))
    effect = ev.metrics["test"]["calibration"]
    assert effect["method"] == "isotonic" and ev.metrics["calibration"]["fitted_on"] == "val"
    assert effect["ece"]["before"] == pytest.approx(expected_calibration_error(test.labels, pushed[1].scores))
    assert effect["ece"]["after"] == pytest.approx(ev.metrics["test"]["ece"])
    assert effect["ece"]["after"] < effect["ece"]["before"] / 2
    np.testing.assert_array_equal(ev.raw["test"], pushed[1].scores)
    assert not np.array_equal(ev.scores["test"], pushed[1].scores)
    plain = evaluate_run(val, test, train.labels, train.context, Settings(bootstrap=0))
    assert plain.raw is None and "calibration" not in plain.metrics


def test_nested_numbers_become_metric_rows_and_nest_back(run):
    val, test, train = run
    m = evaluate_run(val, test, train.labels, train.context, Settings(bootstrap=100, calibrate="platt")).metrics
    rows = {(s, c, n): v for s, c, n, v in flatten_metrics(m)}
    t = m["test"]
    assert rows[("test", None, "within_auprc")] == t["within_context"]["auprc"]
    assert rows[("test", None, "auprc_lo")] == t["ci"]["auprc"][0] and rows[("test", None, "auprc_hi")] == \
        t["ci"]["auprc"][1]
    assert rows[("test", None, "context_floor_auroc")] == t["context_floor"]["auroc"]
    assert rows[("test", None, "ece_uncalibrated")] == t["calibration"]["ece"]["before"]
    assert rows[("test", "CG", "auroc_lo")] == m["by_context"]["test"]["CG"]["ci"]["auroc"][0]
    assert not any(isinstance(v, (dict, list)) for v in rows.values())
    back = nest_metrics(flatten_metrics(m))
    for name in ("test_within_auprc", "test_auprc_hi", "val_context_floor_auprc", "test_CHH_f1_at_threshold_lo",
                 "test_ci_blocks", "test_f1_at_context_thresholds"):
        assert metric_value(back, name) == metric_value(m, name) is not None, name
    assert back["test"]["ci"]["approximate"] is False and back["test"]["ci"]["n_blocks"] == t["ci"]["n_blocks"]


def test_one_line_of_intervals_for_people_reads_the_split_as_stored(run):
    from dnactx.analysis.render import split_intervals
    from dnactx.formatting import num

    val, test, train = run
    t = evaluate_run(val, test, train.labels, train.context, Settings(bootstrap=200)).metrics["test"]
    line = split_intervals(t)
    lo, hi = t["ci"]["auprc"]
    assert f"AUPRC {num(t['auprc'], 3)} [{num(lo, 3)}, {num(hi, 3)}]" in line
    assert "within contexts AUROC" in line and "context alone AUROC" in line and "(gain +" in line
    assert line.endswith("120 blocks of 10,000 bp")
    assert split_intervals({k: v for k, v in t.items() if k != "ci"}) == ""  # trained with --bootstrap 0
