"""The ``dnactx`` command line: a thin Typer layer over the library; each command lives in its own module."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .. import __version__
from ..errors import DnactxError
from .common import console_err, state

app = typer.Typer(
    name="dnactx",
    help="Predict plant DNA methylation from sequence context: prepare, train, matrix, diagnose, report, submit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# Each module defines ``register(app)``; the order here is the order of ``dnactx --help``.
_COMMAND_MODULES = ("demo", "prepare", "train", "matrix", "diagnose", "report", "runs", "submit")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dnactx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    home: Annotated[
        Path | None,
        typer.Option("--home", envvar="DNACTX_HOME", help="Run registry folder (registry.sqlite + one folder per run).",
                     show_default="./runs"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    state.home = home if home is not None else Path("runs")


for _name in _COMMAND_MODULES:
    if importlib.util.find_spec(f"{__name__}.{_name}") is not None:
        importlib.import_module(f"{__name__}.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and a non-zero exit, never a traceback."""
    try:
        app(args=argv, standalone_mode=True)
    except DnactxError as exc:
        console_err.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True, highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console_err.print("[bold red]interrupted[/]")
        sys.exit(130)
    finally:
        _close_process_group()


def _close_process_group() -> None:
    """Under torchrun/accelerate launch, tear torch.distributed down before the interpreter exits, as torch
    asks. Left to interpreter exit, a rank once aborted in CI after a completed run ("terminate called without
    an active exception", exit -6), so the launcher reported failure. Local to each rank: no rank waits."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
