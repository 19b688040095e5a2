"""``dnactx compare A B``: the paired block-bootstrap difference of two runs on the same sites, with a verdict."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .command import DnactxCommand
from .common import HomeOption, state


def register(app: typer.Typer) -> None:
    @app.command("compare", cls=DnactxCommand)
    def compare(
        run_a: Annotated[str, typer.Argument(help="Run A: id or a unique prefix (see `dnactx runs ls`).")],
        run_b: Annotated[str, typer.Argument(help="Run B, trained on the same dataset and split.")],
        split: Annotated[str, typer.Option("--split", help="val or test.")] = "test",
        metric: Annotated[str, typer.Option(
            "--metric", help="auprc | auroc | f1 (at each run's tuned threshold) | within_auprc | within_auroc; "
                             "the within-context figures are always shown too.")] = "auprc",
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
        for both, a p-value and a verdict (A better / B better / no detectable difference)."""
        from ..analysis.comparison import compare_rows, comparison_text
        from ..atomic import json_safe
        from ..registry import Registry

        reg = Registry.open(state.home, create=False)
        result = compare_rows(state.home, reg.run(run_a), reg.run(run_b), split=split, metric=metric,
                              n_resamples=bootstrap, block_bp=bootstrap_block, seed=seed)
        typer.echo(json.dumps(json_safe(result), indent=2) if as_json else comparison_text(result), nl=as_json)
