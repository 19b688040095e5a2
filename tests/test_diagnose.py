"""diagnose: the rules on hand-made score sets, and the command on real run folders recorded in a registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import flat_scores, make_scored_run, ranked_scores, run_cli

from dnactx.analysis.diagnose import diagnose
from dnactx.analysis.evidence import SplitScores, build_evidence
from dnactx.errors import ExitCode
from dnactx.metrics import best_f1_threshold, evaluate
from dnactx.train.config import TrainConfig

TRANSFORMER = {"model": "zhihan1996/DNA_bert_6", "family": "transformer", "finetune": "frozen", "size": 100,
               "mode": "both", "data": "data/dataset.parquet", "epochs": 5, "patience": 2, "loss": "bce",
               "site_context": True}


def _codes(d: dict) -> list[str]:
    return [f["code"] for f in d["findings"]]


def _diagnose_arrays(yv, pv, yt, pt, config=TRANSFORMER, val_context=None, test_context=None) -> dict:
    t = best_f1_threshold(yv, pv)
    scores = {"val": SplitScores(yv, pv, val_context), "test": SplitScores(yt, pt, test_context)}
    return diagnose(build_evidence(threshold=t, scores=scores, config=config))


def _labels(rng, n=4000, rate=0.024):
    return (rng.random(n) < rate).astype(int)


def test_constant_near_half_scores_find_no_separation():
    rng = np.random.default_rng(1)
    yv, yt = _labels(rng), _labels(rng)
    d = _diagnose_arrays(yv, 0.51 + rng.normal(0, 0.01, yv.size), yt, 0.51 + rng.normal(0, 0.01, yt.size))
    assert _codes(d)[0] == "no_separation"
    assert "threshold_calibration" not in _codes(d)
    finding = d["findings"][0]
    assert "scores concentrated near 0.51: std 0.010" in finding["evidence"]
    assert "mean probability 0.51 for positives vs 0.51 for negatives" in finding["evidence"]
    assert "not calibration" in d["verdict"]
    # A frozen transformer that separates nothing should first be unfrozen.
    assert d["remedies"][0]["flags"] == "--finetune top:2"
    assert "--finetune top:2" in d["remedies"][0]["command"]
    assert any(r["flags"] == "--epochs 10 --patience 3" for r in d["remedies"])


def test_well_ranked_but_miscalibrated_finds_threshold_calibration():
    rng = np.random.default_rng(2)
    yv, yt = _labels(rng), _labels(rng)

    def scores(y):  # good ranking, but almost every site above 0.5 (what a pos_weight-trained model does)
        return 1 / (1 + np.exp(-(rng.normal(0, 1, y.size) + 3 * y + 0.8)))

    pv, pt = scores(yv), scores(yt)
    d = _diagnose_arrays(yv, pv, yt, pt, config={**TRANSFORMER, "loss": "weighted"})
    assert _codes(d)[0] == "threshold_calibration"
    assert "no_separation" not in _codes(d)
    f = d["findings"][0]
    assert f["figures"]["auroc"] > 0.9 and f["figures"]["pred_pos_rate_at_0_5"] > 0.5
    assert "well ranked (test AUROC" in f["evidence"] and "vs base rate 2." in f["evidence"]
    assert d["remedies"][0]["key"] == "threshold" and d["remedies"][0]["flags"] is None
    assert any(r["flags"] == "--loss bce" for r in d["remedies"])
    assert d["test"]["f1_at_threshold"] > d["test"]["f1_at_0_5"] + 0.2


def test_rules_work_from_metrics_json_alone():
    rng = np.random.default_rng(3)
    yv, yt = _labels(rng), _labels(rng)
    m = evaluate(yv, 0.5 + rng.normal(0, 0.004, yv.size), yt, 0.5 + rng.normal(0, 0.004, yt.size))
    d = diagnose(build_evidence(threshold=m["threshold"], metrics=m, config=TRANSFORMER))
    assert d["source"] == "metrics" and "no_separation" in _codes(d)


def test_context_only_ranking_and_dominant_context():
    rng = np.random.default_rng(4)
    n = 6000
    ctx = rng.choice(["CG", "CHG", "CHH"], size=n, p=[0.3, 0.2, 0.5])
    y = (rng.random(n) < np.where(ctx == "CG", 0.5, 0.03)).astype(int)
    p = np.where(ctx == "CG", 0.6, 0.1) + rng.normal(0, 0.01, n)  # knows the context, nothing else
    half = n // 2
    d = _diagnose_arrays(y[:half], p[:half], y[half:], p[half:], val_context=ctx[:half], test_context=ctx[half:])
    codes = _codes(d)
    assert "context_only" in codes and "context_dominance" in codes
    dominance = next(f for f in d["findings"] if f["code"] == "context_dominance")
    assert dominance["title"] == "CG carries the signal"


def _metrics_only(**extra) -> dict:
    rng = np.random.default_rng(5)
    yv, yt = _labels(rng, rate=0.2), _labels(rng, rate=0.2)
    m = evaluate(yv, np.clip(0.2 + 0.5 * yv + rng.normal(0, 0.3, yv.size), 0, 1),
                 yt, np.clip(0.2 + 0.5 * yt + rng.normal(0, 0.3, yt.size), 0, 1))
    return {**m, **extra}


@pytest.mark.parametrize(("extra", "config", "baseline", "code", "evidence", "flags"), [
    ({"facts": {"truncated_fraction": 0.4}}, {"size": 1000}, None, "truncation",
     lambda m: "40% of inputs were cut to the model's maximum length (--size 1000)", "--size 500"),
    ({"facts": {"best_epoch": 5, "epochs_run": 5}}, {"epochs": 5}, None, "still_improving",
     lambda m: "best val AUPRC at epoch 5 of 5 (the maximum, --epochs 5)", "--epochs 10 --patience 3"),
    ({"train": {"auprc": 1.0}}, {"model": "lr", "family": "lr", "C": 1.0}, None, "overfitting",
     lambda m: f"train AUPRC 1.00 vs val {m['val']['auprc']:.2f} (gap {1 - m['val']['auprc']:.2f})", "--C 0.1"),
    ({}, {}, {"id": "lr1", "name": "lr", "metrics": {"val": {"auprc": 0.999}, "test": {"auprc": 0.999}}},
     "below_baseline", lambda m: f"val AUPRC {m['val']['auprc']:.2f} vs 1.00 for baseline lr", "--finetune top:2"),
])
def test_rule_findings_cite_figures_and_give_flags(extra, config, baseline, code, evidence, flags):
    m = _metrics_only(**extra)
    d = diagnose(build_evidence(threshold=m["threshold"], metrics=m, config={**TRANSFORMER, **config},
                                baseline=baseline))
    assert code in _codes(d)
    finding = next(f for f in d["findings"] if f["code"] == code)
    assert evidence(m) in finding["evidence"]  # the figures of this run, not just any number
    assert flags in [r["flags"] for r in d["remedies"]]


def test_remedy_commands_are_valid_train_configs():
    rng = np.random.default_rng(6)
    yv, yt = _labels(rng), _labels(rng)
    d = _diagnose_arrays(yv, 0.5 + rng.normal(0, 0.01, yv.size), yt, 0.5 + rng.normal(0, 0.01, yt.size),
                         config={**TRANSFORMER, "site_context": False})
    assert any(r["key"] == "site_context" and r["flags"] == "--site-context" for r in d["remedies"])
    for r in d["remedies"]:
        if r["command"]:
            args = r["command"].split()[2:]
            values = {}
            for flag, v in zip(args[::2], args[1::2], strict=False):
                if flag.startswith("--") and not v.startswith("--"):
                    values[flag[2:].replace("-", "_")] = v
            TrainConfig.from_dict({k: (int(v) if v.isdigit() else v) for k, v in values.items()})


# -- the command, on real run folders ------------------------------------------------------------------------
def test_diagnose_command_json_plots_and_saved_file(tmp_path, tiny_dataset, capsys):
    home = tmp_path / "runs"
    run_id = make_scored_run(home, tiny_dataset, flat_scores(), name="flat")
    code, out, err = run_cli(["--home", str(home), "diagnose", run_id[:20], "--json", "--plots",
                               str(tmp_path / "plots")], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["run"]["id"] == run_id and "no_separation" in _codes(d)
    assert set(d["by_repeat"]["test"]) == {"repeat", "non_repeat"}
    assert set(d["by_context"]["test"]) <= {"CG", "CHG", "CHH"}
    saved = json.loads((home / run_id / "diagnosis.json").read_text())
    assert saved["verdict"] == d["verdict"]
    for png in ("reliability.png", "pr.png", "roc.png", "score_hist.png", "threshold_sweep.png"):
        assert (tmp_path / "plots" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    code, out, err = run_cli(["--home", str(home), "diagnose", run_id], capsys)
    assert code == 0, err
    assert "Verdict:" in out and "no separation" in out and "--finetune top:2" in out


def test_diagnose_without_dataset_says_so_and_skips_repeat(tmp_path, tiny_dataset, capsys):
    home = tmp_path / "runs"
    run_id = make_scored_run(home, tiny_dataset, ranked_scores(2.0, 2.0), name="good")
    tiny_dataset.unlink()
    code, out, err = run_cli(["--home", str(home), "diagnose", run_id, "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["by_repeat"] == {} and any("is gone" in n for n in d["notes"])


def test_diagnose_unknown_run_is_one_line_error(tmp_path, tiny_dataset, capsys):
    home = tmp_path / "runs"
    make_scored_run(home, tiny_dataset, flat_scores(), name="flat")
    code, out, err = run_cli(["--home", str(home), "diagnose", "zzzz"], capsys)
    assert (code, out) == (ExitCode.USAGE, "") and err.count("\n") == 1
    assert err.startswith(f"error: no run matches 'zzzz' in {home.resolve()}: is that the right --home?")


def test_calibrated_rare_positives_need_only_the_tuned_threshold():
    rng = np.random.default_rng(7)

    def draw(n=20000):
        q = 1 / (1 + np.exp(-rng.normal(-4.8, 1.5, n)))  # calibrated by construction: y ~ Bernoulli(q)
        return (rng.random(n) < q).astype(int), q

    (yv, pv), (yt, pt) = draw(), draw()
    d = _diagnose_arrays(yv, pv, yt, pt)
    f = next(f for f in d["findings"] if f["code"] == "threshold_calibration")
    assert "and calibrated" in f["evidence"] and "wrong cut" in f["evidence"]
    assert [r["key"] for r in d["remedies"]] == ["threshold"]
