"""One ``dnactx matrix`` invocation: register the matrix, run the chosen cells, keep the summary current."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from ..contracts import MetricsFile, metric_value
from ..distributed import is_main
from ..errors import DnactxError
from ..formatting import printable
from .display import LiveTable
from .runner import Outcome, run_cells
from .spec import Cell, MatrixSpec
from .state import cell_states, matrix_dir, matrix_runs, warn
from .summary import write_summary


@dataclass
class MatrixResult:
    spec: MatrixSpec
    cells: list[Cell]
    outcomes: list[Outcome]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def preempted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "preempted"]


def register_matrix(home: Path, spec: MatrixSpec, submission: dict | None = None) -> str | None:
    """Create (or find) the matrix in the registry, keeping its SLURM submissions (plus ``submission``).

    The registry has no submissions table, so job ids live in the matrix spec's ``submissions`` list.
    A registry problem is a warning, not a stop: the run folders stay the source of truth.
    """
    try:
        from ..registry import Registry

        reg = Registry.open(Path(home))
        old = next((m for m in reg.matrices() if m["name"] == spec.name), None)
        changed = grid_change((old or {}).get("spec"), spec.to_json())
        if changed:
            warn(f"matrix {spec.name} was recorded before with {changed}; its earlier runs keep this name: the summary "
                 f"lists them apart from this grid's cells, and `dnactx report --matrix {spec.name}` reads both. Use "
                 "another --name to keep the two grids apart")
        submissions = list(((old or {}).get("spec") or {}).get("submissions") or [])
        if submission:
            submissions.append(submission)
        return reg.ensure_matrix(spec.name, {**spec.to_json(), "submissions": submissions})
    except (ImportError, DnactxError) as exc:
        warn(f"matrix {spec.name} not recorded in the registry: {exc}")
        return None


def grid_change(old: dict | None, new: dict) -> str | None:
    """What differs between a matrix's recorded spec and this one (dataset, axes, baseline), or None."""
    if not old:
        return None
    new = json.loads(json.dumps(new, default=str))
    parts = []
    if old.get("dataset_fingerprint") != new.get("dataset_fingerprint"):
        parts.append(f"another dataset ({old.get('data')})")
    if old.get("axes") != new.get("axes"):
        axes = ", ".join(f"{k}={','.join(map(str, v))}" for k, v in (old.get("axes") or {}).items())
        parts.append(f"another grid ({axes or 'no axes'})")
    if old.get("baseline") != new.get("baseline"):
        parts.append(f"--baseline {old.get('baseline')}")
    return " and ".join(parts) or None


def select_cells(cells: list[Cell], index: int | None) -> list[Cell]:
    if index is None:
        return cells
    if not 0 <= index < len(cells):
        raise DnactxError(f"--cell {index}: this matrix has cells 0-{len(cells) - 1} "
                          f"({'the last is the baseline' if cells[-1].baseline else 'no baseline'}); "
                          "see `dnactx matrix ... --dry-run`")
    return [cells[index]]


def run_matrix(spec: MatrixSpec, home: Path, *, jobs: int = 1, cell: int | None = None, quiet: bool = False,
               console: Console | None = None) -> MatrixResult:
    """Run every cell (or just ``cell``) of ``spec``; completed cells are skipped, so re-runs resume."""
    home = Path(home)
    cells = spec.cells()
    chosen = select_cells(cells, cell)
    main = is_main()  # the other ranks of a torchrun/accelerate launch train, but write no matrix files
    if main:
        register_matrix(home, spec)
        states = cell_states(matrix_runs(home, spec.name), spec, cells)
        write_summary(home, spec, cells, states)
    console = console or Console(stderr=True)
    live_on = main and not quiet and console.is_terminal
    with LiveTable(f"matrix {spec.name} → {matrix_dir(home, spec.name)}", chosen, console, live_on) as live:
        if main:
            wanted = {c.index for c in chosen}
            for c, s in zip(cells, states, strict=True):
                if c.index in wanted and s.completed:
                    live.update(c.index, status="completed", run_id=s.completed["id"],
                                **_auprc(s.completed.get("metrics")))

        log = main and not quiet and not live_on  # plain lines instead, e.g. in a SLURM log

        def started(c: Cell) -> None:
            live.update(c.index, status="running")
            if log:
                console.print(f"matrix {spec.name}: cell {c.index} of 0-{len(cells) - 1}: {printable(c.label)}",
                              highlight=False, soft_wrap=True, markup=False)

        def done(o: Outcome) -> None:
            metrics = {}
            if main:
                rows = write_summary(home, spec, cells)
                metrics = {k: rows[o.index][k] for k in ("val_auprc", "test_auprc")}
                if o.run_id is None and rows[o.index]["run_id"]:
                    o.run_id = rows[o.index]["run_id"]
            live.update(o.index, status=o.status, run_id=o.run_id, **metrics)
            if log:
                console.print(f"matrix {spec.name}: cell {o.index} {o.status} {o.run_id or ''}"
                              + (f" ({printable(o.error)})" if o.error else ""), highlight=False, soft_wrap=True,
                              markup=False)

        # Live display owns the terminal, so the trainer's own progress bars stay off while it is shown.
        outcomes = run_cells(home, spec, chosen, jobs=jobs, quiet=quiet or live_on or jobs > 1,
                             on_start=started, on_done=done)
    rows = write_summary(home, spec, cells) if main else []
    return MatrixResult(spec, cells, outcomes, rows)


def _auprc(metrics: MetricsFile | None) -> dict[str, Any]:
    return {name: metric_value(metrics, name) for name in ("val_auprc", "test_auprc")}
