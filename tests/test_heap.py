"""glibc's malloc settings (dnactx/heap.py): applied on glibc, never over a setting the user made."""

from __future__ import annotations

import platform

import pytest

from dnactx.heap import pin_mmap_threshold, reuse_freed_memory

GLIBC = platform.libc_ver()[0] == "glibc"


def test_the_mmap_threshold_is_pinned_on_glibc_unless_the_user_chose_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert pin_mmap_threshold() is False
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    assert pin_mmap_threshold() is GLIBC


@pytest.mark.parametrize("variable", ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"])
def test_freed_memory_is_kept_for_reuse_on_glibc_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch,
                                                                        variable: str) -> None:
    monkeypatch.setenv(variable, "65536")
    assert reuse_freed_memory() is False
    monkeypatch.delenv(variable)
    assert reuse_freed_memory() is GLIBC
