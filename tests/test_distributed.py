"""`torchrun --nproc_per_node 2 -m dnactx train` on CPU (gloo): one run folder written by rank 0, every site
predicted once, and the built-in model built once (transformers saves nothing on ranks other than 0)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_toydna_checkpoint

from dnactx.data.dataset import load_dataset

pytestmark = pytest.mark.slow  # every test runs torchrun with two processes


def _torchrun(home: Path, command: str, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "dnactx", "--home", str(home), command, *argv, "-q"]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize("finetune", ["full", "frozen"])
def test_two_process_training_writes_one_complete_run(tiny_dataset, tmp_path, finetune):
    home = tmp_path / "home"
    proc = _torchrun(home, "train", "--data", str(tiny_dataset), "--model", "dnabert6-tiny", "--size", "20",
                     "--finetune", finetune, "--epochs", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_ids = [line for line in proc.stdout.split() if line]
    assert len(run_ids) == 1  # rank 0 speaks for the run
    runs = [p for p in home.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert [p.name for p in runs] == run_ids
    run = runs[0]
    config = json.loads((run / "config.json").read_text())
    assert config["num_processes"] == 2
    ds = load_dataset(tiny_dataset, 20, "both")
    pred = np.load(run / "predictions_val_test.npz")
    for split in ("val", "test"):
        # gather_for_metrics drops the padding a distributed loader adds: each site once, in dataset order
        assert len(pred[f"{split}_prob"]) == len(ds.splits[split]) == len(np.unique(pred[f"{split}_index"]))
    assert json.loads((run / "status.json").read_text())["status"] == "completed"


def test_two_process_training_with_checkpoint_code(tiny_dataset, tmp_path):
    toy = make_toydna_checkpoint(tmp_path / "toydna")
    proc = _torchrun(tmp_path / "home", "train", "--data", str(tiny_dataset), "--model", str(toy),
                     "--trust-remote-code", "--size", "20", "--finetune", "full", "--epochs", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_two_process_matrix_trains_lr_on_rank_zero_alone(tiny_dataset, tmp_path):
    """lr is one scikit-learn fit: rank 0 runs it without collectives, while the other rank has moved on."""
    home = tmp_path / "home"
    proc = _torchrun(home, "matrix", "--data", str(tiny_dataset), "--model", "dnabert6-tiny", "--sizes", "20",
                     "--modes", "up", "--epochs", "1", "--name", "dm")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["dm"]  # only rank 0 reports
    with open(home / "matrices" / "dm" / "context_matrix_summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["completed", "completed"]  # the cell, then the lr baseline


def test_two_process_lr_train_is_one_run_by_rank_zero(tiny_dataset, tmp_path):
    home = tmp_path / "home"
    proc = _torchrun(home, "train", "--data", str(tiny_dataset), "--model", "lr", "--size", "20")
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_ids = proc.stdout.split()
    assert len(run_ids) == 1 and (home / run_ids[0] / "metrics.json").is_file()


def test_sigterm_on_one_rank_preempts_all_and_resume_completes(tiny_dataset, tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                           "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(Path(__file__).parent / "helpers" / "preempt_rank1.py"), "--home", str(home), "train",
           "--data", str(tiny_dataset), "--model", "dnabert6-tiny", "--size", "20", "--finetune", "full",
           "--epochs", "2", "--patience", "2", "-q"]
    stopped = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    runs = [p for p in home.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(runs) == 1, stopped.stderr[-3000:]
    status = json.loads((runs[0] / "status.json").read_text())
    assert status["status"] == "preempted", stopped.stderr[-3000:]
    assert (runs[0] / "checkpoint").is_dir()
    proc = _torchrun(home, "train", "--resume", runs[0].name)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((runs[0] / "status.json").read_text())["status"] == "completed"
    assert json.loads((runs[0] / "metrics.json").read_text())["facts"]["epochs_run"] == 2


def test_predictions_gathered_from_two_processes_are_in_dataset_order(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                           "MASTER_PORT")}
    out = tmp_path / "pred.npy"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(Path(__file__).parent / "helpers" / "predict_order.py"), str(out)],
                          capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(out) * 1000.0, np.arange(1, 102), rtol=1e-4)
