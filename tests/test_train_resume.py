"""SIGTERM mid-epoch saves a checkpoint and marks the run preempted; --resume ends where an uninterrupted run does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import cli_exit_code as cli

from dnactx.errors import DnactxError, ExitCode
from dnactx.inference import Calibration, load_scorer
from dnactx.runs import RunFolder
from dnactx.train import loop
from dnactx.train.config import TrainConfig
from dnactx.train.run import train_run

pytestmark = pytest.mark.slow  # every test trains a model

torch.set_num_threads(1)


@pytest.mark.parametrize("model,finetune", [("cnn", "top:1"), ("dnabert6-tiny", "top:1"), ("dnabert6-tiny", "lora:4")])
def test_preempted_run_resumes_to_the_same_metrics(tiny_dataset, tmp_path, sigterm_at_step, capsys, model, finetune):
    config = TrainConfig(data=str(tiny_dataset), model=model, size=30, epochs=3, patience=3, batch_size=32,
                         finetune=finetune)
    reference = train_run(config, tmp_path / "ref", quiet=True)
    # 356 training sites / 32 = 12 steps per epoch: stop in the middle of epoch 2
    sigterm_at_step(17)
    home = tmp_path / "runs"
    code = cli("--home", str(home), "train", "--data", str(tiny_dataset), "--model", model, "--size", "30",
               "--epochs", "3", "--patience", "3", "--batch-size", "32", "--finetune", finetune, "-q")
    assert code == ExitCode.PREEMPTED  # the run id is still the last line of stdout
    run_id = capsys.readouterr().out.strip().splitlines()[-1]
    folder = RunFolder.open(home, run_id)
    assert folder.status["status"] == "preempted" and (folder.path / "checkpoint" / "state.json").is_file()
    assert folder.metrics is None and TrainConfig.from_dict(folder.config) == config
    loop.STEP_HOOKS.clear()
    assert cli("--home", str(home), "train", "--resume", run_id[:20], "-q") == 0  # by unique prefix
    assert capsys.readouterr().out.strip() == run_id
    assert folder.status["status"] == "completed" and not (folder.path / "checkpoint").exists()
    resumed = folder.metrics
    for split in ("val", "test"):
        for key in ("auroc", "auprc", "f1_at_threshold", "brier"):
            assert resumed[split][key] == pytest.approx(reference["metrics"][split][key], abs=1e-6)
    ref_pred = np.load(tmp_path / "ref" / reference["run_id"] / "predictions_val_test.npz")
    new_pred = np.load(folder.path / "predictions_val_test.npz")
    np.testing.assert_allclose(new_pred["test_prob"], ref_pred["test_prob"], atol=1e-6)
    assert resumed["facts"]["epochs_run"] == reference["metrics"]["facts"]["epochs_run"] == 3


def test_resume_refuses_completed_runs(tiny_dataset, tmp_path):
    done = train_run(TrainConfig(data=str(tiny_dataset), model="cnn", size=20, epochs=1), tmp_path, quiet=True)
    with pytest.raises(DnactxError, match="already completed"):
        train_run(TrainConfig(), tmp_path, resume=done["run_id"], quiet=True)


def test_run_id_file_resumes_its_preempted_run_then_has_nothing_to_do(tiny_dataset, tmp_path, sigterm_at_step,
                                                                      capsys):
    """What a `submit train` job does when SLURM requeues it: the same command line continues the same run (and,
    calibrated, ends with the calibration.json that scoring applies)."""
    home, id_file = tmp_path / "runs", tmp_path / "job" / "train.sbatch.run-id"
    args = ["--home", str(home), "train", "--data", str(tiny_dataset), "--model", "cnn", "--size", "30", "--epochs",
            "2", "--batch-size", "32", "--calibrate", "platt", "-q", "--run-id-file", str(id_file)]
    sigterm_at_step(5)
    assert cli(*args) == ExitCode.PREEMPTED
    run_id = id_file.read_text().strip()
    assert capsys.readouterr().out.strip().splitlines()[-1] == run_id
    assert not (home / run_id / "calibration.json").exists()
    loop.STEP_HOOKS.clear()
    assert cli(*args) == 0
    out, err = capsys.readouterr()
    assert out.strip() == run_id and f"resuming run {run_id}" in err
    folder = RunFolder.open(home, run_id)
    assert folder.status["status"] == "completed"
    fitted = folder.metrics["calibration"]
    assert load_scorer(folder.path, device="cpu").recipe.calibration == Calibration(
        "platt", slope=fitted["slope"], intercept=fitted["intercept"])
    assert (folder.path / "calibration.json").is_file()
    assert cli(*args) == 0  # a third start (the job submitted again): nothing to train
    assert "already completed; nothing to train" in capsys.readouterr().err
    assert [p.name for p in home.iterdir() if (p / "status.json").is_file()] == [run_id]
