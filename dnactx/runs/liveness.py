"""Is a run's process still there? The owner recorded in status.json, a heartbeat, and the statuses derived from them.

A run marked ``running`` records who runs it: host, process id and that process's start time (with the kernel's
boot id), so a reused pid is never mistaken for the run. On its own host that answers the question exactly; on
another host (a compute node seen from a login node) the heartbeat answers it: the owner touches status.json every
``HEARTBEAT_S`` seconds, and a run whose status.json is older than ``DNACTX_STALE_AFTER_S`` (default 600 s) is
stale. Readers show such a run as ``stale``; ``dnactx runs sync`` settles it (``interrupted`` when it has a
checkpoint to resume from, else ``failed``). A registry row whose folder was deleted reads ``missing``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

HEARTBEAT_S = 30.0
STALE = "stale"      # derived: status.json says running, but its process is gone
MISSING = "missing"  # derived: a registry row whose run folder is gone


def stale_after_s() -> float:
    try:
        return float(os.environ.get("DNACTX_STALE_AFTER_S", "600"))
    except ValueError:
        return 600.0


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str | None:
    """``boot_id:start_ticks`` of a live process (None when there is none, or it is a zombie); "" when /proc is
    unavailable (not Linux: the pid alone is all there is)."""
    try:
        raw = Path(f"/proc/{int(pid)}/stat").read_text()
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return ""
    fields = raw[raw.rfind(")") + 2:].split()  # the command name, in parentheses, may hold spaces
    if not fields or fields[0] in ("Z", "X"):
        return None
    return f"{_boot_id()}:{fields[19]}" if len(fields) > 19 else ""


def owner() -> dict:
    """What status.json records of the process that runs the run."""
    pid = os.getpid()
    return {"pid": pid, "pid_start": process_start(pid) or None, "heartbeat_s": HEARTBEAT_S}


def process_alive(status: dict) -> bool | None:
    """True/False when this host can tell whether the run's process lives; None when it cannot (another host,
    or a run folder written before owners were recorded)."""
    pid, host = status.get("pid"), status.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return None
    now = process_start(pid)
    if now is None:
        return False
    recorded = status.get("pid_start")
    return not (recorded and now and now != recorded)


def is_stale(folder: Path, status: dict) -> bool:
    """A run whose status says running while its process is gone (or silent past the heartbeat limit)."""
    if status.get("status") != "running":
        return False
    alive = process_alive(status)
    if alive is not None:
        return not alive
    if not status.get("heartbeat_s"):
        return False  # no heartbeat to judge by: believe the folder
    try:
        age = time.time() - (Path(folder) / "status.json").stat().st_mtime
    except OSError:
        return False
    return age > stale_after_s()


@contextlib.contextmanager
def heartbeat(folder: Path, every_s: float = HEARTBEAT_S) -> Iterator[None]:
    """While inside, touch ``folder/status.json`` every ``every_s`` seconds (a touch needs no free space)."""
    stop = threading.Event()
    path = Path(folder) / "status.json"

    def beat() -> None:
        while not stop.wait(every_s):
            with contextlib.suppress(OSError):
                os.utime(path)

    thread = threading.Thread(target=beat, name="dnactx-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=1.0)
