"""Run ids: unique across hosts without coordination, sortable by creation time (ULID layout, lowercase)."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase: no i, l, o, u


def new_run_id(now_ms: int | None = None) -> str:
    """26 characters: 48-bit millisecond timestamp then 80 random bits, so ids sort by time."""
    ms = int(time.time() * 1000) if now_ms is None else int(now_ms)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_run_id(text: str) -> bool:
    return len(text) == 26 and all(c in _ALPHABET for c in text)
