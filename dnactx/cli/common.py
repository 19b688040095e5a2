"""Shared CLI state and helpers: the registry home (before or after the command), consoles, comma lists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()
console_err = Console(stderr=True)

HOME_HELP = "Run registry folder (registry.sqlite + one folder per run)."


@dataclass
class _State:
    home: Path = field(default_factory=lambda: Path("runs"))
    home_typed: bool = False  # given as `dnactx --home DIR COMMAND`, not from DNACTX_HOME or the default


state = _State()


def set_root_home(ctx: typer.Context, home: Path | None) -> None:
    """``dnactx --home DIR ...`` (or DNACTX_HOME, or ./runs)."""
    state.home = home if home is not None else Path("runs")
    source = ctx.get_parameter_source("home")
    state.home_typed = source is not None and source.name == "COMMANDLINE"


def _set_command_home(ctx: typer.Context, param: typer.CallbackParam, home: Path | None) -> Path | None:
    """``dnactx COMMAND --home DIR``: the same as before the command; two different homes are an error."""
    if home is None:
        return None
    if state.home_typed and Path(home) != state.home:
        raise typer.BadParameter(f"given twice ({state.home} before the command, {home} after it); give it once",
                                 ctx=ctx, param=param)
    state.home, state.home_typed = Path(home), True
    return home


# `--home` after the command: every command that reads or writes the registry declares `home: HomeOption = None`.
HomeOption = Annotated[Path | None, typer.Option(
    "--home", help=HOME_HELP + " Also accepted before the command; env DNACTX_HOME.", show_default="./runs",
    callback=_set_command_home, expose_value=False)]


# `--trust-remote-code` wherever a model is loaded: only the command line opts in, never a stored config.
TrustOption = Annotated[bool, typer.Option(
    "--trust-remote-code", help="Allow the Python code the model's checkpoint ships (DNABERT-2, HyenaDNA ...; read "
    "it first). Only code whose sha256 matches what training recorded runs; a run's config.json never allows it.")]
# The run-id argument, declared once: a command that also accepts a folder says which (``run_argument(...)``).
RUN_ID_HELP = "Run id or a unique prefix of it (see `dnactx runs ls`)"


def run_argument(accepts: str = "") -> typer.models.ArgumentInfo:
    """The run-id argument's declaration; ``accepts``: what else the command takes in its place."""
    return typer.Argument(help=RUN_ID_HELP + (f", {accepts}" if accepts else "") + ".")


RunIdArgument = Annotated[str, run_argument()]
RunIdsArgument = Annotated[list[str], typer.Argument(help="Run ids or unique prefixes (see `dnactx runs ls`).")]
ModelArgument = Annotated[str, run_argument("a run folder, or a folder written by `dnactx export`")]


def complete(words: tuple[str, ...], *, comma: bool = False) -> Callable[[str], list[str]]:
    """Shell completion offering ``words`` (dnactx.choices' tuples); with ``comma``, for the item after the last
    comma of a comma list."""
    def offer(incomplete: str) -> list[str]:
        done, sep, last = incomplete.rpartition(",") if comma else ("", "", incomplete)
        return [done + sep + w for w in words if w.startswith(last)]

    return offer


def parse_csv(text: str | None) -> list[str]:
    """``"a, b,c"`` → ``["a", "b", "c"]``; empty or None → ``[]``."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]
