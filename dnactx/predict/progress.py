"""Progress of a genome-wide predict on stderr: a rich bar (bases, sites/s, ETA) on a terminal, one line per
chromosome elsewhere (SLURM logs, pipes).

Kept to this one small class until the shared progress module (dnactx/progress.py, branch ops) lands; it then
replaces this with its n-of-total ``Progress`` (``advance`` / ``chunk``).
"""

from __future__ import annotations

import sys
import time


class Progress:
    """``total`` bases to scan; ``advance(bases, sites)`` as stretches are scored, ``chromosome(name, sites)``
    when one is done. Disabled (quiet, a rank other than 0) it does nothing."""

    def __init__(self, total: int, *, enabled: bool = True) -> None:
        self.total, self.enabled = total, enabled
        self.bases = self.sites = 0
        self.started = time.perf_counter()
        self.terminal = enabled and sys.stderr.isatty()
        self._bar = self._task = None

    def __enter__(self) -> Progress:
        if self.terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("predict"), BarColumn(), TextColumn("{task.fields[sites]}"),
                                 TimeRemainingColumn(), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task("predict", total=self.total, sites="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.sites / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        elapsed = time.perf_counter() - self.started
        return (self.total - self.bases) * elapsed / self.bases if self.bases else None

    def advance(self, bases: int, sites: int) -> None:
        self.bases += bases
        self.sites += sites
        if self._bar is not None:
            self._bar.update(self._task, advance=bases, sites=f"{self.sites:,} sites · {self.rate():,.0f} sites/s")

    def chromosome(self, name: str, sites: int, seconds: float) -> None:
        """One line for a finished chromosome when stderr is not a terminal (on a terminal the bar says it)."""
        if not self.enabled or self.terminal:
            return
        eta = self.eta()
        print(f"predict {name}: {sites:,} sites in {seconds:.1f} s ({sites / max(seconds, 1e-9):,.0f} sites/s) · "
              f"{self.bases:,}/{self.total:,} bases ({self.bases / max(self.total, 1):.0%})"
              + (f" · ETA {eta:.0f} s" if eta is not None and self.bases < self.total else ""),
              file=sys.stderr, flush=True)
