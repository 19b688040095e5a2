"""``dnactx train``: build a TrainConfig from options, run it on the shared trainer, print the run id last."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ..errors import DnactxError, exit_code_for
from ..formatting import num, pct, term, text
from .command import DnactxCommand
from .common import console_err, state
from .options import config_from_options, home_option, option, train_options, with_options


def _summary(result: dict, name: str, folder: Path) -> None:
    from rich.table import Table

    from ..analysis.render import split_intervals

    m = result["metrics"] or {}
    table = Table(title=f"{term(name)}  {term('[' + result['status'] + ']')}", title_justify="left")
    for col in ("split", "n", "pos rate", "AUROC", "AUPRC", "F1@0.5", "F1@thr"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for split in ("val", "test"):
        s = m.get(split) or {}
        table.add_row(split, text(s.get("n")), pct(s.get("pos_rate"), 3), num(s.get("auroc"), 3),
                      num(s.get("auprc"), 3), num(s.get("f1_at_0_5"), 3), num(s.get("f1_at_threshold"), 3))
    console_err.print(table)
    if m:
        f = m.get("facts") or {}
        console_err.print(f"threshold {num(m.get('threshold'), 4)} (max F1 on val) · best epoch "
                          f"{text(f.get('best_epoch'))} of {text(f.get('epochs_run'))} · "
                          f"{num(f.get('train_seconds'), 1)} s · {num(f.get('samples_per_s'), 0)} samples/s · "
                          f"truncated {pct(f.get('truncated_fraction'), 1)}"
                          + (" · frozen cache hit" if f.get("cache_hit") else ""), highlight=False)
        line = split_intervals(m.get("test") or {})
        if line:
            console_err.print(f"test, 95% intervals: {line}", highlight=False, markup=False)
        level = (m.get("level") or {}).get("test")
        if level:
            console_err.print(f"test level (mc/cov): {_level_line(level)}", highlight=False, markup=False,
                              soft_wrap=True)
    console_err.print(f"run folder: {term(folder)}", highlight=False, soft_wrap=True)


def _level_line(level: dict) -> str:
    """A level run's test figures with their intervals, and Pearson r per context."""
    ci = level.get("ci") or {}

    def figure(name: str, key: str) -> str:
        interval = ci.get(key)
        return f"{name} {num(level.get(key), 3)}" + (f" [{num(interval[0], 3)}, {num(interval[1], 3)}]"
                                                    if interval else "")

    contexts = " / ".join(f"{c} {num(e.get('pearson'), 3)}" for c, e in (level.get("by_context") or {}).items())
    return " · ".join([figure("Pearson r", "pearson"), figure("Spearman r", "spearman"), figure("MAE", "mae"),
                       figure("read-weighted R²", "r2_weighted"), f"Pearson r by context {contexts}"])


def _from_id_file(options: dict[str, Any]) -> str | None:
    """The run to resume that --run-id-file names; exits 0 when it names a completed run (nothing to do)."""
    from ..train.run import run_in_id_file

    if options["resume"] is not None:
        raise DnactxError("give --resume RUN_ID or --run-id-file FILE, not both")
    folder, what = run_in_id_file(options["run_id_file"], state.home)
    if what == "done":
        console_err.print(f"run {folder.id} ({term(options['run_id_file'])}) is already completed; nothing to train",
                          highlight=False, soft_wrap=True)
        typer.echo(folder.id)
        raise typer.Exit(code=0)
    if folder is not None:
        console_err.print(f"resuming run {folder.id} from its checkpoint ({term(options['run_id_file'])})",
                          highlight=False, soft_wrap=True)
        return folder.id
    if what != "no run yet":
        console_err.print(f"{term(what)}; starting a new run", highlight=False, soft_wrap=True)
    return None


def train(**options: Any) -> None:
    """Train one model (lr, cnn, dnabert6-tiny or a Hugging Face checkpoint) and record it in the registry."""
    from ..atomic import write_text
    from ..distributed import is_main
    from ..train.run import train_run

    id_file = options["run_id_file"]
    resume = _from_id_file(options) if id_file is not None else options["resume"]
    config = None
    if resume is None:
        if not options["data"]:
            raise DnactxError("--data is required (DIR/dataset.parquet from `dnactx prepare`), or pass --resume RUN_ID")
        config = config_from_options(options)
    on_start = (lambda run_id: write_text(id_file, run_id + "\n")) if id_file is not None else None
    result = train_run(config, state.home, resume=resume, quiet=options["quiet"], on_start=on_start,
                       trust_remote_code=bool(options["trust_remote_code"]))
    code = exit_code_for([result["status"]])
    if not is_main():  # under `accelerate launch`, rank 0 speaks for the run
        raise typer.Exit(code=code)
    folder = (state.home / result["run_id"]).resolve()
    if not options["quiet"]:
        _summary(result, options["name"] or result["run_id"], folder)
    if options["as_json"]:
        out = {"run_id": result["run_id"], "folder": str(folder), "status": result["status"],
               "metrics": result["metrics"]}
        typer.echo(json.dumps(out, indent=2, default=float))
    else:
        typer.echo(result["run_id"])
    if code:
        raise typer.Exit(code=code)


_OWN = [
    option("resume", str | None, None, "--resume", help="Continue a preempted or crashed run (id or unique prefix) "
           "from its checkpoint; its saved options are used."),
    option("run_id_file", Path | None, None, "--run-id-file", help="Keep the run id in FILE, written when the run "
           "starts; when FILE already names a run with a checkpoint (preempted), that run is resumed instead, and "
           "when it names a completed run nothing is trained. `submit train` jobs use it to continue after a requeue."),
    option("as_json", bool, False, "--json", help="Print {run_id, folder, status, metrics} as JSON on stdout "
           "instead of the run id."),
    option("quiet", bool, False, "--quiet", "-q", help="No progress or summary on stderr."),
]


def register(app: typer.Typer) -> None:
    app.command("train", no_args_is_help=True, cls=DnactxCommand)(
        with_options(train, train_options(), _OWN, [home_option()]))
