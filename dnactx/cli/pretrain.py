"""``dnactx pretrain --genome FASTA --out DIR``: a masked DNA language model of the lab's own genome(s)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from .command import DnactxCommand
from .common import HomeOption, console_err, state


def pretrain_options(params: dict[str, Any]):
    """The command's parsed parameters (``dnactx pretrain``'s, or ``submit pretrain``'s parse of them) as
    :class:`~dnactx.pretrain.options.PretrainOptions`."""
    from ..pretrain.options import PretrainOptions

    p = params
    return PretrainOptions(genomes=list(p.get("genome") or []), out=p["out"], tokenizer=p["tokenizer"],
                           arch=p["arch"], layers=p["layers"], hidden=p["hidden"], heads=p["heads"],
                           length=p["length"], mask_rate=p["mask_rate"], steps=p["steps"], tokens=p["tokens"],
                           epochs=p["epochs"], batch_size=p["batch_size"], grad_accum=p["grad_accum"], lr=p["lr"],
                           warmup=p["warmup"], precision=p["precision"], exclude=list(p.get("exclude") or []),
                           exclude_dataset=list(p.get("exclude_dataset") or []), name=p["name"],
                           eval_every=p["eval_every"], seed=p["seed"], resume=p["resume"])


def pretrain(
    genome: Annotated[list[Path], typer.Option("--genome", help="FASTA to learn from (plain, gzip or bgzip); "
                                                                "repeat for several genomes.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the model (a Hugging Face checkpoint).")],
    tokenizer: Annotated[str, typer.Option("--tokenizer", help="kmer:6 | kmer:K (K 3-6, overlapping, "
                                           "DNABERT) | nt:6 (non-overlapping, NT/AgroNT) | char | bpe:N.")
                         ] = "kmer:6",
    arch: Annotated[str, typer.Option("--arch", help="bert | esm | modernbert.")] = "bert",
    layers: Annotated[int, typer.Option("--layers", help="Transformer layers.")] = 4,
    hidden: Annotated[int, typer.Option("--hidden", help="Hidden size (a multiple of --heads).")] = 256,
    heads: Annotated[int, typer.Option("--heads", help="Attention heads.")] = 4,
    length: Annotated[int, typer.Option("--length", help="Window length in bp.")] = 512,
    mask_rate: Annotated[float, typer.Option("--mask-rate", help="Share of tokens masked.")] = 0.15,
    steps: Annotated[int | None, typer.Option("--steps", help="Optimiser steps (or --tokens, or --epochs; "
                                                              "default one pass).")] = None,
    tokens: Annotated[int | None, typer.Option("--tokens", help="Tokens to train on.")] = None,
    epochs: Annotated[float | None, typer.Option("--epochs", help="Passes over the corpus.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per batch per process.")] = 32,
    grad_accum: Annotated[int, typer.Option("--grad-accum", help="Batches per optimiser step.")] = 1,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate (warm-up, then cosine decay).")] = 5e-4,
    warmup: Annotated[float, typer.Option("--warmup", help="Share of steps warming up.")] = 0.05,
    precision: Annotated[str, typer.Option("--precision", help="no | bf16 | fp16.")] = "no",
    exclude: Annotated[list[Path] | None, typer.Option("--exclude", help="BED of regions never to train on; "
                                                                         "repeatable.")] = None,
    exclude_dataset: Annotated[list[Path] | None, typer.Option(
        "--exclude-dataset", help="A prepared dataset whose val and test blocks (with its window margin) "
                                  "never enter the corpus; repeatable.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Model name (default: the --out folder's).")
                    ] = None,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Steps between held-out evaluations "
                                                                 "(and checkpoints).")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the held-out blocks, order and masking.")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its checkpoint.")
                      ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print pretrain.json's record instead of a line.")
                       ] = False,
    home: HomeOption = None,
) -> None:
    """Pretrain a masked DNA language model on your genome(s); --out is a Hugging Face folder that
    `dnactx train --model DIR` (and AutoModelForMaskedLM) loads. SIGTERM checkpoints (exit 4); --resume
    continues. The pretrain is also a run (kind pretrain) of the registry --home: `dnactx runs ls` lists it
    with its masked-token figures."""
    from ..errors import ExitCode
    from ..pretrain.run import run_pretrain, summary_line
    from ..train.preemption import Preempted

    opts = pretrain_options(locals())
    try:
        record = run_pretrain(opts, state.home)
    except Preempted as exc:
        console_err.print(f"{exc}; `dnactx pretrain ... --resume` with the same options continues it",
                          highlight=False, soft_wrap=True)
        raise typer.Exit(int(ExitCode.PREEMPTED)) from None
    if as_json:
        typer.echo(json.dumps({k: v for k, v in record.items() if k != "history"}, indent=2))
    else:
        console_err.print(summary_line(record), highlight=False, soft_wrap=True)
        typer.echo(str(out))


def register(app: typer.Typer) -> None:
    app.command("pretrain", cls=DnactxCommand)(pretrain)
