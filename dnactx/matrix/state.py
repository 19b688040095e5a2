"""What the registry already holds for each cell: done, resumable, stale, or busy in another process."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..contracts import RunRow
from ..errors import DnactxError
from ..runs import RunFolder, is_run_id, iter_run_folders
from .spec import Cell, MatrixSpec

try:
    import fcntl
except ImportError:  # not on POSIX: cells are not locked, as if on a filesystem without flock
    fcntl = None  # type: ignore[assignment]


def warn(message: str) -> None:
    """A one-line warning on stderr (a registry problem never stops a matrix: run folders are the truth)."""
    print(f"warning: {' '.join(message.split())}", file=sys.stderr)


def matrix_dir(home: Path, name: str) -> Path:
    return Path(home) / "matrices" / name


def matrix_runs(home: Path, name: str) -> list[RunRow]:
    """The runs of matrix ``name``, each refreshed from its folder (the source of truth).

    From the registry; when it cannot be opened, from a scan of the run folders instead (rows then hold only id,
    folder, status, error, config and metrics).
    """
    try:
        from ..registry import Registry

        runs = Registry.open(Path(home)).runs(matrix=name)
    except (ImportError, DnactxError) as exc:
        warn(f"registry unavailable ({exc}); reading the run folders under {home} instead")
        runs = [{"id": f.id, "folder": str(f.path)} for f in iter_run_folders(Path(home))
                if f.config.get("matrix") == name]
    known = {r["id"] for r in runs}
    # Runs this matrix listed last time but the registry lacks (a record_run that met a locked database).
    for run_id in _listed_run_ids(home, name):
        if run_id not in known and (Path(home) / run_id / "status.json").is_file():
            runs.append({"id": run_id, "folder": str(Path(home) / run_id)})
    out = []
    for run in runs:
        folder = Path(run.get("folder") or Path(home) / run["id"])
        if (folder / "status.json").is_file():
            rf = RunFolder(folder)
            status = rf.status
            run = {**run, "status": status.get("status"), "error": status.get("error"),
                   "config": rf.config, "metrics": rf.metrics or {}, "folder": str(folder)}
        out.append(run)
    return sorted((r for r in out if (r.get("config") or {}).get("matrix", name) == name), key=lambda r: r["id"])


def _listed_run_ids(home: Path, name: str) -> list[str]:
    try:
        cells = json.loads((matrix_dir(home, name) / "matrix.json").read_text(encoding="utf-8")).get("cells", [])
    except (OSError, json.JSONDecodeError, AttributeError):
        return []
    return [c["run_id"] for c in cells if isinstance(c, dict) and is_run_id(str(c.get("run_id")))]


@dataclass
class CellState:
    """The runs of one cell, newest last, and what to do next."""

    runs: list[dict] = field(default_factory=list)

    @property
    def completed(self) -> dict | None:
        done = [r for r in self.runs if r.get("status") == "completed"]
        return done[-1] if done else None

    @property
    def latest(self) -> dict | None:
        return self.runs[-1] if self.runs else None

    @property
    def resumable(self) -> str | None:
        """The newest run, if it stopped where it can continue: preempted (SIGTERM at a time limit), interrupted
        (Ctrl-C, or killed with a checkpoint left)."""
        latest = self.latest
        return latest["id"] if latest and latest.get("status") in ("preempted", "interrupted") else None


def cell_states(runs: list[dict], spec: MatrixSpec, cells: list[Cell]) -> list[CellState]:
    return [CellState([r for r in runs if c.matches(r.get("config") or {}, spec.dataset.fingerprint)])
            for c in cells]


@contextlib.contextmanager
def cell_lock(home: Path, name: str, cell: Cell, *, enabled: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on the cell while it trains; yields False if another process holds it.

    A run left ``running`` whose cell lock is free belongs to a process that died (killed, node lost).
    """
    if fcntl is None or not enabled:
        yield True
        return
    path = matrix_dir(home, name) / "locks" / f"{cell.key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        except OSError:  # a filesystem without flock: proceed unlocked
            yield True
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def mark_stale(home: Path, run: dict) -> str | None:
    """A ``running`` (or still ``queued``) run whose process is gone (the caller holds its cell lock): settle it as
    ``runs sync`` would (``interrupted`` when it left a checkpoint, so the cell resumes it; else ``failed``, so the
    cell is retried), record it, and return its new status (None when its folder is gone)."""
    folder = RunFolder(Path(run.get("folder") or Path(home) / run["id"]))
    if not (folder.path / "status.json").is_file():
        return None
    new = folder.settle(known_dead=True, by="the matrix, which holds its cell")
    try:
        from ..registry import record_run

        record_run(Path(home), folder)
    except ImportError:
        pass
    return new
