"""Helpers of the fault-injection suite: small tmpfs and read-only mounts (root only, else skipped with the
reason), processes killed at seeded points, and the invariants every case must leave behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PYTHON = sys.executable


def _mount(args: list[str]) -> None:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting needs root (the fault suite runs as root on CI)")
    res = subprocess.run(["mount", *args], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount here ({' '.join(args)}): {res.stderr.strip()}")


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. "300k") at ``where``."""
    where.mkdir(parents=True, exist_ok=True)
    _mount(["-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)])
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def resize(where: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True)


@contextlib.contextmanager
def read_only(source: Path, where: Path) -> Iterator[Path]:
    """``source`` bind-mounted read-only at ``where`` (EROFS for root too, unlike chmod)."""
    where.mkdir(parents=True, exist_ok=True)
    _mount(["--bind", str(source), str(where)])
    try:
        res = subprocess.run(["mount", "-o", "remount,bind,ro", str(where)], capture_output=True, text=True)
        if res.returncode != 0:
            pytest.skip(f"cannot remount a bind mount read-only: {res.stderr.strip()}")
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(where: Path, leave_bytes: int) -> None:
    """Fill the filesystem of ``where`` until about ``leave_bytes`` are free."""
    st = os.statvfs(where)
    free = st.f_bavail * st.f_frsize
    if free > leave_bytes:
        with contextlib.suppress(OSError), open(where / ".ballast", "wb") as fh:
            fh.write(b"\0" * (free - leave_bytes))


class Child:
    """A ``dnactx`` process forked by the zygote: ``pid``, ``poll()``, and ``communicate()`` → (rc, stderr)."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid, self.out = pid, out

    def poll(self) -> int | None:
        rc = self.out / "rc"
        return int(rc.read_text()) if rc.is_file() else None

    def communicate(self, timeout: float = 120) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while (rc := self.poll()) is None:
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                raise TimeoutError(f"dnactx process {self.pid} still running after {timeout} s")
            time.sleep(0.05)
        return rc, (self.out / "stderr").read_text()


class Zygote:
    """One process holding the imports; ``start(*args)`` forks a ``dnactx ARGS`` child from it."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.proc = subprocess.Popen([PYTHON, str(Path(__file__).with_name("zygote.py"))], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "DNACTX_PROGRESS": "off"})
        assert json.loads(self.proc.stdout.readline()).get("ready")
        self.n = 0

    def start(self, *args: str) -> Child:
        self.n += 1
        out = self.scratch / f"child{self.n}"
        out.mkdir(parents=True)
        self.proc.stdin.write(json.dumps({"args": list(args), "out": str(out)}) + "\n")
        self.proc.stdin.flush()
        return Child(json.loads(self.proc.stdout.readline())["pid"], out)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def wait_for_status(home: Path, want: str, proc, timeout: float = 90) -> Path | None:
    """The run folder under ``home`` once its status.json says ``want`` (None if the process ended first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for status in home.glob("*/status.json"):
            with contextlib.suppress(OSError, ValueError):
                if json.loads(status.read_text()).get("status") == want:
                    return status.parent
        time.sleep(0.05)
    return None


def kill_at(proc: Child, sig: int, delay_s: float) -> tuple[int, str]:
    """Send ``sig`` after ``delay_s``; the exit code and stderr."""
    time.sleep(delay_s)
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    return proc.communicate(timeout=120)


def assert_invariants(home: Path, tampered: str | None = None) -> None:
    """What every fault must leave: an intact registry, every completed run listed and loadable (the ``tampered``
    one, whose own files were damaged: refused in one line), and no run shown as running whose process is gone
    (every process these tests started has ended by now)."""
    from dnactx.errors import DnactxError
    from dnactx.inference import load_scorer
    from dnactx.registry import Registry, store

    store._OPEN.clear()
    path = home / "registry.sqlite"
    if path.exists() and path.stat().st_size:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    folders = {}
    for status in home.glob("*/status.json"):
        with contextlib.suppress(ValueError):
            folders[status.parent.name] = json.loads(status.read_text()).get("status")
    if not folders:
        return
    shown = {r["id"]: r["status"] for r in Registry.open(home, create=False).runs()}
    assert "running" not in shown.values(), shown
    for run_id, status in folders.items():
        assert run_id in shown, f"run {run_id} ({status}) is not listed"
        if status == "completed":
            assert shown[run_id] == "completed"
            if run_id == tampered:
                with pytest.raises(DnactxError):
                    load_scorer(run_id, home=home)
            else:
                load_scorer(run_id, home=home)
        elif status == "running":
            assert shown[run_id] == "stale"


def signals() -> dict[str, int]:
    return {"TERM": signal.SIGTERM, "KILL": signal.SIGKILL}
