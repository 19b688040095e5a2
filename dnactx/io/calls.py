"""Stream a call file in chunks of common columns, with line numbers in every parse error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DnactxError
from .detect import Layout
from .formats import CallChunk, Columns
from .opener import GZIP_ERRORS, gzip_error, open_binary

CHUNK_ROWS = 250_000
_TOKENIZE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def iter_calls(path: Path, layout: Layout, chunk_rows: int = CHUNK_ROWS, mod_code: str = "m") -> Iterator[CallChunk]:
    """Parse ``path`` chunk by chunk; blank lines are ignored, any other bad line stops with its number.

    ``mod_code`` picks the modkit rows to read (m, h or m+h); other formats ignore it."""
    spec = layout.spec
    names = list(range(layout.ncols))
    text_cols = {0: str} | ({1: str} if spec.name == "cgmap" else {})
    line = layout.header_lines + 1  # file line number of the next row
    with open_binary(path) as fh:
        try:
            reader = pd.read_csv(
                fh, sep=spec.sep, header=None, names=names, skiprows=layout.header_lines, chunksize=chunk_rows,
                dtype=text_cols, keep_default_na=False, na_values=[""], skip_blank_lines=False,
                engine="c", comment=None,
            )
            for df in reader:
                lines = np.arange(line, line + len(df), dtype=np.int64)
                line += len(df)
                df, lines = _drop_blank(df, lines, path, layout)
                if len(df):
                    yield spec.parse(Columns(df, path, spec.name, lines, stated_context=layout.stated_context,
                                             mod_code=mod_code))
        except GZIP_ERRORS as exc:
            raise gzip_error(path, exc) from None
        except pd.errors.ParserError as exc:
            raise _parser_error(path, layout, exc) from None
        except UnicodeDecodeError as exc:
            raise DnactxError(f"--calls {path} near line {line}: not text ({exc.reason}); "
                              "is it a binary or differently compressed file?") from None


def _drop_blank(df: pd.DataFrame, lines: np.ndarray, path: Path, layout: Layout) -> tuple[pd.DataFrame, np.ndarray]:
    missing = df.isna().to_numpy()
    if not missing.any():
        return df, lines
    blank = missing.all(axis=1)
    short = np.flatnonzero(missing.any(axis=1) & ~blank)
    if short.size:
        row = int(short[0])
        n = int((~missing[row]).sum())
        raise DnactxError(f"--calls {path} line {int(lines[row])}: {n} of {layout.ncols} columns "
                          f"({layout.spec.columns}) for format {layout.spec.name}; the line is short or has "
                          "an empty field; fix or remove it (a truncated file?)")
    keep = ~blank
    return df.loc[keep], lines[keep]


def _parser_error(path: Path, layout: Layout, exc: Exception) -> DnactxError:
    m = _TOKENIZE.search(str(exc))
    if m:
        return DnactxError(f"--calls {path} line {m.group(2)}: {m.group(3)} columns, expected {m.group(1)} "
                           f"({layout.spec.columns}) for format {layout.spec.name}; fix or remove that line")
    return DnactxError(f"--calls {path}: cannot parse as {layout.spec.name} ({' '.join(str(exc).split())}); "
                       "check the file or --format")
