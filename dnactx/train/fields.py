"""TrainConfig fields as command-line words: the types a field takes, its choices, and the parser of one word."""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any

from ..errors import DnactxError
from .config import TrainConfig, flag_of, normalise_mode

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NONE = {"none", "null"}
# A word is tried against a field's types in this order, so "auto" falls through `float` to `str`.
_ORDER = (bool, int, float)
_WANT = {bool: "true or false", int: "an integer", float: "a number"}


@cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def value_types(f: dataclasses.Field) -> tuple[tuple[type, ...], bool]:
    """The types a word for ``f`` may become, in the order they are tried, and whether ``none`` is accepted."""
    hint = _hints()[f.name] if isinstance(f.type, str) else f.type  # a string under postponed annotations
    union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    members = typing.get_args(hint) if union else (hint,)
    kinds = [t for t in members if t is not type(None)]
    kinds.sort(key=lambda t: _ORDER.index(t) if t in _ORDER else len(_ORDER))
    return tuple(kinds), type(None) in members


def is_flag(f: dataclasses.Field) -> bool:
    return value_types(f) == ((bool,), False)


def choices(f: dataclasses.Field) -> list[str] | None:
    """The values a choice field takes (``top:N`` stands for any N), or None for a free value."""
    enum = f.metadata.get("choices")
    return [c.value for c in enum] if enum else None


def type_label(f: dataclasses.Field) -> str:
    """``up|down|both``, ``true|false``, ``int``, ``float|none`` (a default that ``none`` switches off), ..."""
    if choices(f):
        return "|".join(choices(f))
    kinds, optional = value_types(f)
    names = ["true|false" if t is bool else t.__name__ for t in kinds]
    return "|".join(names + (["none"] if optional and f.default is not None else []))


def completions(f: dataclasses.Field) -> list[str]:
    """What a shell offers for one value of ``f``: its choices (``top:N`` as ``top:``, ``lora:R`` as ``lora:``), or
    true/false."""
    if choices(f):
        return [c.split(":", 1)[0] + ":" if c.endswith((":N", ":R")) else c for c in choices(f)]
    return ["true", "false"] if value_types(f)[0] == (bool,) else []


def parse_value(f: dataclasses.Field, text: str, flag: str | None = None) -> Any:
    """One word for field ``f`` as the field's type (a number where a number is meant); a DnactxError names
    ``flag`` (default: the field's own)."""
    raw = text.strip()
    kinds, optional = value_types(f)
    if optional and raw.lower() in _NONE:
        return None
    for kind in kinds:
        try:
            value = _convert(kind, raw)
        except ValueError:
            continue
        return normalise_mode(value) if f.name == "mode" else value
    want = " or ".join(_WANT[k] for k in kinds if k in _WANT) + (" or none" if optional else "")
    raise DnactxError(f"{flag or flag_of(f)}: {raw!r} is not {want}")


def _convert(kind: type, raw: str) -> Any:
    if kind is bool:
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise ValueError(raw)
    return kind(raw)
