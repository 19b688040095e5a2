"""``dnactx compare A B``: the paired block-bootstrap difference of two runs on the same sites, or of two models'
``predict --calls`` folders on the same new sites, with a verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .command import DnactxCommand
from .common import HomeOption, state


def compare(
    run_a: Annotated[str, typer.Argument(help="Run A: id or a unique prefix (see `dnactx runs ls`), or a "
                                              "`dnactx predict --calls` output folder.")],
    run_b: Annotated[str, typer.Argument(help="Run B, trained on the same dataset and split (or a second predict "
                                              "folder: another model on the same genome, calls and region).")],
    split: Annotated[str, typer.Option("--split", help="val or test (runs only).")] = "test",
    metric: Annotated[str, typer.Option(
        "--metric", help="auprc | auroc | f1 (at each run's tuned threshold) | within_auprc | within_auroc; "
                         "the within-context figures are always shown too. Two --target level runs (or predict "
                         "folders of two level models) also: pearson | spearman | mae | r2_weighted (a label run "
                         "and a level run compare only on what both have).")] = "auprc",
    by_context: Annotated[bool, typer.Option(
        "--by-context", help="Also A − B per CG/CHG/CHH under the same draws (AUPRC and AUROC; every level "
                             "metric for two level runs or predict folders).")] = False,
    bootstrap: Annotated[int | None, typer.Option(
        "--bootstrap", help="Paired block resamples.", show_default="run A's --bootstrap, else 1000")] = None,
    bootstrap_block: Annotated[int | None, typer.Option(
        "--bootstrap-block", help="Genomic block length in bp.",
        show_default="run A's --bootstrap-block, else 10000")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the block draws.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")] = False,
    home: HomeOption = None,
) -> None:
    """Compare two runs on the same sites: A − B with its 95% interval from the same genomic-block resamples
    for both, a p-value and a verdict (A better / B better / no detectable difference). Given two `dnactx
    predict --calls` folders, compare the two models on the labelled sites of that new data instead (for a level
    metric, on every site with a call, against its measured level)."""
    from ..analysis.comparison import compare_predictions, compare_rows, comparison_text
    from ..analysis.predicted import is_prediction
    from ..atomic import json_safe
    from ..errors import DnactxError
    from ..registry import Registry

    folders = [is_prediction(run_a), is_prediction(run_b)]
    if any(folders) and not all(folders):
        raise DnactxError(f"{run_a if folders[0] else run_b} is a predict folder and the other is not: compare two "
                          "runs, or two `dnactx predict --calls` folders")
    if all(folders):
        result = compare_predictions(Path(run_a), Path(run_b), metric=metric, n_resamples=bootstrap,
                                     block_bp=bootstrap_block, seed=seed, by_context=by_context)
    else:
        from ..registry.store import require_folder

        reg = Registry.open(state.home, create=False)
        row_a, row_b = require_folder(reg.run(run_a, kind="train")), require_folder(reg.run(run_b, kind="train"))
        result = compare_rows(state.home, row_a, row_b, split=split, metric=metric,
                              n_resamples=bootstrap, block_bp=bootstrap_block, seed=seed, by_context=by_context)
    typer.echo(json.dumps(json_safe(result), indent=2) if as_json else comparison_text(result), nl=as_json)


def register(app: typer.Typer) -> None:
    app.command("compare", cls=DnactxCommand)(compare)
