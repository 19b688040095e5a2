"""Progress of long loops on stderr: a bar with rate and ETA on a terminal, one plain line per chunk in a log.

Every long-running loop (training epochs, frozen encoding, prepare, predict) reports through :class:`Progress`::

    with Progress("encoding val", total=len(ids), unit="windows", enabled=not quiet) as progress:
        for batch in batches:
            ...
            progress.advance(len(batch))   # moves the bar (terminal only)
            if end_of_chunk:
                progress.chunk()            # in a log: one line with count, rate, elapsed and ETA

On a terminal (stderr is a tty) a rich bar shows done/total, the rate in ``unit/s`` and the time left. When stderr
is not a terminal (a SLURM log, a pipe) there is no bar: each ``chunk()`` writes one line such as
``encoding val: 4,096/22,000 windows (19%) · 812 windows/s · elapsed 5.0 s · ETA 22 s``.
``DNACTX_PROGRESS=plain`` gives the lines on a terminal too; ``DNACTX_PROGRESS=off`` silences both.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

ENV = "DNACTX_PROGRESS"


def duration(seconds: float) -> str:
    """``4.2 s``, ``3 min 05 s``, ``2 h 07 min``: short enough for a log line, exact enough to plan by."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def rate_text(count: float, seconds: float, unit: str) -> str:
    """``1,234 sites/s`` (``—`` until time has passed)."""
    if seconds <= 0:
        return f"— {unit}/s"
    rate = count / seconds
    return f"{rate:,.0f} {unit}/s" if rate >= 10 else f"{rate:,.2f} {unit}/s"


class Progress:
    """``done`` items of ``total`` (None: unknown) in ``unit``; a bar on a terminal, lines elsewhere.

    ``advance(n)`` counts items; ``chunk(note)`` ends a chunk (an epoch, a batch of rows, a chromosome) and, when
    stderr is not a terminal, writes one line; ``restart(label, total)`` begins a new phase (the next epoch) with
    its own count and rate; ``line(text)`` writes a line in either mode. Disabled (quiet, another rank), it does
    nothing at all.
    """

    def __init__(self, label: str, total: int | None = None, unit: str = "items", *, enabled: bool = True,
                 stream: TextIO | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.done = 0
        self._stream, self._clock = stream, clock
        mode = os.environ.get(ENV, "").strip().lower()
        self.enabled = enabled and mode != "off"
        self.terminal = self.enabled and mode != "plain" and _is_terminal(self.stream)
        self.started = self.phase_started = clock()
        self._phase_base = 0  # items done before this phase's clock started (a resumed epoch)
        self._bar: Any = None
        self._task: Any = None

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr  # looked up late: pytest swaps it

    def __enter__(self) -> Progress:
        if self.terminal:
            self._bar = _rich_bar(self.unit)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=self.total, completed=self.done, info="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None

    def elapsed(self) -> float:
        """Seconds since the progress began (all phases)."""
        return self._clock() - self.started

    # -- counting -------------------------------------------------------------------------------------------------
    def advance(self, n: int = 1, info: str | None = None) -> None:
        """``n`` more items done; ``info`` (e.g. the running loss) is shown beside the bar."""
        self.done += n
        if self._bar is not None:
            fields = {} if info is None else {"info": info}
            self._bar.update(self._task, advance=n, **fields)

    def restart(self, label: str, total: int | None = None, done: int = 0, unit: str | None = None) -> None:
        """A new phase (the next epoch): its own label, total, count and rate; elapsed keeps counting."""
        self.label, self.total, self.done, self.unit = label, total, done, unit or self.unit
        self.phase_started, self._phase_base = self._clock(), done
        if self._bar is not None:
            self._bar.reset(self._task, total=total, completed=done, description=label, info="")

    def chunk(self, note: str = "", *, keep: bool = False, rate_seconds: float | None = None) -> str | None:
        """End a chunk: in a log write its line (``keep``: on a terminal too, above the bar); the line or None.

        ``rate_seconds``: the seconds the phase's items took, when the phase also did other work since (an epoch's
        validation), so the rate counts only the items' own time."""
        if not self.enabled:
            return None
        text = self.summary(note, rate_seconds=rate_seconds)
        if not self.terminal or keep:
            self.line(text)
        return text

    def line(self, text: str) -> None:
        """Write ``text`` as one line (above the bar on a terminal)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.console.print(text, highlight=False, markup=False, soft_wrap=True)
        else:
            print(text, file=self.stream, flush=True)

    def summary(self, note: str = "", *, rate_seconds: float | None = None) -> str:
        """``label: done/total unit (pct) · rate · elapsed · ETA · note`` (parts that are unknown left out)."""
        now = self._clock()
        phase = now - self.phase_started if rate_seconds is None else rate_seconds
        parts = [f"{self.label}: {self.done:,}" + (f"/{self.total:,}" if self.total else "") + f" {self.unit}"]
        if self.total:
            parts[0] += f" ({self.done / self.total:.0%})"
        parts.append(rate_text(self.done - self._phase_base, phase, self.unit))
        parts.append(f"elapsed {duration(now - self.started)}")
        speed = (self.done - self._phase_base) / phase if phase > 0 else 0.0
        if self.total and self.done < self.total and speed > 0:
            parts.append(f"ETA {duration((self.total - self.done) / speed)}")
        if note:
            parts.append(note)
        return " · ".join(parts)


def _is_terminal(stream: TextIO) -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _rich_bar(unit: str):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:  # noqa: ANN001 - rich's Task
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else rate_text(speed, 1.0, unit))

    return RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                        Rate(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        TextColumn("{task.fields[info]}"), console=Console(stderr=True), transient=True)
