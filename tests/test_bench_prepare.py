"""bench/prepare.py's synthetic-genome run works end to end on a toy size (its figures are printed, never
asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "prepare.py"


@pytest.mark.slow
def test_synthetic_genome_bench_reports_time_and_peak_memory(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(BENCH), "--skip-real", "--genome-gb", "0.002", "--tmp",
                           str(tmp_path)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "synthetic 0.002 Gb genome" in proc.stdout and "peak RSS" in proc.stdout
    assert not list(tmp_path.iterdir()), "the bench left its synthetic files behind"
