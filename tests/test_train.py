"""``train_run`` and ``dnactx train`` end to end on the tiny dataset: every family, every loss, the run folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import cli_exit_code as cli
from sklearn.metrics import average_precision_score, roc_auc_score

from dnactx.errors import DnactxError, ExitCode
from dnactx.runs import RunFolder
from dnactx.train.config import TrainConfig
from dnactx.train.run import train_run

torch.set_num_threads(1)

RUN_FILES = {"config.json", "status.json", "metrics.json", "artifacts.json", "predictions_val_test.npz",
             "train_log.jsonl"}


def _train_sites(dataset) -> int:
    return int((pd.read_parquet(dataset, columns=["split"])["split"] == "train").sum())


def _run(tiny_dataset, home, **kw):
    kw.setdefault("size", 30)
    return train_run(TrainConfig(data=str(tiny_dataset), **kw), home, quiet=True)


@pytest.mark.slow
def test_lr_run_folder_metrics_and_registry(tiny_dataset, tmp_path):
    home = tmp_path / "runs"
    result = _run(tiny_dataset, home, model="lr", size=50)
    assert result["status"] == "completed"
    folder = RunFolder.open(home, result["run_id"])
    assert RUN_FILES | {"lr.safetensors"} <= {p.name for p in folder.path.iterdir()}
    config = folder.config
    assert config["family"] == "lr" and config["size"] == 50 and config["matrix"] is None
    assert config["dataset_fingerprint"] and config["window"] == 200 and config["versions"]["torch"]
    m = folder.metrics
    assert set(m) == {"val", "test", "threshold", "threshold_by", "context_thresholds", "by_context", "facts"}
    assert set(m["facts"]) == {"truncated_fraction", "best_epoch", "epochs_run", "train_seconds", "samples_per_s",
                               "train_sites", "converged", "n_iter", "lr"}
    assert m["facts"]["train_sites"] == _train_sites(tiny_dataset)
    assert set(m["by_context"]["test"]) == {"CG", "CHG", "CHH"}
    pred = np.load(folder.path / "predictions_val_test.npz")
    assert set(pred.files) == {f"{s}_{k}" for s in ("val", "test")
                               for k in ("prob", "label", "context", "index", "chrom", "pos", "mc", "cov")}
    # the metrics equal scikit-learn's on the saved arrays, and the rows point back into dataset.parquet
    assert m["test"]["auroc"] == pytest.approx(roc_auc_score(pred["test_label"], pred["test_prob"]), abs=1e-6)
    assert m["test"]["auprc"] == pytest.approx(average_precision_score(pred["test_label"], pred["test_prob"]),
                                               abs=1e-6)
    df = pd.read_parquet(tiny_dataset)
    assert (df["label"].to_numpy()[pred["val_index"]] == pred["val_label"]).all()
    assert (df["split"].to_numpy()[pred["test_index"]] == "test").all()
    assert m["test"]["auroc"] > 0.6  # context + motif are learnable
    from dnactx.registry import Registry

    row = Registry.open(home).run(result["run_id"])
    assert row["status"] == "completed" and row["metrics"]["test"]["auroc"] == pytest.approx(m["test"]["auroc"])


@pytest.mark.slow
def test_lr_caps_its_training_sites_unless_max_train_is_given(tiny_dataset, tmp_path, monkeypatch):
    import dnactx.train.config as config_module

    monkeypatch.setattr(config_module, "LR_DEFAULT_MAX_TRAIN", 100)
    home = tmp_path / "runs"
    capped = _run(tiny_dataset, home, model="lr", size=20)
    assert capped["metrics"]["facts"]["train_sites"] == 100
    assert RunFolder.open(home, capped["run_id"]).config["max_train_effective"] == 100
    chosen = _run(tiny_dataset, home, model="lr", size=20, max_train=250)
    assert chosen["metrics"]["facts"]["train_sites"] == 250


@pytest.mark.slow
def test_cnn_loss_falls_and_weights_are_safetensors(tiny_dataset, tmp_path):
    result = _run(tiny_dataset, tmp_path, model="cnn", epochs=4, patience=4, batch_size=32)
    folder = RunFolder.open(tmp_path, result["run_id"])
    log = [json.loads(line) for line in (folder.path / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 4 and log[-1]["train_loss"] < log[0]["train_loss"]
    from safetensors.torch import load_file

    assert any(k.startswith("head.") for k in load_file(str(folder.path / "model.safetensors")))
    facts = result["metrics"]["facts"]
    assert facts["best_epoch"] in range(1, 5) and facts["epochs_run"] == 4
    assert facts["train_sites"] == _train_sites(tiny_dataset)  # every family records it


@pytest.mark.slow
@pytest.mark.parametrize("finetune,loss", [("frozen", "bce"), ("top:1", "weighted"), ("full", "focal")])
def test_dnabert6_tiny_finetune_modes_and_losses(tiny_dataset, tmp_path, finetune, loss):
    result = _run(tiny_dataset, tmp_path, model="dnabert6-tiny", finetune=finetune, loss=loss, epochs=2)
    m = result["metrics"]
    assert result["status"] == "completed" and m["facts"]["epochs_run"] == 2
    folder = RunFolder.open(tmp_path, result["run_id"])
    pred = np.load(folder.path / "predictions_val_test.npz")  # the metrics are those of the saved predictions
    assert m["test"]["auroc"] == pytest.approx(roc_auc_score(pred["test_label"], pred["test_prob"]), abs=1e-6)
    assert m["facts"]["truncated_fraction"] == 0.0 and m["facts"]["train_sites"] == _train_sites(tiny_dataset)
    if finetune == "frozen":
        assert m["facts"]["cache_hit"] is False
    else:
        assert "cache_hit" not in m["facts"]
    config = folder.config
    assert config["family"] == "transformer" and config["tokenizer"] == "KmerTokenizer"
    if loss == "weighted":
        assert m["facts"]["pos_weight_used"] > 1


@pytest.mark.slow
def test_early_stopping_stops_after_patience(tiny_dataset, tmp_path):
    result = _run(tiny_dataset, tmp_path, model="dnabert6-tiny", epochs=30, patience=1, head_lr=1e-5)
    facts = result["metrics"]["facts"]
    assert facts["epochs_run"] == facts["best_epoch"] + 1 < 30


@pytest.mark.slow
def test_truncation_is_recorded(tmp_path):
    from conftest import make_tiny_dataset

    data = make_tiny_dataset(tmp_path / "wide", n=60, window=1100)
    result = train_run(TrainConfig(data=str(data), model="dnabert6-tiny", size=550, epochs=1), tmp_path / "runs",
                       quiet=True)
    assert result["metrics"]["facts"]["truncated_fraction"] == 1.0


@pytest.mark.slow
def test_cli_prints_run_id_last_and_the_folder_and_json_has_both(tiny_dataset, tmp_path, capsys):
    home = tmp_path / "runs"
    assert cli("train", "--data", str(tiny_dataset), "--model", "lr", "--size", "20", "--home", str(home)) == 0
    out, err = capsys.readouterr()
    run_id = out.strip().splitlines()[-1]
    folder = RunFolder.open(home, run_id)
    assert folder.status["status"] == "completed" and f"run folder: {folder.path.resolve()}" in err
    assert cli("--home", str(home), "train", "--data", str(tiny_dataset), "--model", "cnn", "--size", "20",
               "--epochs", "1", "--no-site-context", "--json", "-q") == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"run_id", "folder", "status", "metrics"} and result["status"] == "completed"
    assert result["folder"] == str((home / result["run_id"]).resolve())
    assert result["metrics"] == RunFolder.open(home, result["run_id"]).metrics


def test_user_errors_are_one_line(tiny_dataset, tmp_path, capsys):
    assert cli("--home", str(tmp_path), "train", "--data", str(tiny_dataset), "--model", "lr",
               "--size", "500") == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "window 200" in err and err.count("\n") == 1
    with pytest.raises(DnactxError, match="--loss"):
        TrainConfig(loss="hinge")
