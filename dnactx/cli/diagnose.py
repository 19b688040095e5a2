"""``dnactx diagnose RUN_ID``: why a run scored as it did, with findings that cite numbers and ranked remedies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .command import DnactxCommand
from .common import HomeOption, RunIdArgument, console, state


def diagnose(
    run_id: RunIdArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    plots: Annotated[
        Path | None,
        typer.Option("--plots", help="Write reliability.png, pr.png, roc.png, score_hist.png and "
                                     "threshold_sweep.png into this folder."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Diagnose a run: base rate, score spread, threshold sweep, calibration, per context and repeat, gaps;
    then a verdict and remedies as dnactx flags. Also saves diagnosis.json in the run folder."""
    from ..analysis.commands import diagnose_run
    from ..analysis.render import print_diagnosis
    from ..outputs import check_folder

    if plots is not None:
        check_folder(plots, "--plots")
    result = diagnose_run(state.home, run_id, plots_dir=plots)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        print_diagnosis(result, console)


def register(app: typer.Typer) -> None:
    app.command("diagnose", cls=DnactxCommand)(diagnose)
