"""``dnactx explain RUN_ID --out DIR``: what a model looks at (in-silico mutagenesis), or ``--variants VCF``: what
SNVs do to the predicted methylation of the cytosines around them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import DnactxError
from .command import DnactxCommand
from .common import HomeOption, ModelArgument, TrustOption, console_err, state

SITES_HELP = ("Which sites: top (the highest-scoring positives), positives (all, or a seeded sample of --n), random "
              "(a seeded sample of any label), or a BED file (its cytosines; needs --genome unless the dataset has "
              "them). Default top.")


def _progress():
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] > 10:
            console_err.print(f"mutagenesis: {done}/{total} sites", highlight=False)
            last[0] = now
    return report


def _refuse_with_variants(**given: object) -> None:
    named = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None]
    if named:
        raise DnactxError(f"{', '.join(named)} {'does' if len(named) == 1 else 'do'} not apply with --variants "
                          "(every cytosine within reach of each variant is scored); drop "
                          f"{'it' if len(named) == 1 else 'them'}")


def explain(
    run_id: ModelArgument,
    out: Annotated[Path, typer.Option("--out", help="Folder for the outputs (created; files are replaced).")],
    split: Annotated[str | None, typer.Option("--split", help="Dataset split to take sites from: train, val or "
                                                              "test. Default test.")] = None,
    sites: Annotated[str | None, typer.Option("--sites", help=SITES_HELP)] = None,
    n: Annotated[int | None, typer.Option("--n", help="Explain at most this many sites. Default 500.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the random samples. Default 0.")] = None,
    genome: Annotated[Path | None, typer.Option("--genome", help="Reference FASTA: for --sites BED outside the "
                                                                 "dataset, and for --variants.")] = None,
    variants: Annotated[Path | None, typer.Option("--variants", help="VCF (plain or bgzip) of SNVs: score every "
                                                                     "cytosine within reach instead.")] = None,
    chrom_alias: Annotated[list[str] | None, typer.Option(
        "--chrom-alias", help="FILE_NAME=FASTA_NAME for a BED/VCF chromosome named otherwise in the genome "
                              "(repeatable).")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Rows per forward pass.")] = None,
    method: Annotated[str, typer.Option("--method", help="fast | plain: fast computes each mutant by "
                                                         "difference from its site where the family allows "
                                                         "(lr, cnn); plain scores every mutant.")] = "fast",
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda or cuda:N (default: a GPU when "
                                                                "there is one).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    trust_remote_code: TrustOption = False,
    home: HomeOption = None,
) -> None:
    """Explain a trained model by in-silico mutagenesis: every base of each chosen site's input mutated, the
    change in score by offset from the C (profile.csv/png), a logo per context, the 6-mers that move the score
    most, explain.json (also stored in the run folder, where diagnose and report pick it up). With --variants
    VCF --genome FASTA: Δp of every cytosine within reach of each SNV (variants.tsv, variants.bedGraph)."""
    from ..explain.output import dumps
    from ..outputs import check_folder
    from ..prepare.labels import parse_aliases

    check_folder(out)
    if device is not None:  # a GPU that is not there: said now, before any work
        from ..inference.scorer import resolve_device

        resolve_device(device)
    aliases = parse_aliases(chrom_alias)
    if variants is not None:
        _refuse_with_variants(split=split, sites=sites, n=n, seed=seed)
        if genome is None:
            raise DnactxError("--variants needs --genome FASTA (the reference the VCF was called against)")
        from ..explain import explain_variants

        result = explain_variants(run_id, _home(), variants, genome, out, aliases=aliases, batch_size=batch_size,
                                  device=device, trust_remote_code=trust_remote_code)
        _print_variants(result, as_json, dumps)
        return
    from ..explain import ExplainOptions, explain_model

    chosen = _sites_option(sites or "top")
    options = ExplainOptions(sites=chosen, split=_split_option(split or "test"), n=500 if n is None else n,
                             seed=seed or 0, genome=genome, aliases=aliases, method=method)
    result = explain_model(run_id, _home(), out, options, batch_size=batch_size, device=device,
                           progress=None if as_json else _progress(), trust_remote_code=trust_remote_code)
    if as_json:
        typer.echo(dumps(result))
    else:
        console_err.print(f"explained {result['sites']['n']} sites of run {result['run_id'] or run_id} "
                          f"({result['mutants']:,} mutants in {result['seconds']['ism']:.1f} s): "
                          f"{result['sentence']}", highlight=False, soft_wrap=True)
        typer.echo(str(out))


def register(app: typer.Typer) -> None:
    app.command("explain", cls=DnactxCommand)(explain)


def _home() -> Path:
    return state.home


def _sites_option(value: str) -> str:
    from ..explain.sites import SELECTIONS

    if value in SELECTIONS or Path(value).is_file():
        return value
    raise DnactxError(f"--sites must be top, positives, random or a BED file; {value!r} is none of these "
                      "(no such file)")


def _split_option(value: str) -> str:
    if value not in ("train", "val", "test"):
        raise DnactxError(f"--split must be train, val or test, got {value!r}")
    return value


def _print_variants(result: dict, as_json: bool, dumps) -> None:
    if as_json:
        typer.echo(dumps(result))
        return
    c, r = result["counts"], result["records"]
    console_err.print(
        f"{c['snvs']:,} SNVs ({r['records']:,} records, {r['multiallelic_records']:,} multi-allelic; skipped "
        f"{r['indel']:,} indels, {r['mnp']:,} MNPs, {r['other']:,} other, {c['unknown_chromosome']:,} on chromosomes "
        f"the genome lacks, {c['outside_genome']:,} past its ends): {c['scored_variants']:,} touch a cytosine "
        f"({c['sites_scored'] + c['sites_context']:,} sites scored, {c['sites_context']:,} with a new context, "
        f"{c['sites_lost']:,} lost, {c['sites_new']:,} new)", highlight=False, soft_wrap=True)
    typer.echo(result["files"]["tsv"])
