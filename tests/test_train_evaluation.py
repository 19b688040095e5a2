"""train's evaluation flags (--bootstrap, --bootstrap-block, --calibrate, --threshold-by) end to end, and the new
metrics reaching the registry (``runs ls --sort val_within_auprc``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import cli_exit_code, make_scored_run, make_tiny_dataset, ranked_scores, run_cli

from dnactx.errors import DnactxError, ExitCode
from dnactx.metrics import expected_calibration_error
from dnactx.runs import RunFolder
from dnactx.train.config import TrainConfig


def _train(home, data, *flags: str) -> RunFolder:
    assert cli_exit_code("--home", str(home), "train", "--data", str(data), "--model", "lr", "--size", "20",
                         "-q", *flags) == 0
    newest = max((p for p in home.iterdir() if (p / "metrics.json").is_file()), key=lambda p: p.stat().st_mtime_ns)
    return RunFolder(newest)


@pytest.mark.slow
def test_calibrate_lowers_test_ece_of_a_deliberately_miscalibrated_model(tmp_path):
    """Balanced class weights at a small C push every score up; Platt scaling on val pulls them back."""
    data = make_tiny_dataset(tmp_path / "d", n=1500)
    home = tmp_path / "runs"
    flags = ("--C", "0.1", "--class-weight", "balanced")
    raw = _train(home, data, *flags)
    calibrated = _train(home, data, *flags, "--calibrate", "platt")
    before, after = raw.metrics["test"], calibrated.metrics["test"]
    assert before["ece"] > 0.15 and after["ece"] < before["ece"] / 2
    assert after["calibration"]["ece"] == {"before": pytest.approx(before["ece"]), "after": after["ece"]}
    assert after["calibration"]["brier"]["after"] < after["calibration"]["brier"]["before"]
    assert calibrated.metrics["calibration"]["method"] == "platt"
    with np.load(calibrated.path / "predictions_val_test.npz") as npz:
        # the saved scores are the calibrated ones; the model's own are kept beside them
        assert expected_calibration_error(npz["test_label"], npz["test_prob"]) == pytest.approx(after["ece"], abs=1e-4)
        np.testing.assert_allclose(npz["test_prob_raw"], np.load(raw.path / "predictions_val_test.npz")["test_prob"])
        assert npz["test_pos"].dtype == np.int64 and set(npz["test_chrom"]) == {"chr1"}
    assert "test_prob_raw" not in np.load(raw.path / "predictions_val_test.npz").files


@pytest.mark.slow
def test_threshold_by_context_and_bootstrap_settings_reach_metrics_json(tmp_path):
    data = make_tiny_dataset(tmp_path / "d", n=1500)
    home = tmp_path / "runs"
    m = _train(home, data, "--C", "1", "--threshold-by", "context", "--bootstrap", "150",
               "--bootstrap-block", "50000").metrics
    assert m["threshold_by"] == "context" and set(m["context_thresholds"]) == {"CG", "CHG", "CHH"}
    assert m["test"]["f1_at_threshold"] == m["test"]["at_thresholds"]["context"]["f1"]
    ci = m["test"]["ci"]
    assert (ci["n_resamples"], ci["block_bp"], ci["seed"]) == (150, 50_000, 0) and ci["approximate"] is True
    off = _train(home, data, "--C", "1", "--bootstrap", "0").metrics
    assert "ci" not in off["test"] and off["test"]["within_context"] and off["test"]["context_floor"]["auroc"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("bootstrap", -1, "--bootstrap must be 0"), ("bootstrap_block", 0, "--bootstrap-block must be at least 1"),
    ("calibrate", "beta", "--calibrate must be none, platt or isotonic"),
    ("threshold_by", "site", "--threshold-by must be global or context")])
def test_bad_evaluation_flags_are_refused_in_one_line(field, value, message):
    with pytest.raises(DnactxError, match=message):
        TrainConfig(**{field: value})


def test_bad_calibrate_on_the_command_line_is_a_usage_error(tiny_dataset, tmp_path, capsys):
    code, _, err = run_cli(["--home", str(tmp_path), "train", "--data", str(tiny_dataset), "--model", "lr",
                            "--calibrate", "beta"], capsys)
    assert code == ExitCode.USAGE and err.count("\n") == 1 and "--calibrate" in err


def test_runs_ls_sorts_by_within_context_and_interval_bounds(tmp_path, capsys):
    data = make_tiny_dataset(tmp_path / "d", n=1500)
    home = tmp_path / "runs"
    ids = [make_scored_run(home, data, ranked_scores(s, s, seed=i), name=f"r{i}") for i, s in enumerate((0.2, 2.0))]
    code, out, err = run_cli(["--home", str(home), "runs", "ls", "--sort", "val_within_auprc", "--json"], capsys)
    assert code == 0, err
    listed = json.loads(out)
    assert [r["id"] for r in listed] == ids[::-1]
    within = [r["metrics"]["val"]["within_context"]["auprc"] for r in listed]
    assert within == sorted(within, reverse=True)
    for name in ("test_auprc_lo", "test_context_floor_auroc", "val_within_auroc_hi"):
        code, _, err = run_cli(["--home", str(home), "runs", "ls", "--sort", name], capsys)
        assert code == 0, (name, err)
