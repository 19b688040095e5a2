"""The ``dnactx`` command line: a thin Typer layer over the library; each command lives in its own module."""

from __future__ import annotations

import importlib
import importlib.util
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .. import __version__
from ..distributed import close_process_group, exit_process, is_distributed
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
    """Console entry point: user errors become one line on stderr and a non-zero exit, never a traceback.

    The process leaves through ``distributed.exit_process``, which tears torch.distributed down first and, in a
    rank of a torchrun/accelerate launch, exits without interpreter finalization (which can abort there).
    """
    try:
        app(args=argv, standalone_mode=True)
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    except DnactxError as exc:
        console_err.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True, highlight=False)
        code = exc.exit_code
    except KeyboardInterrupt:
        console_err.print("[bold red]interrupted[/]")
        code = 130
    except BaseException:  # a bug: its traceback, then exit status 1
        if not is_distributed():
            close_process_group()
            raise
        traceback.print_exc()
        code = 1
    exit_process(code)
