"""A Rich live table of the grid while a matrix runs (only on a terminal, never when quiet)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..formatting import num, term, text
from .spec import Cell

_STYLE = {"completed": "green", "skipped": "green", "failed": "red", "preempted": "yellow", "running": "cyan",
          "busy": "yellow"}


class LiveTable:
    """Cell rows with status and val/test AUPRC, refreshed as cells start and finish."""

    def __init__(self, title: str, cells: list[Cell], console: Console, enabled: bool) -> None:
        self.title = title
        self.cells = cells
        self.rows: dict[int, dict[str, Any]] = {c.index: {"status": "pending"} for c in cells}
        self.live = Live(self._table(), console=console, auto_refresh=False, transient=False) if enabled else None

    def __enter__(self) -> LiveTable:
        if self.live:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.live.__exit__(*exc)

    def update(self, index: int, **values: Any) -> None:
        self.rows[index].update({k: v for k, v in values.items() if v is not None})
        if self.live:
            self.live.update(self._table(), refresh=True)

    def _table(self) -> Table:
        table = Table(title=self.title, title_justify="left")
        for col in ("#", "cell", "status", "run", "val AUPRC", "test AUPRC"):
            table.add_column(col, justify="right" if "AUPRC" in col else "left")
        for c in self.cells:
            row = self.rows[c.index]
            status = row["status"]
            style = _STYLE.get(status, "dim")
            table.add_row(str(c.index), term(c.label), f"[{style}]{status}[/]", text((row.get("run_id") or "")[:12]),
                          num(row.get("val_auprc"), 4), num(row.get("test_auprc"), 4))
        return table
