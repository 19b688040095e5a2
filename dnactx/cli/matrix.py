"""``dnactx matrix``: train a grid of runs (every train option as a comma list), resumable, with a summary."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import DnactxError
from ..train.config import grid_fields
from .common import console, console_err, state

GRID_PANEL = "Grid: every train option, as a comma list"


def _grid_parameters() -> list[inspect.Parameter]:
    """One ``str | None`` option per TrainConfig grid field (``--sizes``/``--modes`` for size and mode)."""
    from ..matrix.axes import axis_flags

    params = []
    for f in grid_fields():
        help_text = f.metadata.get("help", "") + " Comma list: each value is a grid axis value."
        option = typer.Option(*axis_flags(f), help=help_text, rich_help_panel=GRID_PANEL, show_default=False)
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Annotated[str | None, option]))
    return params


def _base_parameters() -> list[inspect.Parameter]:
    """Options shared by ``matrix`` and ``submit matrix``: the dataset, the matrix name, the baseline."""
    kw = inspect.Parameter.KEYWORD_ONLY
    return [
        inspect.Parameter("data", kw, annotation=Annotated[Path, typer.Option(
            "--data", help="dataset.parquet from `dnactx prepare` (or its folder).")]),
        inspect.Parameter("name", kw, default=None, annotation=Annotated[str | None, typer.Option(
            "--name", help="Matrix name (letters, digits, . _ -); default derived from the grid and dataset, "
            "so the same command always resumes the same matrix.")]),
        inspect.Parameter("baseline", kw, default="lr", annotation=Annotated[str, typer.Option(
            "--baseline", help="lr: add one LR run (both sides, 100 bp or half the window) as the last cell; "
                               "none: no baseline.")]),
    ]


def matrix_parameters() -> list[inspect.Parameter]:
    return _base_parameters() + _grid_parameters()


GRID_NAMES = tuple(f.name for f in grid_fields())


def spec_from_options(options: dict[str, Any]):
    """A MatrixSpec from the parsed ``matrix`` options (the grid comma lists stay as typed by the user)."""
    from ..matrix.spec import build_spec

    return build_spec(options["data"], {k: options.get(k) for k in GRID_NAMES}, name=options.get("name"),
                      baseline=options.get("baseline", "lr"))


def with_signature(fn, params: list[inspect.Parameter]):
    """Give ``fn(**options)`` an explicit signature so Typer builds its options from ``params``."""
    fn.__signature__ = inspect.Signature(params)
    fn.__annotations__ = {p.name: p.annotation for p in params}
    return fn


def _matrix(**options: Any) -> None:
    from ..matrix.session import run_matrix

    spec = spec_from_options(options)
    cells = spec.cells()
    if options["dry_run"]:
        for c in cells:
            typer.echo(f"{c.index}\t{c.label}")
        return
    result = run_matrix(spec, state.home, jobs=options["jobs"], cell=options["cell"], quiet=options["quiet"],
                        console=console_err)
    from ..distributed import is_main

    if not is_main():  # under torchrun/accelerate launch rank 0 reports; the others only trained
        raise typer.Exit(code=1 if result.failed or result.preempted else 0)
    out = Path(state.home) / "matrices" / spec.name
    trained = sum(o.status == "completed" for o in result.outcomes)
    skipped = sum(o.status == "skipped" for o in result.outcomes)
    console_err.print(f"matrix {spec.name}: {trained} trained, {skipped} already complete, "
                      f"{len(result.failed)} failed, {len(result.preempted)} preempted; summary in "
                      f"{out / 'context_matrix_summary.md'}", highlight=False, soft_wrap=True)
    for o in result.outcomes:
        if o.status in ("failed", "busy"):
            console_err.print(f"  cell {o.index}: {o.status}: {o.error}", highlight=False, soft_wrap=True)
    if result.preempted:
        raise DnactxError(f"matrix {spec.name} was stopped (SIGTERM) during cell "
                          f"{result.preempted[0].index}; re-run the same command to resume it", exit_code=143)
    if result.failed or any(o.status == "busy" for o in result.outcomes):
        bad = [o.index for o in result.outcomes if o.status in ("failed", "busy")]
        raise DnactxError(f"matrix {spec.name}: cell(s) {', '.join(map(str, bad))} did not complete (see above); "
                          "re-run the same command to retry them", exit_code=1)
    console.print(spec.name, highlight=False)


def register(app: typer.Typer) -> None:
    kw = inspect.Parameter.KEYWORD_ONLY
    extra = [
        inspect.Parameter("jobs", kw, default=1, annotation=Annotated[int, typer.Option(
            "--jobs", min=1, help="Cells trained at once, each in its own process (one GPU each when "
                                  "several are visible).")]),
        inspect.Parameter("cell", kw, default=None, annotation=Annotated[int | None, typer.Option(
            "--cell", min=0, help="Run only cell K (0-based, in --dry-run order; the baseline is the last "
                                  "index). SLURM array tasks use this.")]),
        inspect.Parameter("dry_run", kw, default=False, annotation=Annotated[bool, typer.Option(
            "--dry-run", help="List the cells with their indices and exit.")]),
        inspect.Parameter("quiet", kw, default=False, annotation=Annotated[bool, typer.Option(
            "--quiet", "-q", help="No live table or progress bars.")]),
    ]
    app.command(
        "matrix",
        help="Train a grid of runs: --sizes × --modes × any train option given as a comma list, plus an LR "
             "baseline. Re-running the same command skips completed cells and resumes preempted ones. "
             "Writes <home>/matrices/NAME/context_matrix_summary.{csv,md} and matrix.json; prints NAME.",
    )(with_signature(_matrix, matrix_parameters() + extra))
