"""The matrix's summary: one row per cell plus the baseline, as CSV, Markdown and matrix.json (atomic)."""

from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path
from typing import Any

from ..atomic import write_json, write_text
from ..choices import EVAL_SPLITS
from ..contracts import run_metric
from ..formatting import markdown_table, num
from ..provenance import utcnow
from .spec import Cell, MatrixSpec
from .state import CellState, cell_states, matrix_dir, matrix_runs

METRICS = ("auroc", "auprc", "f1_at_0_5", "f1_at_threshold")
SPLITS = EVAL_SPLITS
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
            **{k: (cell.pinned.get(k, "") if cell.baseline else cell.values.get(k, getattr(cell.config, k)))
               for k in axes},
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


def seed_groups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows that differ only by seed, as one row each: the seeds, completed runs, and mean ± sd of the metrics."""
    if not rows or "seed" not in rows[0]:
        return []
    key_cols = [c for c in rows[0] if c not in ("cell", "run_id", "seed", "status", *METRIC_COLUMNS)]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(str(row[c]) for c in key_cols) + (row["cell"] == "baseline",), []).append(row)
    if all(len(g) == 1 for g in groups.values()):
        return []
    out = []
    for members in groups.values():
        done = [r for r in members if r["status"] == "completed"]
        entry = {c: members[0][c] for c in key_cols}
        entry.update(cell="baseline" if members[0]["cell"] == "baseline" else ",".join(str(r["cell"]) for r in members),
                     seeds=",".join(str(r["seed"]) for r in members), completed=len(done))
        for name in ("val_auprc", "test_auprc", "test_auroc"):
            entry[name] = mean_sd([r[name] for r in done])
        out.append(entry)
    return out


def mean_sd(values: list[float | None]) -> str:
    """``0.312 ± 0.014`` over the values present (sample sd); one value alone, without ±; none: empty."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return ""
    if len(vals) == 1:
        return num(vals[0], 4)
    return f"{num(statistics.fmean(vals), 4)} ± {num(statistics.stdev(vals), 4)}"


def to_markdown(spec: MatrixSpec, rows: list[dict[str, Any]], others: list[dict] | None = None) -> str:
    head = [f"# Context matrix `{spec.name}`", "",
            f"Dataset `{spec.dataset.path}` (fingerprint {spec.dataset.fingerprint[:12]}); "
            f"F1 at threshold uses the threshold that maximises F1 on validation.", ""]
    if not rows:
        return "\n".join(head) + "\n"
    cols = list(rows[0])
    lines = head + [markdown_table(cols, [[r[c] for c in cols] for r in rows], digits=4)]
    groups = seed_groups(rows)
    if groups:
        gcols = list(groups[0])
        lines += ["", "## Over seeds (mean ± sd of the completed runs)", "",
                  markdown_table(gcols, [[g[c] for c in gcols] for g in groups], digits=4)]
    if others:
        lines += ["", f"## Runs recorded under this name by another grid ({len(others)})", "",
                  "They are not cells of the grid above; `dnactx report --matrix` includes them.", "",
                  markdown_table(["run_id", "cell", "status", "val_auprc", "test_auprc"],
                                 [[r["id"], json.dumps((r.get("config") or {}).get("cell"), sort_keys=True),
                                   r.get("status"), run_metric(r, "val_auprc"), run_metric(r, "test_auprc")]
                                  for r in others], digits=4)]
    return "\n".join(lines) + "\n"


def write_summary(home: Path, spec: MatrixSpec, cells: list[Cell],
                  states: list[CellState] | None = None) -> list[dict[str, Any]]:
    """Rewrite context_matrix_summary.{csv,md} and matrix.json from the runs recorded so far.

    A pure function of the registry's state, so concurrent SLURM tasks rewriting it converge. Runs recorded under
    the matrix's name that are no cell of this grid (an earlier grid under the same name) are listed apart.
    """
    runs = matrix_runs(home, spec.name)
    if states is None:
        states = cell_states(runs, spec, cells)
    others = [r for r in runs if not any(c.matches(r.get("config") or {}, spec.dataset.fingerprint) for c in cells)]
    rows = summary_rows(spec, cells, states)
    out = matrix_dir(home, spec.name)
    write_text(out / "context_matrix_summary.csv", to_csv(rows))
    write_text(out / "context_matrix_summary.md", to_markdown(spec, rows, others))
    write_json(out / "matrix.json", {
        "spec": spec.to_json(),
        "updated": utcnow(),
        "cells": [{"index": c.index, "baseline": c.baseline, "cell": c.values, "run_id": r["run_id"] or None,
                   "status": r["status"], "config": c.config.to_dict()} for c, r in zip(cells, rows, strict=True)],
        "seed_groups": seed_groups(rows),
        "other_runs": [r["id"] for r in others],
    })
    return rows
