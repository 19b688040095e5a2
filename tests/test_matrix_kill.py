"""Interrupted matrices: a real kill after the first cell, and a SIGTERM preemption, then the same command again."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import cli_exit_code as cli

from dnactx.errors import ExitCode
from dnactx.matrix.session import run_matrix
from dnactx.matrix.spec import build_spec
from dnactx.registry import Registry
from dnactx.runs import iter_run_folders

pytestmark = pytest.mark.slow  # kills and reruns matrices that train


def _completed(summary: Path) -> list[dict]:
    try:
        with open(summary, newline="") as fh:
            return [r for r in csv.DictReader(fh) if r["status"] == "completed"]
    except FileNotFoundError:
        return []


def test_kill_after_first_cell_then_rerun_trains_only_the_rest(tiny_dataset, tmp_path):
    home = tmp_path / "home"
    argv = [sys.executable, "-m", "dnactx", "--home", str(home), "matrix", "--data", str(tiny_dataset),
            "--sizes", "10,20,30", "--modes", "up,down", "--model", "lr", "--baseline", "none", "--name", "k", "-q"]
    summary = home / "matrices" / "k" / "context_matrix_summary.csv"
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not _completed(summary) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # like the OOM killer or a lost node: no chance to clean up
    finally:
        proc.wait(timeout=60)
    done_before = {r["cell"]: r["run_id"] for r in _completed(summary)}
    assert 1 <= len(done_before) < 6, "the kill should land after the first cell and before the last"

    rerun = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{6 - len(done_before)} trained, {len(done_before)} already complete" in rerun.stderr
    after = {r["cell"]: r["run_id"] for r in _completed(summary)}
    assert len(after) == 6
    assert all(after[cell] == run_id for cell, run_id in done_before.items())  # not retrained
    runs = Registry.open(home).runs(matrix="k")
    completed = [r for r in runs if r["status"] == "completed"]
    assert len(completed) == 6  # one completed run per cell: nothing trained twice
    # A cell that was mid-training when killed is left 'running'; the re-run marks it failed and retrains.
    assert {r["status"] for r in runs} <= {"completed", "failed"}
    assert len(list(iter_run_folders(home))) in (6, 7)


def _tiny_transformer_grid(tiny_dataset: Path, sizes: str, name: str):
    """A grid of dnabert6-tiny cells, full fine-tune, 2 epochs of 4 steps: SIGTERM at step 3 lands in epoch 1."""
    import torch

    torch.set_num_threads(1)
    return build_spec(tiny_dataset, {"model": "dnabert6-tiny", "size": sizes, "mode": "up", "finetune": "full",
                                     "epochs": "2", "batch_size": "16", "max_train": "64"}, name=name,
                      baseline="none")


def test_sigterm_preempts_a_cell_and_the_rerun_resumes_it(tiny_dataset, tmp_path, sigterm_at_step, capsys):
    """SLURM's time-limit SIGTERM: the trainer checkpoints, the matrix stops, the next run continues that run."""
    from dnactx.train import loop

    home = tmp_path / "home"
    spec = _tiny_transformer_grid(tiny_dataset, "20,30", "p")
    sigterm_at_step(3)
    first = run_matrix(spec, home, quiet=True)
    assert [(o.index, o.status) for o in first.outcomes] == [(0, "preempted")]  # cell 1 never started
    preempted = first.outcomes[0].run_id
    assert [r["status"] for r in first.rows] == ["preempted", "pending"]
    # The same stop through the command line: exit 4 (PREEMPTED), one line saying how to go on.
    sigterm_at_step(3)
    code = cli("--home", str(tmp_path / "cli"), "matrix", "--data", str(tiny_dataset), "--model", "dnabert6-tiny",
               "--sizes", "20,30", "--modes", "up", "--finetune", "full", "--epochs", "2", "--batch-size", "16",
               "--max-train", "64", "--name", "p", "--baseline", "none", "-q")
    assert code == ExitCode.PREEMPTED
    assert "re-run the same command to resume it" in capsys.readouterr().err

    loop.STEP_HOOKS.clear()
    second = run_matrix(spec, home, quiet=True)
    assert [(o.index, o.status, o.resumed) for o in second.outcomes] == [(0, "completed", True),
                                                                         (1, "completed", False)]
    assert second.outcomes[0].run_id == preempted and second.rows[0]["run_id"] == preempted
    assert len(list(iter_run_folders(home))) == 2


def test_a_cell_killed_after_a_checkpoint_is_resumed_not_retrained(tiny_dataset, tmp_path, sigterm_at_step):
    """kill -9 (a lost node, the OOM killer) after the trainer checkpointed leaves the run 'running': the next
    matrix, holding the cell's lock, settles it interrupted (as `runs sync` would) and continues it from the
    checkpoint, rather than marking it failed and training the cell again from scratch."""
    from dnactx.runs import RunFolder
    from dnactx.train import loop

    home = tmp_path / "home"
    spec = _tiny_transformer_grid(tiny_dataset, "20", "k9")
    sigterm_at_step(3)
    [stopped] = run_matrix(spec, home, quiet=True).outcomes
    folder = next(f for f in iter_run_folders(home) if f.id == stopped.run_id)
    assert (folder.path / "checkpoint" / "state.json").is_file()
    RunFolder(folder.path).set_status("running")  # what a kill -9 after the checkpoint leaves behind

    loop.STEP_HOOKS.clear()
    [again] = run_matrix(spec, home, quiet=True).outcomes
    assert (again.status, again.resumed, again.run_id) == ("completed", True, stopped.run_id)
    assert len(list(iter_run_folders(home))) == 1
