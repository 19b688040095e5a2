"""Grid axes: every TrainConfig grid field given as a comma list, parsed to typed, de-duplicated values."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import DnactxError
from ..train.config import flag_of, grid_fields
from ..train.fields import parse_value as parse_word
from ..train.fields import value_types

# Contract names for the main axes; the singular train flags are accepted as aliases.
AXIS_FLAGS = {"size": ("--sizes", "--size"), "mode": ("--modes", "--mode"), "seed": ("--seeds", "--seed")}


def axis_flags(f: dataclasses.Field) -> tuple[str, ...]:
    """The option names under which ``matrix`` accepts field ``f`` (first one is canonical)."""
    return AXIS_FLAGS.get(f.name, (flag_of(f),))


def parse_value(f: dataclasses.Field, text: str) -> Any:
    """One comma-list item for field ``f``, converted to the field's type; a DnactxError names the flag."""
    flag = axis_flags(f)[0]
    try:
        return parse_word(f, text, flag)
    except DnactxError as exc:
        example = "true,false" if value_types(f)[0] == (bool,) else "1,2"
        raise DnactxError(f"{exc}; give a comma list such as {flag} {example}") from None


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
