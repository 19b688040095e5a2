"""SIGTERM around a whole run: outside the training loop's own checkpointing, it still ends the run as preempted.

The loop (``train.preemption.sigterm_flag``) turns SIGTERM into a checkpoint at the next step. Everywhere else in a
run — loading data, an lr fit, frozen encoding, evaluation — SIGTERM used to end the process silently (exit 143)
with its run left ``running``. Here it raises ``Terminated`` (a ``Preempted``), but only while the run's work is
armed: during the bookkeeping around it (status.json, the registry row) it is held and raised at the next arming,
so a signal never interrupts the writes that record how the run ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

from .preemption import Preempted


class Terminated(Preempted):
    """SIGTERM outside the training loop's own checkpointing."""


class SigtermGuard:
    """Whether a SIGTERM arrived (``pending``) and whether it may be raised right now (``armed``)."""

    def __init__(self) -> None:
        self.pending = False
        self.is_armed = False

    def _raise(self) -> None:
        raise Terminated("stopped by SIGTERM before its first checkpoint; `--resume` starts it again")

    def handle(self, signum: int, frame: object) -> None:
        self.pending = True
        if self.is_armed:
            self.is_armed = False
            self._raise()

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        """While inside, SIGTERM raises Terminated (at once if one arrived before)."""
        if self.pending:
            self._raise()
        self.is_armed = True
        try:
            yield
        finally:
            self.is_armed = False


@contextlib.contextmanager
def sigterm_guard() -> Iterator[SigtermGuard]:
    """Install the guard's handler (main thread only); on the way out, a SIGTERM that was held and never raised
    goes to the previous handler when there is one (a matrix stopping its cells), else it is dropped: the run has
    ended and its status says how."""
    guard = SigtermGuard()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    previous = signal.signal(signal.SIGTERM, guard.handle)
    try:
        yield guard
    finally:
        signal.signal(signal.SIGTERM, previous)
        if guard.pending and callable(previous):
            os.kill(os.getpid(), signal.SIGTERM)
