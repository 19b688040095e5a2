"""The matrix's summary: one row per cell plus the baseline, as CSV, Markdown and matrix.json (atomic)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..atomic import write_json, write_text
from ..contracts import run_metric
from ..formatting import markdown_table
from ..provenance import utcnow
from .spec import Cell, MatrixSpec
from .state import CellState, cell_states, matrix_dir, matrix_runs

METRICS = ("auroc", "auprc", "f1_at_0_5", "f1_at_threshold")
SPLITS = ("val", "test")
METRIC_COLUMNS = [f"{split}_{m}" for split in SPLITS for m in METRICS]


def _chosen(state: CellState) -> dict | None:
    """The run a cell's row shows: its newest completed run, else its newest run of any status."""
    return state.completed or state.latest


def summary_rows(spec: MatrixSpec, cells: list[Cell], states: list[CellState]) -> list[dict[str, Any]]:
    """Rows in cell order: cell, run_id, model, size, mode, the other grid values, status, val/test metrics."""
    axes = [k for c in cells if not c.baseline for k in c.values if k not in ("model", "size", "mode")]
    axes = list(dict.fromkeys(axes))
    rows = []
    for cell, state in zip(cells, states, strict=True):
        run = _chosen(state)
        row: dict[str, Any] = {
            "cell": "baseline" if cell.baseline else cell.index,
            "run_id": run["id"] if run else "",
            "model": cell.config.model,
            "size": cell.config.size,
            "mode": cell.config.mode,
            **{k: ("" if cell.baseline else cell.values.get(k, getattr(cell.config, k))) for k in axes},
            "status": (run or {}).get("status") or "pending",
        }
        row.update({name: run_metric(run, name) if run else None for name in METRIC_COLUMNS})
        rows.append(row)
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    return buf.getvalue()


def to_markdown(spec: MatrixSpec, rows: list[dict[str, Any]]) -> str:
    head = [f"# Context matrix `{spec.name}`", "",
            f"Dataset `{spec.dataset.path}` (fingerprint {spec.dataset.fingerprint[:12]}); "
            f"F1 at threshold uses the threshold that maximises F1 on validation.", ""]
    if not rows:
        return "\n".join(head) + "\n"
    cols = list(rows[0])
    return "\n".join(head) + "\n" + markdown_table(cols, [[r[c] for c in cols] for r in rows], digits=4) + "\n"


def write_summary(home: Path, spec: MatrixSpec, cells: list[Cell],
                  states: list[CellState] | None = None) -> list[dict[str, Any]]:
    """Rewrite context_matrix_summary.{csv,md} and matrix.json from the runs recorded so far.

    A pure function of the registry's state, so concurrent SLURM tasks rewriting it converge.
    """
    if states is None:
        states = cell_states(matrix_runs(home, spec.name), spec, cells)
    rows = summary_rows(spec, cells, states)
    out = matrix_dir(home, spec.name)
    write_text(out / "context_matrix_summary.csv", to_csv(rows))
    write_text(out / "context_matrix_summary.md", to_markdown(spec, rows))
    write_json(out / "matrix.json", {
        "spec": spec.to_json(),
        "updated": utcnow(),
        "cells": [{"index": c.index, "baseline": c.baseline, "cell": c.values, "run_id": r["run_id"] or None,
                   "status": r["status"], "config": c.config.to_dict()} for c, r in zip(cells, rows, strict=True)],
    })
    return rows
