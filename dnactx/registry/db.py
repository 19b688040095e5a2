"""The SQLite connection: WAL where the filesystem allows, busy timeout, BEGIN IMMEDIATE for writes, retries.

Writers take the write lock when their transaction starts (``BEGIN IMMEDIATE``), so SQLite's busy handler
queues them instead of failing with "database is locked" when a read lock cannot be upgraded. What still
fails after the busy timeout is retried with jittered exponential backoff inside a time budget.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.pool import NullPool

from ..errors import DnactxError
from ..storage import from_sqlite

REGISTRY_FILE = "registry.sqlite"
BUSY_TIMEOUT_MS = 10_000
RETRY_BUDGET_S = float(os.environ.get("DNACTX_REGISTRY_RETRY_S", "120"))
_NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "fuse.sshfs", "9p"}

T = TypeVar("T")


def registry_path(home: Path) -> Path:
    return Path(home) / REGISTRY_FILE


def _fs_type(path: Path) -> str | None:
    """The filesystem type of ``path`` from /proc/mounts (longest matching mount point), if known."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    target = str(path.resolve())
    best, fstype = "", None
    for line in mounts:
        parts = line.split()
        if len(parts) >= 3:
            point = parts[1].replace("\\040", " ")
            if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
                best, fstype = point, parts[2]
    return fstype


def wal_allowed(home: Path) -> bool:
    """WAL needs shared memory between processes, which network filesystems do not give."""
    if os.environ.get("DNACTX_REGISTRY_JOURNAL", "").lower() in ("delete", "truncate", "persist"):
        return False
    return _fs_type(Path(home)) not in _NETWORK_FS


def writable(home: Path) -> bool:
    """Can this process write the registry of ``home`` (its folder, and the file when there is one)? False on a
    read-only mount even for root (access(2) answers EROFS)."""
    path = registry_path(home)
    return os.access(home, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def make_engine(path: Path, *, readonly: bool = False) -> Engine:
    """An engine whose connections wait for locks, check foreign keys and never start transactions implicitly.

    ``readonly``: SQLite opens the file with ``mode=ro``, and with ``immutable=1`` when its folder is not writable
    (no -wal/-shm can be made there, and nothing else can be writing it), so nothing is ever written.
    """
    url = f"sqlite:///{path}"
    if readonly:
        flags = "mode=ro" + ("" if os.access(Path(path).parent, os.W_OK) else "&immutable=1")
        url = f"sqlite:///file:{urllib.parse.quote(str(Path(path).resolve()))}?{flags}&uri=true"
    # NullPool: a connection per use, so a replaced file (sync --rebuild) or a fork never sees a stale handle.
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" hook below emits BEGIN itself
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # noqa: ANN001 - SQLAlchemy Connection
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

    return engine


def set_journal_mode(engine: Engine, home: Path, *, tries: int = 40) -> str:
    """Switch to WAL where allowed; any failure (NFS, locking quirks) silently keeps the rollback journal.

    SQLite answers a switch it cannot make right now (another process is reading) with the old mode
    instead of an error, so the switch is retried for a moment.
    """
    want = "wal" if wal_allowed(home) else "delete"
    mode = "unknown"
    for attempt in range(tries):
        try:
            # A raw DBAPI connection: PRAGMA journal_mode cannot run inside SQLAlchemy's transaction.
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                mode = str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower()
                if mode != want:
                    mode = str(cursor.execute(f"PRAGMA journal_mode = {want}").fetchone()[0]).lower()
                cursor.close()
            finally:
                raw.close()
        except (DatabaseError, sqlite3.DatabaseError):
            if want == "delete":
                return "unknown"
            want = "delete"  # WAL itself failed (no shared memory): stay on the rollback journal
            continue
        if mode == want:
            break
        time.sleep(0.01 * (attempt + 1) * random.uniform(0.5, 1.5))
    return mode


def is_busy(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, (OperationalError, sqlite3.OperationalError)) and ("locked" in text or "busy" in text)


def damage(path: Path) -> str | None:
    """Why the registry file cannot be a whole SQLite database, from its size and header (None when it can): empty,
    not SQLite, or shorter than its header says. Damage inside its pages shows when they are read (``is_corrupt``)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(100)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if size == 0:
        return "is empty (0 bytes)"
    if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
        return "is not a SQLite database"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    # the page count in the header is valid only when its version number matches the change counter
    if pages and head[24:28] == head[92:96] and size < page * pages:
        return f"is truncated ({size:,} of {page * pages:,} bytes)"
    return None


def is_corrupt(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "not a database" in text or "malformed" in text or "file is encrypted" in text


def explain(exc: BaseException, path: Path) -> DnactxError:
    """A one-line user error for a database failure that retries cannot fix."""
    reason = str(getattr(exc, "orig", exc)).splitlines()[0]
    full = from_sqlite(reason, path)
    if full is not None:
        return full
    if is_corrupt(exc):
        return DnactxError(f"registry {path} is corrupt ({reason}); recreate it from the run folders with "
                           "`dnactx runs sync --rebuild`")
    if is_busy(exc):
        return DnactxError(f"registry {path} stayed locked ({reason}) past the retry budget; try again when "
                           "fewer jobs write to it, or raise DNACTX_REGISTRY_RETRY_S")
    return DnactxError(f"registry {path} is unusable ({reason}); check that the folder is writable, or "
                       "recreate the registry with `dnactx runs sync --rebuild`")


def with_retries(fn: Callable[[], T], *, budget_s: float | None = None, path: Path | None = None) -> T:
    """Call ``fn``; on "database is locked/busy" retry with jittered exponential backoff until the budget ends."""
    budget = RETRY_BUDGET_S if budget_s is None else budget_s
    deadline = time.monotonic() + budget
    delay = 0.02
    while True:
        try:
            return fn()
        except (OperationalError, sqlite3.OperationalError) as exc:
            if not is_busy(exc) or time.monotonic() + delay > deadline:
                if path is not None:
                    raise explain(exc, path) from exc
                raise
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 2.0)
