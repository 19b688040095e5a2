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
from ..errors import EXIT_CODE_MEANINGS, DnactxError, ExitCode
from .command import DnactxGroup
from .common import HOME_HELP, console_err, set_root_home
from .usage import usage_message


def _epilog() -> str:
    lines = "\n".join(f"  {int(code):>3}  {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items())
    return "[bold]Exit codes[/] (every command):\n\n" + escape(lines).replace("\n", "\n\n")


app = typer.Typer(
    name="dnactx",
    help="Predict plant DNA methylation from sequence context: prepare, train, matrix, diagnose, report, submit.",
    epilog=_epilog(),
    cls=DnactxGroup,
    no_args_is_help=True,
    add_completion=True,
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
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option("--home", envvar="DNACTX_HOME", help=HOME_HELP + " Also accepted after the command.",
                     show_default="./runs"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    set_root_home(ctx, home)


for _name in _COMMAND_MODULES:
    if importlib.util.find_spec(f"{__name__}.{_name}") is not None:
        importlib.import_module(f"{__name__}.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every mistake is one ``error:`` line on stderr and an exit code of the documented
    scheme (``dnactx --help``), never a traceback."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = app(args=args, prog_name="dnactx", standalone_mode=False)
    except DnactxError as exc:
        _error(exc.message, exc.exit_code)
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `dnactx train` alone: Typer has shown its help
            sys.exit(ExitCode.USAGE)
        _error(usage_message(exc, args), exc.exit_code)
    except typer.Abort:
        _error("aborted, nothing done", ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        console_err.print("[bold red]interrupted[/]")
        sys.exit(ExitCode.INTERRUPTED)
    finally:
        _close_process_group()
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


def _error(message: str, code: int) -> None:
    console_err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    sys.exit(code)


def _close_process_group() -> None:
    """Under torchrun/accelerate launch, tear torch.distributed down before the interpreter exits, as torch
    asks. Left to interpreter exit, a rank once aborted in CI after a completed run ("terminate called without
    an active exception", exit -6), so the launcher reported failure. Local to each rank: no rank waits."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
