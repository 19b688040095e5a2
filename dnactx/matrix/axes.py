"""Grid axes: every TrainConfig grid field given as a comma list, parsed to typed, de-duplicated values."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import DnactxError
from ..train.config import flag_of, grid_fields, normalise_mode

# Contract names for the two main axes; the singular train flags are accepted as aliases.
AXIS_FLAGS = {"size": ("--sizes", "--size"), "mode": ("--modes", "--mode")}

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NONE = {"none", "null"}


def axis_flags(f: dataclasses.Field) -> tuple[str, ...]:
    """The option names under which ``matrix`` accepts field ``f`` (first one is canonical)."""
    return AXIS_FLAGS.get(f.name, (flag_of(f),))


def parse_value(f: dataclasses.Field, text: str) -> Any:
    """One comma-list item for field ``f``, converted to the field's type; a DnactxError names the flag."""
    kind = str(f.type).replace(" ", "")
    optional = kind.endswith("|None")
    base = kind.removesuffix("|None")
    raw = text.strip()
    flag = axis_flags(f)[0]
    if optional and raw.lower() in _NONE:
        return None
    try:
        if base == "bool":
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise ValueError
        if base == "int":
            return int(raw)
        if base == "float":
            return float(raw)
    except ValueError:
        want = {"bool": "true or false", "int": "an integer", "float": "a number"}[base]
        raise DnactxError(f"{flag}: {raw!r} is not {want}; give a comma list such as "
                          f"{flag} {'true,false' if base == 'bool' else '1,2'}") from None
    if f.name == "mode":
        return normalise_mode(raw)
    return raw


def parse_axis(f: dataclasses.Field, text: str) -> list[Any]:
    """``"50, 100,50"`` → ``[50, 100]``: typed values in the given order, duplicates dropped."""
    values: list[Any] = []
    for part in text.split(","):
        if not part.strip():
            continue
        value = parse_value(f, part)
        if value not in values:
            values.append(value)
    if not values:
        raise DnactxError(f"{axis_flags(f)[0]} needs at least one value (a comma list), got {text!r}")
    return values


def parse_axes(raw: dict[str, str | None]) -> dict[str, list[Any]]:
    """Field name → typed values for every grid field the user gave, in TrainConfig field order."""
    axes: dict[str, list[Any]] = {}
    for f in grid_fields():
        text = raw.get(f.name)
        if text is not None:
            axes[f.name] = parse_axis(f, text)
    unknown = set(raw) - {f.name for f in grid_fields()}
    if unknown:
        raise DnactxError(f"not a grid option: {', '.join(sorted(unknown))}")
    return axes
