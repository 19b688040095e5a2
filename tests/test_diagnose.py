"""diagnose: the rules on hand-made score sets, and the command on real run folders recorded in a registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from dnactx.analysis.diagnose import build_evidence, diagnose
from dnactx.metrics import best_f1_threshold, evaluate
from dnactx.provenance import library_versions, sha256_file
from dnactx.registry import record_run
from dnactx.runs import RunFolder
from dnactx.train.config import TrainConfig

TRANSFORMER = {"model": "zhihan1996/DNA_bert_6", "family": "transformer", "finetune": "frozen", "size": 100,
               "mode": "both", "data": "data/dataset.parquet", "epochs": 5, "patience": 2, "loss": "bce",
               "site_context": True}


def _codes(d: dict) -> list[str]:
    return [f["code"] for f in d["findings"]]


def _diagnose_arrays(yv, pv, yt, pt, config=TRANSFORMER, **kw) -> dict:
    t = best_f1_threshold(yv, pv)
    return diagnose(build_evidence(threshold=t, val=(yv, pv), test=(yt, pt), config=config, **kw))


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


@pytest.mark.parametrize(("extra", "config", "baseline", "code", "flags"), [
    ({"truncated_fraction": 0.4}, {"size": 1000}, None, "truncation", "--size 500"),
    ({"best_epoch": 5, "epochs_run": 5}, {"epochs": 5}, None, "still_improving", "--epochs 10 --patience 3"),
    ({"train": {"auprc": 1.0}}, {"model": "lr", "family": "lr", "C": 1.0}, None, "overfitting", "--C 0.1"),
    ({}, {}, {"id": "lr1", "name": "lr", "metrics": {"val": {"auprc": 0.999}, "test": {"auprc": 0.999}}},
     "below_baseline", "--finetune top:2"),
])
def test_rule_findings_cite_figures_and_give_flags(extra, config, baseline, code, flags):
    m = _metrics_only(**extra)
    d = diagnose(build_evidence(threshold=m["threshold"], metrics=m, config={**TRANSFORMER, **config},
                                baseline=baseline))
    assert code in _codes(d)
    finding = next(f for f in d["findings"] if f["code"] == code)
    assert any(ch.isdigit() for ch in finding["evidence"])
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
def make_run(home: Path, dataset: Path, scores, *, name: str, model: str = "zhihan1996/DNA_bert_6",
             size: int = 100, mode: str = "both", finetune: str = "frozen", seed: int = 0,
             matrix: str | None = None, extra_metrics: dict | None = None) -> str:
    """A completed run folder as train_run writes it, with predictions ``scores(split, labels, contexts)``."""
    df = pd.read_parquet(dataset, columns=["label", "context", "split"])
    cfg = TrainConfig(data=str(dataset), model=model, size=size, mode=mode, finetune=finetune, seed=seed, name=name)
    config = {**cfg.to_dict(), "family": cfg.family, "dataset_fingerprint": sha256_file(dataset), "window": 200,
              "versions": library_versions(), "device": "cpu", "matrix": matrix,
              "cell": {"model": model, "size": size, "mode": mode} if matrix else None}
    folder = RunFolder.create(home, config, name=name, matrix=matrix)
    folder.set_status("running")
    arrays = {}
    for split in ("val", "test"):
        index = np.flatnonzero(df["split"].to_numpy() == split)
        y = df["label"].to_numpy()[index].astype(int)
        ctx = df["context"].to_numpy()[index].astype(str)
        arrays.update({f"{split}_prob": scores(split, y, ctx), f"{split}_label": y, f"{split}_context": ctx,
                       f"{split}_index": index})
    metrics = evaluate(arrays["val_label"], arrays["val_prob"], arrays["test_label"], arrays["test_prob"],
                       arrays["val_context"], arrays["test_context"])
    metrics.update({"truncated_fraction": 0.0, "best_epoch": 1, "epochs_run": 3, **(extra_metrics or {})})
    np.savez(folder.path / "predictions_val_test.npz", **arrays)
    folder.write_metrics(metrics)
    folder.set_status("completed")
    assert record_run(home, folder)
    return folder.id


def flat_scores(seed: int = 0):
    rng = np.random.default_rng(seed)
    return lambda split, y, ctx: 0.51 + rng.normal(0, 0.01, y.size)


def ranked_scores(strength_val: float, strength_test: float, seed: int = 0):
    rng = np.random.default_rng(seed)

    def scores(split, y, ctx):
        s = strength_val if split == "val" else strength_test
        return 1 / (1 + np.exp(-(rng.normal(0, 1, y.size) + s * (2 * y - 1))))
    return scores


def test_diagnose_command_json_plots_and_saved_file(tmp_path, tiny_dataset, capsys):
    home = tmp_path / "runs"
    run_id = make_run(home, tiny_dataset, flat_scores(), name="flat")
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
    run_id = make_run(home, tiny_dataset, ranked_scores(2.0, 2.0), name="good")
    tiny_dataset.unlink()
    code, out, err = run_cli(["--home", str(home), "diagnose", run_id, "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["by_repeat"] == {} and any("is gone" in n for n in d["notes"])


def test_diagnose_unknown_run_is_one_line_error(tmp_path, capsys):
    code, out, err = run_cli(["--home", str(tmp_path / "runs"), "diagnose", "zzzz"], capsys)
    assert code != 0 and err.startswith("error:") and "Traceback" not in err


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
