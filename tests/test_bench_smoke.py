"""The GPU-facing benches run end to end on a toy size here, so a session lent a GPU spends its minutes measuring,
not debugging. (Timings are printed, never asserted.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the benches in child processes

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _run(*argv: str) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_gpu_bench_smoke_prints_both_rows():
    out = _run(str(BENCH / "gpu.py"), "--smoke")
    rows = [line for line in out.splitlines() if line.startswith("| 20")]
    assert len(rows) == 2 and "full fine-tune" in rows[0] and "frozen (encode once)" in rows[1]


def test_trainer_bench_runs_all_three_sides_and_the_frozen_repeat():
    out = _run(str(BENCH / "trainer.py"), "--n", "300", "--repeats", "1")
    for label in ("dnactx trainer", "transformers.Trainer", "bare torch loop", "ratio vs Trainer", "frozen train_run"):
        assert label in out


def test_bootstrap_bench_checks_equality_with_scikit_learn_and_prints_the_ratio():
    out = _run(str(BENCH / "bootstrap.py"), "--smoke")
    for label in ("equal to scikit-learn", "dnactx bootstrap_ci", "scikit-learn loop (scaled)", "ratio"):
        assert label in out


def test_lr_auto_bench_runs_both_searches_and_prints_the_ratio():
    out = _run(str(BENCH / "lr_auto.py"), "--smoke")
    for label in ("dnactx staged search", "full grid (phase 1, peer)", "ratio (full grid / staged fit time)"):
        assert label in out


def test_explain_bench_checks_batched_against_one_at_a_time_and_fast_against_plain_and_prints_the_ratios():
    out = _run(str(BENCH / "explain.py"), "--smoke")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "x |" in line]
    assert [r.split(" | ")[0] for r in rows] == ["| lr", "| lr (l2 scaling)", "| cnn", "| dnabert6-tiny"]
    # fast ISM where the family has it (lr, cnn); the transformer keeps the batched path only
    assert [r.split(" | ")[7].endswith("x") for r in rows] == [True, True, True, False]


def test_pretrain_bench_runs_both_sides_and_prints_the_ratio_accuracy_and_memory():
    out = _run(str(BENCH / "pretrain.py"), "--smoke")
    rows = [line for line in out.splitlines() if line.startswith("| dnactx pretrain") or line.startswith("| transf")]
    assert len(rows) == 2 and all(len(r.split(" | ")) == 9 for r in rows)
    for label in ("ratio (dnactx / Trainer tokens/s)", "held-out masked accuracy at equal wall time"):
        assert label in out
