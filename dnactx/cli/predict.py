"""``dnactx predict MODEL --genome FASTA --out DIR``: a trained model applied to every cytosine of a genome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..choices import CONTEXTS, PRECISIONS
from ..contracts import PredictSummary
from ..errors import DnactxError
from ..formatting import num, with_interval
from ..prepare.labels import LabelRules
from .command import DnactxCommand
from .common import HomeOption, ModelArgument, TrustOption, complete, console_err, parse_csv, state
from .labels import label_options

CALLS = "Evaluation against measured methylation (--calls)"


@label_options(panel=CALLS)
def predict(
    ctx: typer.Context,
    model: ModelArgument,
    genome: Annotated[Path, typer.Option(help="Reference FASTA (plain, gzip or bgzip). Chromosome names need not "
                                              "match the training data.")],
    out: Annotated[Path, typer.Option(help="Output folder: predictions.parquet, <context>.bedGraph.gz and .bw, "
                                           "predict.json (and tracks.png with --calls). A re-run resumes it.")],
    calls: Annotated[list[str] | None, typer.Option(
        help="Methylation calls to evaluate against (repeat for several files, or a quoted pattern); labelled "
             "exactly as `dnactx prepare` labels them.", metavar="FILE", rich_help_panel=CALLS)] = None,
    labels: LabelRules = LabelRules(),
    bootstrap: Annotated[int, typer.Option(help="Block-bootstrap resamples for the AUROC/AUPRC intervals (0: "
                                                "none).", rich_help_panel=CALLS)] = 1000,
    regions: Annotated[Path | None, typer.Option(help="Score only these intervals (BED: chrom, 0-based start, "
                                                      "end).")] = None,
    chroms: Annotated[str | None, typer.Option(help="Score only these chromosomes (comma list).")] = None,
    contexts: Annotated[str, typer.Option(help="Comma list of contexts to score.",
                                          autocompletion=complete(CONTEXTS, comma=True))] = ",".join(CONTEXTS),
    batch_size: Annotated[int | None, typer.Option(help="Rows per forward pass (default by family: lr 512, cnn "
                                                        "1024 (256 on a CPU), transformer 128).")] = None,
    precision: Annotated[str, typer.Option(help="no | bf16 | fp16 (autocast for cnn and transformers; `no` "
                                                "reproduces the run's own predictions).",
                                           autocompletion=complete(PRECISIONS))] = "no",
    device: Annotated[str | None, typer.Option(help="cpu, cuda or cuda:N (default: a GPU when there is one).")
                      ] = None,
    compile: Annotated[bool, typer.Option("--compile", help="torch.compile a cnn or transformer: a one-off "
                                                            "compilation of a minute or more, then about 2x faster "
                                                            "on CPU; for a whole genome.")] = False,
    method: Annotated[str | None, typer.Option(help="sliding | windows: sliding convolves each chromosome once "
                                                    "and reads every site from the shared maps (a cnn; the "
                                                    "default there, ~same probabilities to 1e-5); windows scores "
                                                    "each site's input alone (the default otherwise).")] = None,
    group: Annotated[int | None, typer.Option(help="Score only chromosome group K of --groups (a SLURM array "
                                                   "task; the last group to finish merges).", hidden=True)] = None,
    groups: Annotated[int | None, typer.Option(help="Number of length-balanced chromosome groups.", hidden=True)
                      ] = None,
    annotation: Annotated[Path | None, typer.Option(
        help="GFF3 (plain or gzip): a `feature` column (prepare's classes), with --calls metrics by feature and a "
             "gene metaplot (metaplot.png/.tsv; `dnactx metaplot` draws other features).", metavar="GFF3")] = None,
    promoter_bp: Annotated[int, typer.Option(help="Promoter: bp upstream of a gene's TSS (--annotation).")] = 1000,
    downstream_bp: Annotated[int, typer.Option(help="Downstream flank: bp past a gene's TES.")] = 1000,
    force: Annotated[bool, typer.Option("--force", help="Replace predictions of another model, genome or inputs "
                                                        "in --out.")] = False,
    trust_remote_code: TrustOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print predict.json's summary as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")] = False,
    home: HomeOption = None,
) -> None:
    """Score every cytosine (C on +, G on −) of the genome, or of --regions/--chroms, with the model's own recipe;
    write predictions and genome tracks; with --calls, evaluate them against measured methylation."""
    from ..distributed import is_main
    from ..outputs import check_folder
    from ..predict import predict_genome

    if ctx.args:
        raise DnactxError(f"unexpected extra argument {ctx.args[0]!r}: repeat --calls for each file or quote a "
                          "pattern (--calls 'calls/*.txt')")
    check_folder(ctx.params["out"])
    if ctx.params.get("device") is not None:  # a GPU that is not there: said now, before any work
        from ..inference.scorer import resolve_device

        resolve_device(ctx.params["device"])
    options = predict_options(dict(ctx.params), labels)
    warn = None if quiet else (lambda m: console_err.print(f"[yellow]warning:[/] {m}", soft_wrap=True,
                                                           highlight=False))
    summary = predict_genome(options, state.home, quiet=quiet, warn=warn)
    if not is_main():
        return
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    if not quiet:
        _report(summary)
    typer.echo(str(out))


def predict_options(params: dict, labels: LabelRules):
    """The command's parsed parameters and label rules → PredictOptions (also used by `submit predict` to check
    them early)."""
    from ..predict import PredictOptions
    from ..prepare import expand_calls

    keep = ("model", "genome", "out", "regions", "batch_size", "precision", "device", "compile", "method", "bootstrap",
            "force", "group", "groups", "trust_remote_code", "annotation", "promoter_bp", "downstream_bp")
    return PredictOptions(**{k: params[k] for k in keep}, calls=expand_calls(params["calls"] or []), labels=labels,
                          chroms=tuple(parse_csv(params["chroms"])),
                          contexts=tuple(parse_csv(params["contexts"])))


def _report(summary: PredictSummary) -> None:
    say = lambda text: console_err.print(text, highlight=False, soft_wrap=True, markup=False)  # noqa: E731
    if summary.get("status") == "partial":
        say(f"this group is done; {summary['done']} of {summary['chromosomes']} chromosomes are scored (missing: "
            f"{', '.join(summary['missing'][:8])}): the task that finishes last merges the outputs")
        return
    if summary.get("already_complete"):
        say("already complete: these predictions are in --out (use --force to compute them again)")
    total, timing = summary["counts"]["total"], summary["timing"]
    say(f"scored {total['all']:,} sites (CG {total['CG']:,}, CHG {total['CHG']:,}, CHH {total['CHH']:,}) in "
        f"{timing['scoring_seconds']:.1f} s of scoring ({num(timing['sites_per_s'], 0)} sites/s, "
        f"{timing.get('method', 'windows')}, {timing['processes']} process{'es' if timing['processes'] != 1 else ''})")
    evaluation = summary.get("evaluation")
    if evaluation and evaluation.get("sites"):
        say(f"evaluation on {evaluation['labelled_sites']:,} labelled sites ({evaluation['rule']}):")
        for name, m in evaluation["sites"].items():
            if name == "bootstrap" or m is None:
                continue
            say(f"  {name:4s} n {m['n']:>9,}  pos {m['positives']:>7,}  "
                f"AUROC {with_interval(m['auroc'], m['auroc_ci'])}  AUPRC {with_interval(m['auprc'], m['auprc_ci'])}")
        bins = evaluation["bins"]
        say("  observed vs predicted mean per bin, Pearson r: " + ", ".join(
            f"{size} {num((entry.get('all') or {}).get('pearson_r'), 3)}" for size, entry in bins.items()))
    elif evaluation:
        say(f"no evaluation: {evaluation.get('note')}")
    registry = summary.get("registry") or {}
    if registry.get("note"):
        say(registry["note"])
    say("wrote " + ", ".join(f"{name} ({size / 1e6:.1f} MB)" for name, size in summary["outputs"].items()))


def register(app: typer.Typer) -> None:
    app.command("predict", cls=DnactxCommand, no_args_is_help=True,
                context_settings={"allow_extra_args": True})(predict)
