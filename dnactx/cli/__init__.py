"""The ``dnactx`` command line: a thin Typer layer over the library; each command lives in its own module."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .. import __version__
from ..distributed import close_process_group, exit_process, is_distributed
from ..errors import EXIT_CODE_MEANINGS, DnactxError, ExitCode
from ..formatting import term
from ..outputs import from_os_error as path_clash
from ..outputs import is_path_clash
from ..storage import from_os_error, is_storage_error
from .command import DnactxGroup
from .common import HOME_HELP, console_err, set_root_home, state
from .usage import usage_message


def _epilog() -> str:
    lines = "\n".join(f"  {int(code):>3}  {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items())
    return "[bold]Exit codes[/] (every command):\n\n" + escape(lines).replace("\n", "\n\n")


app = typer.Typer(
    name="dnactx",
    help="Predict plant DNA methylation from sequence context: prepare, train, matrix, diagnose, report, compare, "
         "submit.",
    epilog=_epilog(),
    cls=DnactxGroup,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# Each module defines ``register(app)``; the order here is the order of ``dnactx --help``.
_COMMAND_MODULES = ("demo", "prepare", "pretrain", "train", "matrix", "diagnose", "report", "compare", "runs",
                    "export", "predict", "metaplot", "explain", "submit")


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
    scheme (``dnactx --help``), never a traceback.

    The process leaves through ``distributed.exit_process``, which tears torch.distributed down first and, in a
    rank of a torchrun/accelerate launch, exits without interpreter finalization (which can abort there).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = _run(args)
    except BaseException:  # a bug: its traceback, then exit status 1
        if not is_distributed():
            close_process_group()
            raise
        traceback.print_exc()
        code = 1
    exit_process(code)


def _run(args: list[str]) -> object:
    """Run the command line; the exit code of the documented scheme for anything a user can cause."""
    try:
        code = app(args=args, prog_name="dnactx", standalone_mode=False)
    except SystemExit as exc:
        return exc.code
    except DnactxError as exc:
        return _error(exc.message, exc.exit_code)
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `dnactx train` alone: Typer has shown its help
            return ExitCode.USAGE
        return _error(usage_message(exc, args), exc.exit_code)
    except typer.Abort:
        return _error("aborted, nothing done", ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        console_err.print("[bold red]interrupted[/]")
        return ExitCode.INTERRUPTED
    except OSError as exc:  # a full or read-only disk, or a file where a folder belongs: one line, not a traceback
        if is_path_clash(exc):
            return _error(path_clash(exc).message, ExitCode.USAGE)
        if not is_storage_error(exc):
            raise
        return _error(from_os_error(exc, _output_of(args)).message, ExitCode.STORAGE)
    except Exception as exc:  # a library's own exception for a full disk (safetensors, torch, pyarrow)
        if not is_storage_error(exc):
            raise
        return _error(from_os_error(exc, _output_of(args)).message, ExitCode.STORAGE)
    return code if isinstance(code, int) else ExitCode.OK


_OUTPUT_FLAGS = ("--out", "--plots", "--script-dir")


def _output_of(args: list[str]) -> Path:
    """Where the command writes, for a full-disk error that names no file: its --out (--plots, --script-dir), else
    the registry home."""
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if flag in _OUTPUT_FLAGS:
            if eq:
                return Path(value)
            if i + 1 < len(args):
                return Path(args[i + 1])
    return state.home


def _error(message: str, code: int) -> int:
    console_err.print(f"[bold red]error:[/] {term(message)}", soft_wrap=True, highlight=False)
    return code
