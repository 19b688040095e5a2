"""``dnactx demo``: prepare → matrix → diagnose → report → tracks on the bundled example, then say where it all is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .command import DnactxCommand
from .common import console, console_err


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's data, runs and report.")] = Path(
        "dnactx-demo"),
    jobs: Annotated[int, typer.Option("--jobs", help="Matrix cells trained in parallel.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print where everything is as JSON.")] = False,
) -> None:
    """Run the whole pipeline on the bundled example (250 kb of TAIR10 chr1 with its real calls) on a CPU."""
    from ..demo import run_demo

    result = run_demo(out, jobs=jobs, say=lambda line: console_err.print(line, highlight=False, markup=False,
                                                                   soft_wrap=True))
    markdown = result.pop("markdown")
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(markdown, nl=False)
    console.print(f"\n[bold]demo finished in {result['seconds']} s[/]")
    rows = [("dataset", result["dataset"]), ("registry home", result["home"]),
            ("matrix summary", result["summary_md"]), ("report", result["report"].get("markdown", "")),
            ("report (html)", result["report"].get("html", ""))]
    rows += [(f"diagnosis ({k})", f"{v['plots']}  (run {v['run'][:10]})") for k, v in result["diagnose"].items()]
    rows.append(("genome tracks", f"{result['tracks']}  (bedGraph + bigWig per context, for IGV)"))
    for label, where in rows:
        console.print(f"  {label:<18} {where}", highlight=False, soft_wrap=True)
    console.print(f"  next: dnactx --home {result['home']} runs ls", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("demo", cls=DnactxCommand)(demo)
