"""SIGTERM mid-epoch saves a checkpoint and marks the run preempted; --resume ends where an uninterrupted run does."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch

from dnactx.cli import main
from dnactx.errors import DnactxError
from dnactx.runs import RunFolder
from dnactx.train import loop
from dnactx.train.config import TrainConfig
from dnactx.train.run import train_run

torch.set_num_threads(1)


@pytest.fixture
def sigterm_at_step(monkeypatch):
    """Send this process a real SIGTERM after optimiser step ``n`` (once)."""
    def install(n: int) -> None:
        fired = []

        def hook(step: int) -> None:
            if step == n and not fired:
                fired.append(step)
                os.kill(os.getpid(), signal.SIGTERM)

        monkeypatch.setattr(loop, "STEP_HOOKS", [hook])
    return install


@pytest.mark.parametrize("model", ["cnn", "dnabert6-tiny"])
def test_preempted_run_resumes_to_the_same_metrics(tiny_dataset, tmp_path, sigterm_at_step, capsys, model):
    config = TrainConfig(data=str(tiny_dataset), model=model, size=30, epochs=3, patience=3, batch_size=32,
                         finetune="top:1")
    reference = train_run(config, tmp_path / "ref", quiet=True)
    # 356 training sites / 32 = 12 steps per epoch: stop in the middle of epoch 2
    sigterm_at_step(17)
    home = tmp_path / "runs"
    stopped = train_run(config, home, quiet=True)
    assert stopped["status"] == "preempted" and stopped["metrics"] is None
    folder = RunFolder.open(home, stopped["run_id"])
    assert folder.status["status"] == "preempted" and (folder.path / "checkpoint" / "state.json").is_file()
    loop.STEP_HOOKS.clear()
    with pytest.raises(SystemExit) as exc:  # the CLI path, by unique prefix
        main(["--home", str(home), "train", "--resume", stopped["run_id"][:20], "-q"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == stopped["run_id"]
    assert folder.status["status"] == "completed" and not (folder.path / "checkpoint").exists()
    resumed = folder.metrics
    for split in ("val", "test"):
        for key in ("auroc", "auprc", "f1_at_threshold", "brier"):
            assert resumed[split][key] == pytest.approx(reference["metrics"][split][key], abs=1e-6)
    ref_pred = np.load(tmp_path / "ref" / reference["run_id"] / "predictions_val_test.npz")
    new_pred = np.load(folder.path / "predictions_val_test.npz")
    np.testing.assert_allclose(new_pred["test_prob"], ref_pred["test_prob"], atol=1e-6)
    assert resumed["epochs_run"] == reference["metrics"]["epochs_run"] == 3


def test_resume_refuses_completed_runs(tiny_dataset, tmp_path):
    done = train_run(TrainConfig(data=str(tiny_dataset), model="cnn", size=20, epochs=1), tmp_path, quiet=True)
    with pytest.raises(DnactxError, match="already completed"):
        train_run(TrainConfig(), tmp_path, resume=done["run_id"], quiet=True)
