"""bench/predict.py runs end to end on its smoke size: both sides, equal probabilities, the ratio and the projection."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains three models in a child process


def test_predict_bench_smoke_prints_a_row_per_model_with_its_ratio() -> None:
    bench = Path(__file__).resolve().parents[1] / "bench" / "predict.py"
    proc = subprocess.run([sys.executable, str(bench), "--smoke"], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| 20")]
    rows, methods = rows[:3], rows[3:]  # then the cnn's sliding vs windows table (issue 21)
    assert [row.split(" | ")[1].split(" (")[0] for row in rows] == ["lr", "cnn", "dnabert6-tiny"]  # lr (its scaling)
    assert all(re.search(r"x \| [0-9.]+ (s|min [0-9]{2} s|h [0-9]{2} min) \|$", row) for row in rows), rows
    assert len(methods) == 1 and methods[0].split(" | ")[1] == "cnn" and re.search(r" [0-9.]+x \| ", methods[0])
    assert "checked to 1e-5" in proc.stdout
