"""``dnactx runs``: list, show, remove, export and sync the runs of the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from ..choices import SPLITS
from ..contracts import FACTS, RUN_IDENTITY, MetricsFile, RunRow, parse_metric, run_metric
from ..errors import DnactxError
from ..formatting import num, term, text, with_interval
from .command import DnactxCommand, DnactxGroup
from .common import HomeOption, RunIdArgument, RunIdsArgument, console, console_err, parse_csv, state

SHORT_ID = 10
_HEADLINE = ("val_auprc", "test_auprc")
# Module level: with postponed annotations Typer evaluates them in the module's globals.
StatusOpt = Annotated[str | None, typer.Option(
    "--status", help="Only runs with this status (comma list: completed,failed).")]
MatrixOpt = Annotated[str | None, typer.Option("--matrix", help="Only the runs of this matrix.")]
ModelOpt = Annotated[str | None, typer.Option(
    "--model", help="Only runs of this model (lr, cnn, a HF id) or family (transformer).")]
KindOpt = Annotated[str | None, typer.Option(
    "--kind", help="Only train runs (methylation models) or pretrain runs (masked DNA language models); "
                   "default both.")]


def _registry():
    """The registry of --home, for reading: a home without one is an error, never an empty file left behind."""
    from ..registry import Registry

    return Registry.open(state.home, create=False)


def _check_kind(kind: str | None) -> None:
    from ..runs import KINDS

    if kind is not None and kind not in KINDS:
        raise DnactxError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}; leave it out for both")


def _select(status: str | None, matrix: str | None, model: str | None, sort: str | None,
            reverse: bool, kind: str | None = None) -> list[RunRow]:
    from ..registry.store import missing_registry

    _check_kind(kind)
    missing = missing_registry(state.home)
    if missing:  # nothing to list is an empty list, said once on stderr
        console_err.print(missing, highlight=False, soft_wrap=True)
        return []
    runs = _registry().runs(status=parse_csv(status) or None, matrix=matrix, model=model, kind=kind)
    if sort:
        ref = parse_metric(sort)
        if not any(run_metric(r, ref) is not None for r in runs) and runs:
            where = f"split {ref.split}" + (f", context {ref.context}" if ref.context else "")
            raise DnactxError(f"no run has metric {sort!r} ({where}, name {ref.name}); try val_auprc, "
                              "val_auroc, test_CG_auprc or train_seconds")
        present = [r for r in runs if run_metric(r, ref) is not None]
        missing = [r for r in runs if run_metric(r, ref) is None]
        runs = sorted(present, key=lambda r: run_metric(r, ref), reverse=not reverse) + missing
    return runs


def _short_model(model: str | None) -> str:
    """``zhihan1996/DNA_bert_6`` → ``DNA_bert_6``; local checkpoint paths → their last part."""
    return text((model or "").rstrip("/").rsplit("/", 1)[-1])


def _runs_table(runs: list[RunRow], sort: str | None) -> Table:
    cols = list(_HEADLINE) if sort in (None, *_HEADLINE) else [sort, _HEADLINE[0]]
    matrices = {r["matrix"] for r in runs}
    title = f"{len(runs)} runs in {term(state.home)}"
    if len(matrices) == 1 and None not in matrices:
        title += f", matrix {term(matrices.pop())}"
        matrices = set()
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, show_edge=False, collapse_padding=True)
    # Sized for an 80-column pipe: ids, statuses, axes and numbers never shrink; model and matrix elide.
    table.add_column("id", no_wrap=True, min_width=SHORT_ID)
    table.add_column("status", no_wrap=True, min_width=9)
    table.add_column("model", no_wrap=True, overflow="ellipsis", min_width=6)
    axes = ["size", "mode"] + (["finetune"] if any(r.get("finetune") for r in runs) else []) + ["seed"]
    for name in axes:
        table.add_column(name, no_wrap=True)
    if matrices:
        table.add_column("matrix", no_wrap=True, overflow="ellipsis", min_width=6)
    for name in cols:
        split, _, rest = name.partition("_")
        header = f"{split}\n{rest.replace('_', ' ')}" if rest else name
        table.add_column(header, justify="right", min_width=5)  # numbers have no spaces: only headers wrap
    colour = {"completed": "green", "failed": "red", "running": "yellow", "preempted": "magenta",
              "interrupted": "magenta", "stale": "red", "missing": "red"}
    for r in runs:
        status = f"[{colour.get(r['status'], 'white')}]{term(r['status'])}[/]"
        cells = [r["id"][:SHORT_ID], status, term(_short_model(r["model"])),
                 *[term(text(r.get(a))) for a in axes]]
        if matrices:
            cells.append(term(text(r["matrix"])))
        table.add_row(*cells, *[num(run_metric(r, c), 3) for c in cols])
    return table


_MLM = (("masked_accuracy", "masked\nacc"), ("perplexity", "perplexity"), ("tokens_seen", "tokens"),
        ("steps", "steps"))


def _pretrain_table(runs: list[RunRow]) -> Table:
    """Pretrain runs: the model folder, its corpus, and the held-out masked-token figures."""
    table = Table(title=f"{len(runs)} pretrain run{'s' if len(runs) != 1 else ''} (masked DNA language models)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                  collapse_padding=True)
    table.add_column("id", no_wrap=True, min_width=SHORT_ID)
    table.add_column("status", no_wrap=True, min_width=9)
    table.add_column("model", no_wrap=True, overflow="ellipsis", min_width=6)
    table.add_column("genomes", no_wrap=True, overflow="ellipsis", min_width=6)
    for _, header in _MLM:
        table.add_column(header, justify="right", min_width=5)
    for r in runs:
        facts = (r.get("metrics") or {}).get(FACTS) or {}
        genomes = ", ".join(Path(g).name for g in (r.get("config") or {}).get("genomes") or [])
        acc = facts.get("masked_accuracy")
        table.add_row(r["id"][:SHORT_ID], term(r["status"]), term(_short_model(r["model"])), term(genomes),
                      "—" if acc is None else f"{100 * acc:.1f}%", num(facts.get("perplexity"), 3),
                      text(facts.get("tokens_seen")), text(facts.get("steps")))
    return table


def _plain_table(title: str) -> Table:
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                 collapse_padding=True)


def _metrics_table(m: MetricsFile) -> Table:
    names = ("n", "pos_rate", "auroc", "auprc", "f1_at_0_5", "f1_at_threshold", "brier", "ece")
    table = _plain_table(f"metrics (threshold {num(m.get('threshold'), 3)}, tuned on val)")
    table.add_column("split")
    table.add_column("ctx")
    for n in names:
        table.add_column(n.replace("_at_", "@").replace("_", "."), justify="right", no_wrap=True, min_width=5)
    for split in SPLITS:
        rows = [(None, m.get(split))] + list(((m.get("by_context") or {}).get(split) or {}).items())
        for ctx, vals in rows:
            if vals:
                table.add_row(split, term(ctx or "all"), *[text(vals.get(n), 3) for n in names])
    return table


def _pretrain_lines(run: RunRow) -> list[str]:
    """What a pretrain run was trained on and how far: corpus, options, budget."""
    cfg = run.get("config") or {}
    corpus, opts = cfg.get("corpus") or {}, cfg.get("pretrain_options") or {}
    facts = (run.get("metrics") or {}).get(FACTS) or {}
    genomes = corpus.get("genomes") or [{"path": g} for g in cfg.get("genomes") or []]
    lines = [f"model folder: {cfg.get('pretrain_out')}"]
    for g in genomes:
        size = f" ({g['bases']:,} bp, sha256 {str(g.get('sha256'))[:16]}…)" if g.get("bases") else ""
        lines.append(f"corpus: {g.get('path')}{size}")
    if corpus.get("train_bases"):
        lines.append(f"corpus: {corpus['train_bases']:,} training bases, {corpus.get('heldout_bases', 0):,} held-out "
                     f"bases, windows of {corpus.get('length')} bp")
    if opts:
        lines.append(f"model: {opts.get('arch')} {opts.get('layers')} layers, hidden {opts.get('hidden')}, "
                     f"tokenizer {opts.get('tokenizer')}, mask rate {opts.get('mask_rate')}")
    if facts.get("steps") is not None:
        lines.append(f"trained: {int(facts['steps']):,} steps, {int(facts.get('tokens_seen') or 0):,} tokens")
    return lines


def _show(run: RunRow) -> None:
    from ..runs import lineage_line

    info = Table.grid(padding=(0, 2))
    for key in ("kind", *RUN_IDENTITY, "cell", "data", "dataset_fingerprint", "created", "started", "finished", "host",
                "slurm_job_id", "device", "dnactx_version", "folder", "error"):
        if run.get(key) is not None:
            value = json.dumps(run[key]) if isinstance(run[key], dict) else str(run[key])
            info.add_row(f"[bold]{key}[/]", term(value))
    console.print(info)
    lines = _pretrain_lines(run) if run.get("kind") == "pretrain" else [lineage_line(run.get("config") or {})]
    for line in filter(None, lines):
        console.print(term(line), highlight=False, soft_wrap=True)
    m = run["metrics"]
    if any(s in m for s in ("val", "test")):
        from ..analysis.render import split_intervals

        console.print(_metrics_table(m))
        for split in SPLITS:
            line = split_intervals(m.get(split) or {})
            if line:
                console.print(f"{split} 95% intervals: {line}", highlight=False, markup=False)
    if m.get(FACTS):
        console.print("  ".join(f"[bold]{term(k)}[/] {term(text(v, 3))}" for k, v in m[FACTS].items()))
    if run["artifacts"]:
        table = _plain_table("artifacts")
        for col in ("kind", "path", "bytes", "sha256"):
            table.add_column(col)
        for a in run["artifacts"]:
            table.add_row(term(a["kind"]), term(a["path"]), text(a["bytes"]), text((a["sha256"] or "")[:16]))
        console.print(table)


def ls(
    status: StatusOpt = None,
    matrix: MatrixOpt = None,
    model: ModelOpt = None,
    sort: Annotated[str | None, typer.Option(
        "--sort", help="Sort by a metric, best (highest) first: val_auprc, test_CG_auprc, train_seconds, ...")
    ] = None,
    reverse: Annotated[bool, typer.Option("--reverse", help="Lowest first (for brier, ece, seconds).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the runs as a JSON list.")] = False,
    kind: KindOpt = None,
    home: HomeOption = None,
) -> None:
    """List runs (oldest first, or by --sort) as a table, or as JSON for scripts; pretrain runs follow in a table of
    their own with their held-out masked-token figures."""
    from ..registry.store import missing_registry

    runs = _select(status, matrix, model, sort, reverse, kind)
    if as_json:
        typer.echo(json.dumps(runs, indent=2))
    elif runs:
        trained = [r for r in runs if r.get("kind") != "pretrain"]
        pretrained = [r for r in runs if r.get("kind") == "pretrain"]
        if trained:
            console.print(_runs_table(trained, sort))
        if pretrained:
            console.print(_pretrain_table(pretrained))
    elif not missing_registry(state.home):
        console_err.print(f"no runs in {term(state.home.resolve())} match these filters", highlight=False,
                          soft_wrap=True)


def show(
    run_id: RunIdArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as a JSON object.")] = False,
    home: HomeOption = None,
) -> None:
    """Show one run: its state, config axes, metrics per split and context, artifacts, and its evaluations on
    new data (`dnactx predict --calls`)."""
    reg = _registry()
    run = reg.run(run_id)
    evaluations = reg.evaluations(run["id"])
    if as_json:
        typer.echo(json.dumps({**run, "evaluations": evaluations}, indent=2))
    else:
        _show(run)
        if evaluations:
            console.print(_evaluations_table(evaluations))


def _evaluations_table(evaluations: list[dict]) -> Table:
    """One row per predict --calls evaluation: where, how many labelled sites, AUROC/AUPRC with intervals."""
    table = _plain_table("evaluations on new data (dnactx predict --calls)")
    for col in ("created", "genome / regions", "labelled", "AUROC", "AUPRC", "r 10kb", "out"):
        table.add_column(col, justify="right" if col in ("labelled", "r 10kb") else "left")
    for e in evaluations:
        overall = (((e.get("summary") or {}).get("evaluation") or {}).get("sites") or {}).get("all") or {}
        where = Path(e.get("regions") or e.get("genome") or "").name
        table.add_row(text(e.get("created")), term(text(where)), text(e.get("n_labelled")),
                      with_interval(e.get("auroc"), overall.get("auroc_ci")),
                      with_interval(e.get("auprc"), overall.get("auprc_ci")), num(e.get("pearson_10kb"), 3),
                      term(text(e.get("out"))))
    return table



def rm(
    run_ids: RunIdsArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    home: HomeOption = None,
) -> None:
    """Remove runs: their folders and their registry rows."""
    reg = _registry()
    ids = list(dict.fromkeys(reg.resolve(r) for r in run_ids))
    if not yes:
        typer.confirm(f"Remove {len(ids)} run(s) and their folders ({', '.join(i[:SHORT_ID] for i in ids)})?",
                      abort=True)
    for run_id in ids:
        reg.delete_run(run_id)
    console_err.print(f"removed {len(ids)} run(s)", highlight=False)


def export(
    fmt: Annotated[str, typer.Option("--format", help="csv (one row per run, a column per metric) | json.")
                   ] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    status: StatusOpt = None,
    matrix: MatrixOpt = None,
    model: ModelOpt = None,
    kind: KindOpt = None,
    home: HomeOption = None,
) -> None:
    """Export runs with their metrics for spreadsheets (csv) or scripts (json)."""
    from ..atomic import write_text
    from ..outputs import check_file, claim_file
    from ..registry.export import export_runs, is_runs_export

    if fmt not in ("csv", "json"):
        raise DnactxError(f"--format must be csv or json, got {fmt!r}")
    if out is not None:
        check_file(out)
        claim_file(out, "runs export", is_runs_export)
    exported = export_runs(_select(status, matrix, model, None, False, kind), fmt)
    if out is None:
        typer.echo(exported, nl=False)
    else:
        write_text(out, exported)
        console_err.print(f"written: {term(out)}", highlight=False)


def sync(
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="Recreate registry.sqlite from the run folders alone (keeps the old one as .bak).")
    ] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Also drop rows whose run folder is gone.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON.")] = False,
    home: HomeOption = None,
) -> None:
    """Import run folders the registry is missing (or refresh stale rows); --rebuild starts from scratch."""
    from ..registry import rebuild as rebuild_registry
    from ..registry import sync as sync_registry

    report = rebuild_registry(state.home) if rebuild else sync_registry(state.home, prune=prune)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    done = "rebuilt from" if report.rebuilt else "synced with"
    console_err.print(f"registry {done} {term(state.home)}: {len(report.imported)} imported, "
                      f"{len(report.refreshed)} refreshed, {report.matrices} matrices, "
                      f"{report.datasets} datasets", highlight=False)
    for run_id, settled in report.settled:
        console_err.print(f"settled {run_id}: its process is gone, now {settled}", highlight=False)
    for run_id, error in report.failed:
        console_err.print(f"[yellow]skipped[/] {term(run_id)}: {term(error)}", highlight=False, soft_wrap=True)
    if report.orphans and not report.pruned:
        console_err.print(f"{len(report.orphans)} registry row(s) have no folder any more; "
                          "`dnactx runs sync --prune` drops them", highlight=False)
    elif report.pruned:
        console_err.print(f"dropped {report.pruned} row(s) without a folder", highlight=False)


def register(app: typer.Typer) -> None:
    runs_app = typer.Typer(help="List, show, remove, export and sync the runs of the registry (--home).",
                           no_args_is_help=True, cls=DnactxGroup)
    app.add_typer(runs_app, name="runs")
    runs_app.command("ls", cls=DnactxCommand)(ls)
    runs_app.command("show", cls=DnactxCommand)(show)
    runs_app.command("rm", cls=DnactxCommand)(rm)
    runs_app.command("export", cls=DnactxCommand)(export)
    runs_app.command("sync", cls=DnactxCommand)(sync)
