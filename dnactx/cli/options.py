"""Typer options from one source: TrainConfig's fields (flag, help, type, choices) become ``train``'s options (one
value each) or ``matrix``'s and ``submit matrix``'s (comma lists); ``option`` declares any other option the same way.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ..matrix.axes import axis_flags
from ..train.config import TrainConfig, check_name, flag_of, grid_fields
from ..train.fields import choices, completions, is_flag, parse_value, type_label
from .common import HomeOption

GRID_PANEL = "Grid: every train option, as a comma list"


def option(name: str, annotation: Any, default: Any, *flags: str, **settings: Any) -> inspect.Parameter:
    """One keyword parameter that Typer turns into an option: ``flags``, ``help``, ``rich_help_panel``, ..."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[annotation, typer.Option(*flags, **settings)])


def home_option() -> inspect.Parameter:
    """``--home`` after the command, for commands built with ``with_options``."""
    return inspect.Parameter("home", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=HomeOption)


def train_options() -> list[inspect.Parameter]:
    """One option per TrainConfig field: booleans are flags, everything else one word parsed by the field's type."""
    params = []
    for f in dataclasses.fields(TrainConfig):
        flag = flag_of(f)
        if is_flag(f):
            flags = f"{flag}/--no-{flag[2:]}" if f.default else flag
            params.append(option(f.name, bool, f.default, flags, help=f.metadata["help"]))
            continue
        default = str(f.default) if f.default not in (None, "") else None  # a word, parsed like a typed one
        params.append(option(f.name, str | None, default, flag, help=f.metadata["help"], metavar=_metavar(f),
                             autocompletion=_completer(f, comma=False)))
    return params


def grid_options() -> list[inspect.Parameter]:
    """One comma-list option per grid field (``--sizes``/``--modes`` for size and mode), kept as typed."""
    return [option(f.name, str | None, None, *axis_flags(f), rich_help_panel=GRID_PANEL, show_default=False,
                   help=f.metadata["help"] + " Comma list: each value is a grid axis value.",
                   metavar=_metavar(f) + ",…", autocompletion=_completer(f, comma=True))
            for f in grid_fields()]


def config_from_options(options: dict[str, Any]) -> TrainConfig:
    """The TrainConfig of parsed ``train`` options: each word becomes its field's type."""
    values = {}
    for f in dataclasses.fields(TrainConfig):
        value = options.get(f.name)
        if value is not None:
            values[f.name] = value if isinstance(value, bool) else parse_value(f, value)
    if values.get("name") is not None:
        values["name"] = check_name(values["name"])
    return TrainConfig(**values)


def grid_values(options: dict[str, Any]) -> dict[str, str | None]:
    """The grid comma lists as the user typed them (None where not given)."""
    return {f.name: options.get(f.name) for f in grid_fields()}


def with_options(fn: Callable[..., Any], *groups: list[inspect.Parameter]) -> Callable[..., Any]:
    """Give ``fn(**options)`` the signature Typer reads its options from: ``groups`` in order."""
    params = [p for group in groups for p in group]
    fn.__signature__ = inspect.Signature(params)
    fn.__annotations__ = {p.name: p.annotation for p in params}
    return fn


def _metavar(f: dataclasses.Field) -> str:
    """``[up|down|both]`` for a closed set of values, ``<int>`` for a type."""
    closed = choices(f) or completions(f)
    return f"[{type_label(f)}]" if closed else f"<{type_label(f)}>"


def _completer(f: dataclasses.Field, *, comma: bool) -> Callable[[str], list[str]] | None:
    """Shell completion for one value of ``f`` (with ``comma``: for the item after the last comma)."""
    offered = completions(f)
    if not offered:
        return None

    def complete(incomplete: str) -> list[str]:
        done, sep, last = incomplete.rpartition(",") if comma else ("", "", incomplete)
        return [done + sep + c for c in offered if c.startswith(last)]

    return complete
