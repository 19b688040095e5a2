"""`dnactx prepare`: a reference FASTA and methylation call files → dataset.parquet + prepare.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import DnactxError
from ..formatting import pct, term
from ..outputs import check_folder
from ..prepare import LabelRules, PrepareOptions, expand_calls, prepare_dataset
from ..progress import Progress
from .command import DnactxCommand
from .common import console, console_err, parse_csv
from .labels import label_options


@label_options()
def prepare(
    ctx: typer.Context,
    genome: Annotated[Path, typer.Option(
        help="Reference FASTA (plain, gzip or bgzip); lower case = repeats. A plain FASTA is read through its "
             ".fai index (built when absent).")],
    calls: Annotated[list[str], typer.Option(
        help="Methylation calls (plain or gzip). Repeat for several files (one per chromosome or sample), or "
             "give a quoted pattern ('calls/*_CpG.bedGraph'). A site in several files is one row with the "
             "reads summed.", metavar="FILE")],
    out: Annotated[Path, typer.Option(help="Output folder for dataset.parquet and prepare.json.")],
    labels: LabelRules,
    window: Annotated[int, typer.Option(
        help="Total flank in bp (window/2 each side); seq has window+1 bases.")] = 800,
    contexts: Annotated[str, typer.Option(help="Comma list of contexts to keep.")] = "CG,CHG,CHH",
    fraction: Annotated[float, typer.Option(help="Deterministic subsample of sites (0.05 = 5%).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the subsample and of the block splits.")] = 0,
    split: Annotated[str, typer.Option(help="blocks (genomic blocks) | chroms (whole chromosomes).")] = "blocks",
    block_size: Annotated[int, typer.Option(help="Block length in bp for --split blocks.")] = 100_000,
    val_frac: Annotated[float, typer.Option(help="Share of blocks for validation.")] = 0.1,
    test_frac: Annotated[float, typer.Option(help="Share of blocks for test.")] = 0.1,
    val_chroms: Annotated[str, typer.Option(help="Comma list of validation chromosomes (--split chroms).")] = "",
    test_chroms: Annotated[str, typer.Option(help="Comma list of test chromosomes (--split chroms).")] = "",
    control_chrom: Annotated[str | None, typer.Option(
        help="Unmethylated spike-in (e.g. lambda L): skipped, its non-conversion rate reported.")] = None,
    annotation: Annotated[Path | None, typer.Option(
        help="GFF3 (plain or gzip): adds each site's genomic feature class (CDS, UTR, intron, promoter, ...) as "
             "the dataset column `feature`; --chrom-alias maps its sequence ids too.", metavar="GFF3")] = None,
    promoter_bp: Annotated[int, typer.Option(help="Promoter: this many bp upstream of a gene's TSS.")] = 1000,
    downstream_bp: Annotated[int, typer.Option(help="Downstream flank: this many bp past a gene's TES.")] = 1000,
) -> None:
    """Cut a window around every covered cytosine, label it, split it by genomic block, write a parquet."""
    if ctx.args:  # a second path after --calls, often an unquoted glob the shell expanded
        raise DnactxError(f"unexpected extra argument {ctx.args[0]!r}: --calls takes one file; repeat --calls for "
                          "each file (--calls a.txt --calls b.txt) or quote a pattern (--calls 'calls/*.txt')")
    check_folder(out)
    options = PrepareOptions(
        genome=genome, calls=expand_calls(calls), out=out, labels=labels, window=window,
        contexts=tuple(parse_csv(contexts)),
        fraction=fraction, seed=seed, split=split, block_size=block_size, val_frac=val_frac, test_frac=test_frac,
        val_chroms=tuple(parse_csv(val_chroms)), test_chroms=tuple(parse_csv(test_chroms)),
        control_chrom=control_chrom, annotation=annotation,
        promoter_bp=promoter_bp, downstream_bp=downstream_bp,
    )
    with Progress("reading calls", unit="rows") as progress:
        summary = prepare_dataset(options, progress=progress)
    for message in summary["warnings"]:
        console_err.print(f"[yellow]warning:[/] {term(message)}", soft_wrap=True, highlight=False)
    _report(summary, out)


def _report(summary: dict, out: Path) -> None:
    counts, rates = summary["counts"], summary["label_rates"]
    console.print(f"wrote {term(out / 'dataset.parquet')}: {summary['n_sites']:,} sites from {summary['rows_read']:,} "
                  f"{summary['format']} rows in {summary['seconds']:.1f} s", highlight=False, soft_wrap=True)
    for split in ("train", "val", "test"):
        parts = ", ".join(f"{c} {counts[split][c]:,}" for c in ("CG", "CHG", "CHH"))
        rate = rates[split]["all"]
        console.print(f"  {split:5s} {counts[split]['all']:>10,} ({parts}); label rate "
                      f"{pct(rate, 2)}", highlight=False, soft_wrap=True)
    skipped = ", ".join(f"{k} {v:,}" for k, v in summary["skipped"].items() if v)
    if skipped:
        console.print(f"  skipped: {term(skipped)}", highlight=False, soft_wrap=True)
    control = summary.get("control")
    if control and control["non_conversion_rate"] is not None:
        console.print(f"  control {term(control['chrom'])}: non-conversion rate "
                      f"{100 * control['non_conversion_rate']:.3f}% "
                      f"({control['mc']:,}/{control['cov']:,} reads)", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("prepare", cls=DnactxCommand, context_settings={"allow_extra_args": True})(prepare)
