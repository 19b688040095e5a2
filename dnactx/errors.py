"""The one exception type users see (one line, an exit code) and the exit-code scheme every command shares."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    """How a ``dnactx`` command ended; the same numbers for ``train``, ``matrix`` and every other command."""

    OK = 0
    BUG = 1
    USAGE = 2
    RUN_FAILED = 3
    PREEMPTED = 4
    STORAGE = 5
    INTERRUPTED = 130


# One line each, shown by `dnactx --help` and mirrored in the README (a test keeps the two in step).
EXIT_CODE_MEANINGS = {
    ExitCode.OK: "done: every run completed (or was already complete)",
    ExitCode.BUG: "an unexpected Python error, shown with its traceback: a bug in dnactx, please report it",
    ExitCode.USAGE: "bad input (an option, a file, a run id, the --home): one `error:` line says what to fix",
    ExitCode.RUN_FAILED: "a run, or one or more matrix cells, failed or was held by another process; "
                         "the same command retries it",
    ExitCode.PREEMPTED: "stopped by SIGTERM (e.g. SLURM's time limit) with a checkpoint: the same matrix command, "
                        "or `train --resume RUN_ID`, continues it",
    ExitCode.STORAGE: "the disk is full or read-only (a quota, a read-only mount): one `error:` line names the path "
                      "and the free space; free space or choose another --home/--out, then run the same command again",
    ExitCode.INTERRUPTED: "stopped by you (Ctrl-C, or 'no' at a confirmation)",
}


def exit_code_for(statuses: Iterable[str]) -> ExitCode:
    """The exit code for the final statuses of the runs one command trained (preempted, then a full disk
    ("storage"), outrank failed)."""
    seen = set(statuses)
    if "preempted" in seen:
        return ExitCode.PREEMPTED
    if "storage" in seen:  # stopped by a full or read-only disk
        return ExitCode.STORAGE
    if seen - {"completed", "skipped"}:
        return ExitCode.RUN_FAILED
    return ExitCode.OK


class DnactxError(Exception):
    """Bad input or an unusable state, explained in one line: what, where, how to fix.

    The CLI prints ``error: <message>`` to stderr and exits with ``exit_code`` (``ExitCode.USAGE`` unless said).
    """

    exit_code: int = ExitCode.USAGE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(" ".join(str(message).split()))  # always one line
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)
