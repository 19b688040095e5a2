"""``dnactx train``: build a TrainConfig from options, run it on the shared trainer, print the run id last."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer

from ..errors import DnactxError
from ..train.config import TrainConfig
from .common import console_err, state

_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def _h(name: str) -> str:
    return _FIELDS[name].metadata["help"]


def _d(name: str):
    return _FIELDS[name].default


def _optional_float(text: str | None) -> float | None:
    if text is None or text.strip().lower() in ("none", "null", ""):
        return None
    try:
        return float(text)
    except ValueError:
        raise DnactxError(f"expected a number or 'none', got {text!r}") from None


def _summary(result: dict, name: str) -> None:
    from rich.table import Table

    m = result["metrics"] or {}
    table = Table(title=f"{name}  [{result['status']}]", title_justify="left")
    for col in ("split", "n", "pos rate", "AUROC", "AUPRC", "F1@0.5", "F1@thr"):
        table.add_column(col, justify="right" if col != "split" else "left")

    def fmt(v, spec=".3f"):
        return "—" if v is None else format(v, spec)

    for split in ("val", "test"):
        s = m.get(split) or {}
        table.add_row(split, str(s.get("n", "")), fmt(s.get("pos_rate"), ".3%"), fmt(s.get("auroc")),
                      fmt(s.get("auprc")), fmt(s.get("f1_at_0_5")), fmt(s.get("f1_at_threshold")))
    console_err.print(table)
    if m:
        console_err.print(f"threshold {m['threshold']:.4f} (max F1 on val) · best epoch {m.get('best_epoch')} of "
                          f"{m.get('epochs_run')} · {m.get('train_seconds', 0):.1f} s · "
                          f"{m.get('samples_per_s', 0):.0f} samples/s · truncated {m.get('truncated_fraction', 0):.1%}"
                          + (" · frozen cache hit" if m.get("cache_hit") else ""), highlight=False)


def train(
    data: Annotated[str | None, typer.Option("--data", help=_h("data"))] = _d("data"),
    model: Annotated[str, typer.Option("--model", help=_h("model"))] = _d("model"),
    size: Annotated[int, typer.Option("--size", help=_h("size"))] = _d("size"),
    mode: Annotated[str, typer.Option("--mode", help=_h("mode"))] = _d("mode"),
    name: Annotated[str | None, typer.Option("--name", help=_h("name"))] = _d("name"),
    site_context: Annotated[bool, typer.Option("--site-context/--no-site-context", help=_h("site_context"))] = (
        _d("site_context")),
    finetune: Annotated[str, typer.Option("--finetune", help=_h("finetune"))] = _d("finetune"),
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help=_h("trust_remote_code"))] = (
        _d("trust_remote_code")),
    epochs: Annotated[int, typer.Option("--epochs", help=_h("epochs"))] = _d("epochs"),
    patience: Annotated[int, typer.Option("--patience", help=_h("patience"))] = _d("patience"),
    lr: Annotated[float | None, typer.Option("--lr", help=_h("lr"))] = _d("lr"),
    head_lr: Annotated[float, typer.Option("--head-lr", help=_h("head_lr"))] = _d("head_lr"),
    batch_size: Annotated[int, typer.Option("--batch-size", help=_h("batch_size"))] = _d("batch_size"),
    grad_accum: Annotated[int, typer.Option("--grad-accum", help=_h("grad_accum"))] = _d("grad_accum"),
    warmup: Annotated[float, typer.Option("--warmup", help=_h("warmup"))] = _d("warmup"),
    precision: Annotated[str, typer.Option("--precision", help=_h("precision"))] = _d("precision"),
    seed: Annotated[int, typer.Option("--seed", help=_h("seed"))] = _d("seed"),
    loss: Annotated[str, typer.Option("--loss", help=_h("loss"))] = _d("loss"),
    pos_weight: Annotated[float | None, typer.Option("--pos-weight", help=_h("pos_weight"))] = _d("pos_weight"),
    focal_gamma: Annotated[float, typer.Option("--focal-gamma", help=_h("focal_gamma"))] = _d("focal_gamma"),
    focal_alpha: Annotated[str, typer.Option("--focal-alpha", help=_h("focal_alpha"))] = str(_d("focal_alpha")),
    class_weight: Annotated[str, typer.Option("--class-weight", help=_h("class_weight"))] = _d("class_weight"),
    C: Annotated[float, typer.Option("--C", help=_h("C"))] = _d("C"),
    solver: Annotated[str, typer.Option("--solver", help=_h("solver"))] = _d("solver"),
    max_train: Annotated[int | None, typer.Option("--max-train", help=_h("max_train"))] = _d("max_train"),
    train_fraction: Annotated[float | None, typer.Option("--train-fraction", help=_h("train_fraction"))] = (
        _d("train_fraction")),
    resume: Annotated[str | None, typer.Option(
        "--resume", help="Continue a preempted or crashed run (id or unique prefix) from its checkpoint; "
                         "its saved options are used.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics JSON on stdout instead of the run id.")]
    = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")] = False,
) -> None:
    """Train one model (lr, cnn, dnabert6-tiny or a Hugging Face checkpoint) and record it in the registry."""
    from ..distributed import is_main
    from ..train.run import train_run

    config = None
    if resume is None:
        if not data:
            raise DnactxError("--data is required (DIR/dataset.parquet from `dnactx prepare`), or pass --resume RUN_ID")
        config = TrainConfig(
            data=data, model=model, size=size, mode=mode, name=name, site_context=site_context, finetune=finetune,
            trust_remote_code=trust_remote_code,
            epochs=epochs, patience=patience, lr=lr, head_lr=head_lr, batch_size=batch_size, grad_accum=grad_accum,
            warmup=warmup, precision=precision, seed=seed, loss=loss, pos_weight=pos_weight,
            focal_gamma=focal_gamma, focal_alpha=_optional_float(focal_alpha), class_weight=class_weight, C=C,
            solver=solver, max_train=max_train, train_fraction=train_fraction)
    result = train_run(config, state.home, resume=resume, quiet=quiet)
    if not is_main():  # under `accelerate launch`, rank 0 speaks for the run
        raise typer.Exit(code=0 if result["status"] in ("completed", "skipped") else 3)
    if not quiet:
        _summary(result, name or result["run_id"])
    if as_json:
        typer.echo(json.dumps(result["metrics"], indent=2, default=float))
    else:
        typer.echo(result["run_id"])
    if result["status"] != "completed":
        raise typer.Exit(code=3)


def register(app: typer.Typer) -> None:
    app.command("train", no_args_is_help=True)(train)
