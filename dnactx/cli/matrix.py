"""``dnactx matrix``: train a grid of runs (every train option as a comma list), resumable, with a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..errors import DnactxError, ExitCode, exit_code_for
from ..formatting import term
from ..storage import StorageError
from .command import DnactxCommand
from .common import console, console_err, state
from .options import grid_options, grid_values, home_option, option, with_options


def matrix_options() -> list:
    """Options shared by ``matrix`` and ``submit matrix``: the dataset, the matrix name, the baseline, the grid."""
    return [
        option("data", Path, ..., "--data", help="dataset.parquet from `dnactx prepare` (or its folder)."),
        option("name", str | None, None, "--name", help="Matrix name (letters, digits, . _ -); default derived from "
               "the grid and dataset, so the same command always resumes the same matrix."),
        option("baseline", str, "lr", "--baseline", help="lr: add an LR run (both sides, 100 bp or half the "
               "window) on the same training sites as the cells (their seed, --train-fraction, --max-train, "
               "--site-context; one per combination the grid uses) as the last cell(s); none: no baseline."),
        *grid_options(),
    ]


def spec_from_options(options: dict[str, Any]):
    """A MatrixSpec from the parsed ``matrix`` options (the grid comma lists stay as typed by the user)."""
    from ..matrix.spec import build_spec

    return build_spec(options["data"], grid_values(options), name=options.get("name"),
                      baseline=options.get("baseline", "lr"))


def _matrix(**options: Any) -> None:
    from ..distributed import is_main
    from ..matrix.session import run_matrix

    spec = spec_from_options(options)
    if options["dry_run"]:
        for c in spec.cells():
            typer.echo(f"{c.index}\t{c.label}")
        return
    result = run_matrix(spec, state.home, jobs=options["jobs"], cell=options["cell"], quiet=options["quiet"],
                        console=console_err)
    code = exit_code_for(o.status for o in result.outcomes)
    if not is_main():  # under torchrun/accelerate launch rank 0 reports; the others only trained
        raise typer.Exit(code=code)
    out = Path(state.home) / "matrices" / spec.name
    trained = sum(o.status == "completed" for o in result.outcomes)
    skipped = sum(o.status == "skipped" for o in result.outcomes)
    console_err.print(f"matrix {spec.name}: {trained} trained, {skipped} already complete, "
                      f"{len(result.failed)} failed, {len(result.preempted)} preempted; summary in "
                      f"{term(out / 'context_matrix_summary.md')}", highlight=False, soft_wrap=True)
    for o in result.outcomes:
        if o.status in ("failed", "busy"):
            console_err.print(f"  cell {o.index}: {o.status}: {term(o.error)}", highlight=False, soft_wrap=True)
    if code == ExitCode.PREEMPTED:
        raise DnactxError(f"matrix {spec.name} was stopped (SIGTERM) during cell "
                          f"{result.preempted[0].index}; re-run the same command to resume it", exit_code=code)
    if code == ExitCode.STORAGE:
        stopped = next(o for o in result.outcomes if o.status == "storage")
        raise StorageError(f"matrix {spec.name} stopped at cell {stopped.index}: {stopped.error}")
    if code == ExitCode.RUN_FAILED:
        bad = [o.index for o in result.outcomes if o.status in ("failed", "busy")]
        raise DnactxError(f"matrix {spec.name}: cell(s) {', '.join(map(str, bad))} did not complete (see above); "
                          "re-run the same command to retry them", exit_code=code)
    console.print(spec.name, highlight=False)


_OWN = [
    option("jobs", int, 1, "--jobs", min=1, help="Cells trained at once, each in its own process (one GPU each "
           "when several are visible)."),
    option("cell", int | None, None, "--cell", min=0, help="Run only cell K (0-based, in --dry-run order; the "
           "baselines are the last indices). SLURM array tasks use this."),
    option("dry_run", bool, False, "--dry-run", help="List the cells with their indices and exit."),
    option("quiet", bool, False, "--quiet", "-q", help="No live table or progress bars."),
]


def register(app: typer.Typer) -> None:
    app.command(
        "matrix", cls=DnactxCommand,
        help="Train a grid of runs: --sizes × --modes × any train option given as a comma list, plus an LR "
             "baseline. Re-running the same command skips completed cells and resumes preempted ones. "
             "Writes <home>/matrices/NAME/context_matrix_summary.{csv,md} and matrix.json; prints NAME.",
    )(with_options(_matrix, matrix_options(), _OWN, [home_option()]))
