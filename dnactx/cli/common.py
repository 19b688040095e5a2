"""Shared CLI state and helpers: the registry home, consoles, and how commands report user errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

console = Console()
console_err = Console(stderr=True)


@dataclass
class _State:
    home: Path = field(default_factory=lambda: Path("runs"))


state = _State()


def parse_csv(text: str | None) -> list[str]:
    """``"a, b,c"`` → ``["a", "b", "c"]``; empty or None → ``[]``."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]
