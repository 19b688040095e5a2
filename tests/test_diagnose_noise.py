"""diagnose with intervals: --calibrate when calibration is the finding, no remedy smaller than its noise, no two
remedies that contradict each other, and a model no better than its context floor said so with its numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_scored_run, make_tiny_dataset, ranked_scores, run_cli

from dnactx.analysis.diagnose import diagnose, rule_threshold_calibration
from dnactx.analysis.remedies import conflicts


def _diagnose(capsys, home, run_id) -> dict:
    code, out, err = run_cli(["--home", str(home), "diagnose", run_id, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def data(tmp_path):
    return make_tiny_dataset(tmp_path / "d", n=4000)


def test_miscalibration_points_at_the_calibrate_flag_with_the_effect_and_its_interval(data, tmp_path, capsys):
    home = tmp_path / "runs"
    good = ranked_scores(2.5, 2.5, seed=1)
    run = make_scored_run(home, data, lambda split, y, ctx: np.clip(good(split, y, ctx) * 0.3 + 0.6, 0, 1),
                          name="pushed-up")
    d = _diagnose(capsys, home, run)
    finding = next(f for f in d["findings"] if f["code"] == "threshold_calibration")
    assert "mis-calibrated" in finding["evidence"]
    assert "Platt scaling fitted on val would take test ECE from" in finding["evidence"]
    assert "more than its noise" in finding["evidence"]
    calibrate = next(r for r in d["remedies"] if r["key"] == "calibrate")
    assert calibrate["flags"] == "--calibrate platt" and "--calibrate platt" in calibrate["command"]
    effect = finding["figures"]["effects"]["calibrate"]
    assert effect["after"] < effect["before"] and effect["ci"][1] < 0


def _evidence(effect: dict | None, **test) -> dict:
    figures = {"n_pos": 80, "auroc": 0.9, "ece": 0.004, "ece_bins": 10, "brier": 0.02, "base_rate": 0.02,
               "pred_pos_rate_at_0_5": 0.001, "f1_at_0_5": 0.19, "f1_at_threshold": 0.193, "f1_lift": 0.003, **test}
    return {"threshold": 0.73, "config": {"model": "cnn", "family": "cnn"}, "test": figures, "val": dict(figures),
            "effects": {"threshold": effect} if effect else {}}


def test_a_threshold_whose_effect_is_within_noise_is_not_recommended():
    # the former bug: "threshold 0.73 moves test F1 from 0.19 to 0.19 → tune the threshold"
    noise = {"at_threshold": 0.193, "at_0_5": 0.19, "difference": 0.003, "ci": [-0.01, 0.02]}
    assert rule_threshold_calibration(_evidence(noise)) is None
    assert rule_threshold_calibration(_evidence(None)) is None  # no blocks: the fixed margin (0.05) decides
    real = {"at_threshold": 0.30, "at_0_5": 0.19, "difference": 0.11, "ci": [0.05, 0.17]}
    finding = rule_threshold_calibration(_evidence(real, f1_at_threshold=0.30, f1_lift=0.11))
    assert finding["remedies"][0][0] == "threshold"
    assert "moves test F1 from 0.19 to 0.30 (+0.110 [+0.050, +0.170]: more than its noise)" in finding["evidence"]


def test_remedies_never_contradict_each_other():
    """Still improving (train longer) and a val-test gap (stop earlier) both fire; only one way is recommended."""
    ev = _evidence(None, f1_lift=0.0)
    ev["config"] = {"model": "cnn", "family": "cnn", "epochs": 5, "patience": 2, "size": 100, "mode": "both"}
    ev["facts"] = {"best_epoch": 5, "epochs_run": 5}
    ev["val"] = {**ev["val"], "auprc": 0.6}
    ev["test"] = {**ev["test"], "auprc": 0.3}
    ev["gap"] = {"auprc": 0.3}
    d = diagnose(ev)
    assert {"still_improving", "val_test_gap"} <= {f["code"] for f in d["findings"]}
    flags = [r["flags"] for r in d["remedies"]]
    assert "--epochs 10 --patience 3" in flags and "--patience 1" not in flags
    assert not any(conflicts(a, b) for i, a in enumerate(d["remedies"]) for b in d["remedies"][i + 1:])


def test_a_model_that_only_knows_the_context_is_no_better_than_its_floor(data, tmp_path, capsys):
    home = tmp_path / "runs"
    rng = np.random.default_rng(3)
    rate = {"CG": 0.4, "CHG": 0.05, "CHH": 0.04}
    floorish = make_scored_run(home, data, lambda split, y, ctx: np.array([rate[c] for c in ctx])
                               + rng.normal(0, 0.001, y.size), name="context-only")
    d = _diagnose(capsys, home, floorish)
    finding = next(f for f in d["findings"] if f["code"] == "context_floor")
    assert finding["title"] == "no better than the context alone" and finding["severity"] == 3
    assert "for the context alone (each site scored by its context's training rate), a paired gain of" in \
        finding["evidence"]
    assert "within contexts AUROC" in finding["evidence"] and "near chance" in finding["evidence"]
    assert "context_only" not in [f["code"] for f in d["findings"]]
    strong = make_scored_run(home, data, ranked_scores(2.5, 2.5, seed=4), name="strong")
    assert "context_floor" not in [f["code"] for f in _diagnose(capsys, home, strong)["findings"]]


def test_remedies_stay_within_what_the_run_can_take():
    from dnactx.analysis.remedies import remedy

    lr = {"model": "lr", "family": "lr", "size": 100, "window": 200, "data": "d.parquet"}
    assert remedy("epochs", lr) is None  # lr is fitted to convergence
    assert remedy("size_other", lr)["flags"] == "--size 50"  # 200 would not fit the 200 bp window
    assert remedy("size_other", {**lr, "size": 40})["flags"] == "--size 80"
    assert remedy("calibrate", lr)["flags"] == "--calibrate platt"
    assert remedy("calibrate", {**lr, "calibrate": "isotonic"}) is None


def test_a_val_test_gap_is_a_finding_only_beyond_the_two_splits_noise():
    from dnactx.analysis.diagnose import rule_val_test_gap

    ev = _evidence(None)
    ev["val"], ev["test"] = {**ev["val"], "auprc": 0.40}, {**ev["test"], "auprc": 0.25}
    ev["gap"] = {"auprc": 0.15}
    assert rule_val_test_gap(ev)["code"] == "val_test_gap"  # no intervals: the fixed margins decide
    wide = {"val": {"ci": {"auprc": [0.20, 0.60]}}, "test": {"ci": {"auprc": [0.10, 0.40]}}}  # ±0.25 together
    assert rule_val_test_gap({**ev, "measured": wide}) is None
    narrow = {"val": {"ci": {"auprc": [0.37, 0.43]}}, "test": {"ci": {"auprc": [0.21, 0.29]}}}  # ±0.05
    finding = rule_val_test_gap({**ev, "measured": narrow})
    assert "beyond the two splits' noise of ±0.050" in finding["evidence"]
