"""``dnactx report``: the study's results page from the registry (selected run, baseline, tables, heatmap)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .command import DnactxCommand
from .common import HomeOption, console_err, state


def report(
    matrix: Annotated[str | None, typer.Option("--matrix", help="Only the runs of this matrix.")] = None,
    baseline: Annotated[
        str, typer.Option("--baseline", help="Baseline run id (prefix), 'auto' (the lr run of the matrix, else "
                                             "the best lr run on the same dataset) or 'none'."),
    ] = "auto",
    metric: Annotated[
        str, typer.Option("--metric", help="Validation metric that selects the run: val_auprc, val_auroc, "
                                           "val_f1_at_threshold, val_brier, ..."),
    ] = "val_auprc",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for report.md, report.csv, report.html, heatmap.png and pr_curves.png.",
                     show_default="<home>/reports/<matrix or all>"),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only runs of this model or family.")] = None,
    data: Annotated[Path | None, typer.Option(
        "--data", help="Only runs trained on this dataset.parquet (runs of different datasets are never ranked "
                       "together: without --matrix or --data they are refused).")] = None,
    status: Annotated[str, typer.Option("--status", help="Only runs with this status.")] = "completed",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of Markdown.")] = False,
    home: HomeOption = None,
) -> None:
    """Select the configuration with the best mean validation metric (over seeds), report its test metrics at
    the val-tuned threshold with block-bootstrap intervals, compare it with the baseline (paired: better / worse /
    within noise), means by mode, size and model with intervals, per context, the diagnosis verdict."""
    from ..analysis.commands import report as build
    from ..outputs import check_folder

    if out is not None:
        check_folder(out)

    result = build(state.home, matrix=matrix, model=model, status=status, baseline=baseline, metric=metric,
                   out=out, data=data)
    markdown = result.pop("markdown")
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(markdown, nl=False)
        console_err.print(f"written: {', '.join(result['out'].values())}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("report", cls=DnactxCommand)(report)
