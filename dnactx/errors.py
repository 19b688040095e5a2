"""The one exception type users see: a clear, single-line message and an exit code, never a traceback."""

from __future__ import annotations


class DnactxError(Exception):
    """Bad input or an unusable state, explained in one line: what, where, how to fix.

    The CLI prints ``error: <message>`` to stderr and exits with ``exit_code``.
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(" ".join(str(message).split()))  # always one line
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)
