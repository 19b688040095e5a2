"""Run folders → registry rows: ``record_run`` after each run, ``sync`` for missed ones, ``rebuild`` from scratch.

The folder is the source of truth; all three use the same idempotent upsert, so recording a run twice,
or syncing a folder that was already recorded, changes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from ..errors import DnactxError
from ..runs import RunFolder, iter_run_folders
from ..storage import from_os_error, is_storage_error
from .db import explain, make_engine, registry_path, set_journal_mode
from .migrate import home_lock, upgrade
from .rows import RunRows, rows_from_folder
from .store import SIDECAR, Registry, upsert_dataset, upsert_evaluation, upsert_matrix, write_rows

_BATCH = 100
_WARNED: set[tuple[str, str]] = set()  # (home, run id) whose failed registry write was already reported


def _warn(message: str) -> None:
    print(f"warning: {' '.join(message.split())}", file=sys.stderr, flush=True)


def record_run(home: Path, folder: RunFolder) -> bool:
    """Best-effort upsert of one run folder into the registry (retrying while it is locked).

    Returns False, after a warning on stderr, when the registry cannot be written: the run folder is
    complete either way and ``dnactx runs sync`` imports it later.
    """
    try:
        rows = rows_from_folder(folder)
        Registry.open(home).upsert([rows])
        return True
    except (DnactxError, SQLAlchemyError, OSError) as exc:
        key = (str(Path(home).resolve()), folder.id)
        if key not in _WARNED:  # once per run: its next write will most likely fail the same way
            _WARNED.add(key)
            reason = from_os_error(exc) if isinstance(exc, OSError) and is_storage_error(exc) else exc
            _warn(f"run {folder.id} was not recorded in the registry of {home} ({reason}); its folder "
                  f"{folder.path} holds it, registry listings read its state from there, and `dnactx runs sync` "
                  "records it once the registry can be written")
        return False


@dataclass
class SyncReport:
    """What ``sync`` did: ids imported (new) and refreshed, folders it could not read, rows without a folder."""

    imported: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    settled: list[tuple[str, str]] = field(default_factory=list)  # (run id, new status) of stale runs
    pruned: int = 0
    rebuilt: bool = False
    matrices: int = 0
    datasets: int = 0
    evaluations: int = 0

    def as_dict(self) -> dict:
        return {"imported": len(self.imported), "refreshed": len(self.refreshed),
                "failed": [{"id": i, "error": e} for i, e in self.failed], "orphans": self.orphans,
                "settled": [{"id": i, "status": st} for i, st in self.settled],
                "pruned": self.pruned, "rebuilt": self.rebuilt, "matrices": self.matrices,
                "datasets": self.datasets, "evaluations": self.evaluations}


def _read_folders(home: Path, report: SyncReport) -> list[RunRows]:
    rows = []
    for folder in iter_run_folders(home):
        try:
            rows.append(rows_from_folder(folder))
        except (DnactxError, OSError, ValueError, AttributeError) as exc:
            report.failed.append((folder.id, str(exc)))
    return rows


def _sidecars(home: Path, kind: str) -> list[dict]:
    out = []
    for path in sorted((Path(home) / SIDECAR / kind).glob("*.json")):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return out


def sync(home: Path, *, prune: bool = False) -> SyncReport:
    """Upsert every run folder under ``home`` (new ones and stale rows alike), settling stale runs
    (``RunFolder.settle``); optionally drop orphan rows."""
    home = Path(home)
    reg = Registry.open(home)
    report = SyncReport()
    for folder in iter_run_folders(home):
        try:
            if (new := folder.settle()) is not None:
                report.settled.append((folder.id, new))
        except (DnactxError, OSError, ValueError) as exc:
            if isinstance(exc, OSError) and is_storage_error(exc):
                raise from_os_error(exc, folder.path) from None
            report.failed.append((folder.id, str(exc)))
    known = set(reg.ids())
    rows = _read_folders(home, report)
    for i in range(0, len(rows), _BATCH):
        reg.upsert(rows[i:i + _BATCH])
    on_disk = {r.run["id"] for r in rows} | {i for i, _ in report.failed}
    for r in rows:
        (report.refreshed if r.run["id"] in known else report.imported).append(r.run["id"])
    report.orphans = sorted(known - on_disk)
    if prune and report.orphans:
        report.pruned = reg.delete_rows(report.orphans)
    registered = {m["id"] for m in reg.matrices()}
    for m in _sidecars(home, "matrices"):
        if m.get("name") and m["name"] not in registered:
            reg.ensure_matrix(m["name"], m.get("spec") or {})
            report.matrices += 1
    known_datasets = {d["fingerprint"] for d in reg.datasets()}
    for d in _sidecars(home, "datasets"):
        if d.get("fingerprint") and d.get("path") and d["fingerprint"] not in known_datasets:
            reg.record_dataset(d["fingerprint"], d["path"], d.get("summary") or {})
            report.datasets += 1
    known_evaluations = {e["id"] for e in reg.evaluations()}
    for e in _evaluation_sidecars(home, set(reg.ids())):
        if e["id"] not in known_evaluations:
            reg.record_evaluation(e)
            report.evaluations += 1
    return report


def _evaluation_sidecars(home: Path, runs: set[str]) -> list[dict]:
    """Evaluations written by ``predict`` under .registry/evaluations whose run is (still) there."""
    from .models import Evaluation

    columns = set(Evaluation.__table__.columns.keys())
    return [{k: v for k, v in e.items() if k in columns} for e in _sidecars(home, "evaluations")
            if e.get("id") and e.get("run_id") in runs and e.get("out")]


def rebuild(home: Path) -> SyncReport:
    """Recreate registry.sqlite from the run folders (and .registry/ sidecars) alone.

    The new file is built beside the old one and renamed over it; the old file, if any, is kept as
    ``registry.sqlite.bak`` (with its -wal/-shm, so the backup stays consistent). Run it while no jobs
    write to the home: a write that lands in the old file meanwhile is only in its run folder (a later
    ``runs sync`` imports it).
    """
    home = Path(home)
    if not home.is_dir():
        raise DnactxError(f"registry home {home} does not exist; check --home or DNACTX_HOME")
    report = SyncReport(rebuilt=True)
    tmp = home / f".registry.rebuild-{os.getpid()}.sqlite"
    for p in (tmp, Path(f"{tmp}-journal")):
        p.unlink(missing_ok=True)
    engine = make_engine(tmp)
    try:
        upgrade(engine, "head")
        rows = _read_folders(home, report)
        matrices = [m for m in _sidecars(home, "matrices") if m.get("name")]
        datasets = [d for d in _sidecars(home, "datasets") if d.get("fingerprint") and d.get("path")]
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            for r in rows:
                write_rows(conn, r)
            for m in matrices:
                upsert_matrix(conn, m["name"], m.get("spec") or {}, m.get("created") or "")
            for d in datasets:
                upsert_dataset(conn, {"fingerprint": d["fingerprint"], "path": d["path"],
                                       "summary": d.get("summary") or {}, "recorded": d.get("recorded")})
            evaluations = _evaluation_sidecars(home, {r.run["id"] for r in rows})
            for e in evaluations:
                upsert_evaluation(conn, e)
        engine.dispose()
        report.imported = [r.run["id"] for r in rows]
        report.matrices, report.datasets, report.evaluations = len(matrices), len(datasets), len(evaluations)
        path = registry_path(home)
        with home_lock(home):
            if path.exists():
                backup = path.with_name(path.name + ".bak")
                for suffix in ("", "-wal", "-shm"):
                    old = Path(f"{path}{suffix}")
                    if old.exists():
                        os.replace(old, Path(f"{backup}{suffix}"))
                    else:
                        Path(f"{backup}{suffix}").unlink(missing_ok=True)
            os.replace(tmp, path)
        set_journal_mode(make_engine(path), home)
    except SQLAlchemyError as exc:  # a full or read-only disk: one line naming the registry, never a traceback
        raise explain(exc, registry_path(home)) from None
    except OSError as exc:
        if is_storage_error(exc):
            raise from_os_error(exc, registry_path(home)) from None
        raise
    finally:
        engine.dispose()
        tmp.unlink(missing_ok=True)
    return report
