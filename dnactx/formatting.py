"""How values read in human output (terminal tables, findings, Markdown): numbers, percentages, counts, the one
missing-value glyph and the one Markdown table builder. Machine output (JSON, CSV) keeps raw values and empty cells.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

MISSING = "—"  # a value that is absent, undefined (AUROC without positives) or not applicable


def _missing(x: object) -> bool:
    return x is None or x == "" or (isinstance(x, float) and not math.isfinite(x))


def num(x: float | None, digits: int | None = None) -> str:
    """``digits`` decimals; by default two, or more for small values so they keep two significant digits
    (0.51, 0.024, 3.1e-05)."""
    if _missing(x):
        return MISSING
    x = float(x)
    if digits is not None:
        return f"{x:.{digits}f}"
    if abs(x) >= 0.095 or x == 0:
        return f"{x:.2f}"
    return f"{x:.3f}" if abs(x) >= 0.001 else f"{x:.2g}"


def pct(x: float | None, digits: int | None = None) -> str:
    """A fraction as a percentage: ``digits`` decimals, by default none above 9.5% and one below (24%, 2.4%)."""
    if _missing(x):
        return MISSING
    x = float(x)
    if digits is None:
        digits = 0 if abs(x) >= 0.095 else 1
    return f"{100 * x:.{digits}f}%"


def count(n: float | None) -> str:
    """An integer with thousands separators (464,121)."""
    return MISSING if _missing(n) else f"{int(n):,}"


def signed(x: float | None, digits: int = 3) -> str:
    """A difference, always with its sign (+0.012, -0.250)."""
    return MISSING if _missing(x) else f"{float(x):+.{digits}f}"


def with_interval(value: float | None, interval: Sequence[float] | None, digits: int = 3) -> str:
    """A value and its interval: ``0.285 [0.153, 0.431]`` (the value alone when there is no interval)."""
    shown = num(value, digits)
    return shown + (f" [{num(interval[0], digits)}, {num(interval[1], digits)}]" if interval else "")


def text(value: object, digits: int | None = None) -> str:
    """Any table cell: the glyph when missing, floats through :func:`num`, everything else as ``str``."""
    if _missing(value):
        return MISSING
    if isinstance(value, float):
        return num(value, digits)
    return str(value)


# Characters a terminal or a Markdown renderer would act on rather than show: C0/C1 controls (newline, tab, ESC that
# starts colour codes and OSC 8 hyperlinks), bidi and zero-width format characters, line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
                      "\ufff9-\ufffb]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(value: object) -> str:
    """``str(value)`` with every control or invisible format character written out as an escape (``\\n``,
    ``\\x1b``, ``\\u202e``): a stored name shows what it holds and can neither move the cursor, colour the
    terminal, open a hyperlink nor break a line of a table."""
    shown = str(value)
    if not _CONTROL.search(shown):
        return shown
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(0)) or (f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100
                                                            else f"\\u{ord(m.group(0)):04x}"), shown)


def term(value: object) -> str:
    """A user's value (a run or chromosome name, a path, a model id) for Rich console output: control characters
    written out (:func:`printable`) and Rich markup escaped, so ``[/bold]`` or ``[link=...]`` reads as typed."""
    from rich.markup import escape

    return escape(printable(value))


class Markdown(str):
    """Text that is already Markdown (written by dnactx, with user values escaped inside): kept as it is."""


# Characters that start Markdown markup anywhere in a line; ``_`` only where it can open or close emphasis; ``]``
# only where a link or an image would follow (``](``, ``][``), and ``[`` only at the start of a line, where a link
# definition (``[x]: url``) could begin: an interval such as [0.13, 0.37] reads as written in the .md file too.
_MARKUP = re.compile(r"[\\`*<>&|~]|\](?=[(\[])|(?<!\w)_|_(?!\w)|(?<=^)\[|(?<=^ )\[|(?<=^  )\[|(?<=^   )\[",
                     re.MULTILINE)


def md_escape(value: object) -> str:
    """Text that Markdown shows exactly as written: markup characters backslash-escaped, so a run name or a config
    value can neither break a table row nor become a link, an image, emphasis or (where the renderer allowed it)
    HTML. :class:`Markdown` is kept as it is, only its table pipes escaped."""
    if isinstance(value, Markdown):
        return str(value).replace("|", "\\|")
    return _MARKUP.sub(lambda m: "\\" + m.group(0), printable(value))


def md_code(value: object) -> Markdown:
    """``value`` as an inline code span: shown verbatim whatever it holds (backticks included)."""
    body = printable(value)
    fence = "`" * (max((len(run) for run in re.findall("`+", body)), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return Markdown(f"{fence}{pad}{body}{pad}{fence}")


_NUMBER = re.compile(r"^[-+−]?(\d[\d,]*(\.\d+)?(e[-+]?\d+)?%?)(\s.*)?$")


def _numeric(cells: list[str]) -> bool:
    """A column of numbers (a number may be followed by an interval or ± sd), missing values aside."""
    present = [c for c in cells if c != MISSING]
    return bool(present) and all(_NUMBER.match(c) for c in present)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]], digits: int | None = None) -> str:
    """A GitHub-flavoured Markdown table; each cell through :func:`text` (so missing values read ``—``) and
    :func:`md_escape` (so it shows as written), except :class:`Markdown` cells. Columns of numbers are
    right-aligned."""
    cells = [[c if isinstance(c, Markdown) else text(c, digits) for c in row] for row in rows]
    columns = list(zip(*cells, strict=True)) if cells else [() for _ in headers]
    rule = ["---:" if _numeric([str(c) for c in col]) else "---" for col in columns]
    out = ["| " + " | ".join(md_escape(h) for h in headers) + " |", "|" + "|".join(rule) + "|"]
    out += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in cells]
    return "\n".join(out)
