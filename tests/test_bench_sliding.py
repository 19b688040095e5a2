"""bench/sliding.py (the cnn's sliding features vs encode, no registry: the GPU check's step 5) runs on its smoke
size: a row with the ratio and a difference within float32 rounding."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_sliding_bench_smoke_prints_a_row_with_its_ratio_and_difference() -> None:
    bench = Path(__file__).resolve().parents[1] / "bench" / "sliding.py"
    proc = subprocess.run([sys.executable, str(bench), "--smoke", "--device", "cpu"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    [row] = [line for line in proc.stdout.splitlines() if line.startswith("| 65 bp")]
    cells = row.strip("| ").split(" | ")
    assert re.fullmatch(r"[0-9.]+x", cells[4]) and float(cells[5]) < 1e-4, row
