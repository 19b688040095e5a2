"""The Registry: open (create or migrate) ``<home>/registry.sqlite`` and read or write it in short transactions.

Callers get plain dicts, never ORM objects. Every write is one ``BEGIN IMMEDIATE`` transaction retried on
"database is locked"; matrices and datasets are also written as small JSON files under ``<home>/.registry/``
first, so ``runs sync --rebuild`` can restore them along with the run folders.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import sys
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, delete, insert, or_, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session

from ..atomic import write_json
from ..contracts import ArtifactEntry, MetricRow, RunRow, nest_metrics
from ..errors import DnactxError
from ..provenance import utcnow
from ..runs import MISSING, STALE, RunFolder, is_stale
from ..storage import from_os_error, is_storage_error
from .db import BUSY_TIMEOUT_MS, damage, explain, is_corrupt, make_engine, registry_path, with_retries, writable
from .migrate import _known, current_revision, ensure_schema, head_revision
from .models import RUN_COLUMNS, Artifact, Dataset, Evaluation, Matrix, Metric, Run
from .rows import RunRows, rows_from_folder

T = TypeVar("T")

SIDECAR = ".registry"


# (resolved registry path, pid) -> (engine, inode the schema was checked on)
_OPEN: dict[tuple[str, int], tuple[Engine, int]] = {}


def missing_registry(home: Path) -> str | None:
    """Why ``home`` has no registry to read (a one-line message naming its absolute path), or None if it has one."""
    home = Path(home)
    if registry_path(home).is_file():
        return None
    where = home.resolve()
    if any(p.is_dir() and (p / "status.json").is_file() for p in (home.iterdir() if home.is_dir() else ())):
        return f"{where} has run folders but no registry.sqlite; index them with `dnactx runs sync`"
    return (f"no runs under {where} ({'no registry.sqlite there' if home.is_dir() else 'no such folder'}): is "
            "that the right --home? It defaults to ./runs, or $DNACTX_HOME")


def _damage(home: Path, path: Path) -> str | None:
    """Why the registry must be rebuilt, confirmed by SQLite itself under its own lock (a file another process is
    writing right now can look short from outside); None when it is whole. A 0-byte file is a registry someone is
    creating (SQLite makes the file on connecting, before the first write) or one that lost everything: either way
    it gets the schema in place, and the run folders it lacks are listed and recorded by every read (``runs``)."""
    problem = damage(path)
    if problem is None or path.stat().st_size == 0:
        return None
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as db:
            if db.execute("PRAGMA quick_check").fetchone()[0] == "ok":
                return None
    except sqlite3.DatabaseError as exc:
        if not is_corrupt(exc):
            return None  # locked, or unreadable for another reason: the open that follows says why
    return problem


# How a damaged registry is rebuilt: sync.rebuild, which builds on this module (so this one cannot import it);
# dnactx.registry's __init__ installs it with set_rebuilder, and importing any registry module runs that __init__.
_REBUILDER: Callable[[Path], object] | None = None


def set_rebuilder(rebuild: Callable[[Path], object]) -> None:
    """Install the function that recreates registry.sqlite from the run folders (``sync.rebuild``)."""
    global _REBUILDER
    _REBUILDER = rebuild


def _rebuild_damaged(home: Path, path: Path, problem: str) -> None:
    """Rebuild a damaged registry from the run folders, saying so once on stderr."""
    if _REBUILDER is None:
        raise DnactxError(f"registry {path} {problem}; run `dnactx runs sync --rebuild` to rebuild it from the run "
                          "folders")
    rebuild = _REBUILDER
    print(f"warning: registry {path} {problem}; rebuilding it from the run folders under {home} (the old file is "
          "kept as registry.sqlite.bak)", file=sys.stderr, flush=True)
    try:
        rebuild(home)
    except OSError as exc:
        if is_storage_error(exc):
            raise from_os_error(exc, path) from None
        raise DnactxError(f"registry {path} {problem}, and rebuilding it failed ({exc.strerror}); run "
                          "`dnactx runs sync --rebuild` once the home is writable") from None


def require_folder(row: RunRow) -> RunRow:
    """``row``, or one line saying its run folder was deleted (status ``missing``): nothing of it can be loaded."""
    if row.get("status") == MISSING:
        raise DnactxError(f"run {row['id']} is missing: its folder {row['folder']} was deleted; pick another run "
                          "(`dnactx runs ls`), or drop its row with `dnactx runs sync --prune`")
    return row


def _sidecar_file(home: Path, kind: str, key: str) -> Path:
    return Path(home) / SIDECAR / kind / (urllib.parse.quote(key, safe="") + ".json")


def _read_sidecar(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


class Registry:
    """``<home>/registry.sqlite``: runs, metrics, artifacts, matrices and datasets."""

    def __init__(self, home: Path, engine: Engine) -> None:
        self.home = Path(home)
        self.path = registry_path(self.home)
        self.engine = engine

    # -- opening -----------------------------------------------------------------------------------------
    readonly = False  # True when opened on a read-only home: nothing is migrated, reconciled back or written

    @classmethod
    def open(cls, home: Path, *, create: bool = True) -> Registry:
        """Create the registry if absent (unless ``create`` is false: readers never leave an empty one behind)
        and upgrade it to the newest schema; errors are one-line DnactxErrors.

        A reader (``create=False``) on a home it cannot write opens the file read-only and changes nothing. An
        empty, truncated or unreadable registry is rebuilt from the run folders where the home is writable (the
        old file kept as registry.sqlite.bak) and refused with one line where it is not: never read as "no runs".
        """
        home = Path(home)
        if not create and (missing := missing_registry(home)):
            raise DnactxError(missing)
        path = registry_path(home)
        if not create and not writable(home):
            return cls._open_readonly(home, path)
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if is_storage_error(exc):
                raise from_os_error(exc, home) from None
            raise DnactxError(f"cannot create the registry home {home} ({exc.strerror}); "
                              "choose a writable --home or set DNACTX_HOME") from None
        key = (str(path.resolve()), os.getpid())
        cached = _OPEN.get(key)
        if cached is not None and path.exists() and path.stat().st_ino == cached[1]:
            return cls(home, cached[0])
        if (problem := _damage(home, path)) is not None:
            _rebuild_damaged(home, path, problem)
        engine = make_engine(path)
        try:
            ensure_schema(engine, home, path)
        except DatabaseError as exc:
            if not is_corrupt(exc):
                raise explain(exc, path) from None
            _rebuild_damaged(home, path, f"is corrupt ({str(exc.orig).splitlines()[0]})")
            engine = make_engine(path)
            try:
                ensure_schema(engine, home, path)
            except DatabaseError as again:
                raise explain(again, path) from None
        _OPEN[key] = (engine, path.stat().st_ino)
        return cls(home, engine)

    @classmethod
    def _open_readonly(cls, home: Path, path: Path) -> Registry:
        """The registry of a home this process cannot write (a read-only mount): ``mode=ro``/``immutable=1``."""
        if (problem := damage(path)) is not None:
            raise DnactxError(f"registry {path} {problem}, and {home} is read-only, so it cannot be rebuilt here; "
                              "run `dnactx runs sync --rebuild` where the home is writable (or on a copy of it)")
        engine = make_engine(path, readonly=True)
        try:
            rev = current_revision(engine)
        except DatabaseError as exc:
            raise explain(exc, path) from None
        head = head_revision()
        if rev != head:
            age = "newer than this dnactx; upgrade dnactx" if rev is not None and not _known(rev) else (
                "older than this dnactx, and read-only here so it cannot be upgraded; run any `dnactx runs ls` "
                "once where the home is writable (or on a copy of it)")
            raise DnactxError(f"registry {path} is schema {rev} ({head} is current): {age}")
        reg = cls(home, engine)
        reg.readonly = True
        return reg

    # -- plumbing ------------------------------------------------------------------------------------------
    def _read(self, fn: Callable[[Session], T]) -> T:
        def run() -> T:
            with Session(self.engine) as session:
                return fn(session)

        try:
            return with_retries(run, path=self.path)
        except DatabaseError as exc:
            raise explain(exc, self.path) from None

    def _write(self, fn: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self.engine.connect().execution_options(write=True) as conn, conn.begin():
                return fn(conn)

        try:
            return with_retries(run, path=self.path)
        except DatabaseError as exc:
            raise explain(exc, self.path) from None

    # -- runs ------------------------------------------------------------------------------------------------
    def upsert(self, rows: Iterable[RunRows]) -> int:
        """Insert or replace runs with their metrics and artifacts, all in one transaction; returns the count."""
        batch = list(rows)

        def write(conn: Connection) -> int:
            for r in batch:
                write_rows(conn, r)
            return len(batch)

        return self._write(write) if batch else 0

    def ids(self) -> list[str]:
        return self._read(lambda s: list(s.exec(select(Run.id).order_by(Run.id)).scalars()))

    def resolve(self, prefix: str) -> str:
        """A unique run-id prefix (like a git hash) → the full id; run folders not yet synced count too."""
        prefix = prefix.strip().lower()
        if not prefix:
            raise DnactxError("empty run id; give a run id or a unique prefix (see `dnactx runs ls`)")
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        found = set(self._read(lambda s: list(s.exec(
            select(Run.id).where(Run.id.like(pattern, escape="\\"))).scalars())))
        if prefix not in found and self.home.is_dir():
            found |= {p.name for p in self.home.iterdir()
                      if p.name.startswith(prefix) and (p / "status.json").is_file()}
        if prefix in found:
            return prefix
        if not found:
            raise DnactxError(f"no run matches {prefix!r} in {self.home.resolve()}: is that the right --home? "
                              "See `dnactx runs ls` (or `dnactx runs sync` if the folder exists but is not "
                              "registered)")
        if len(found) > 1:
            shown = ", ".join(sorted(found)[:5]) + (", …" if len(found) > 5 else "")
            raise DnactxError(f"{prefix} matches {len(found)} runs: {shown}; give more characters of the run id")
        return found.pop()

    def runs(self, *, status: str | Sequence[str] | None = None, matrix: str | None = None,
             model: str | None = None, kind: str | None = "train") -> list[RunRow]:
        """Runs (oldest first) with config, metrics and artifacts; ``model`` matches a model name or a family.

        Only methylation models (kind ``train``) unless ``kind`` says otherwise (``pretrain``, or None for all):
        a pretrained language model is never ranked, compared or diagnosed as one. Run folders the registry lacks
        (their registry write failed) are listed too, and every row shows its folder's state: ``stale`` for a
        running run whose process is gone, ``missing`` for a deleted folder.
        """
        conds = []
        if kind:  # a row without a kind is a train run (as before 0006)
            conds.append(or_(Run.kind == kind, Run.kind.is_(None)) if kind == "train" else Run.kind == kind)
        if matrix:
            conds.append(Run.matrix == matrix)
        if model:
            conds.append(or_(Run.model == model, Run.family == model))
        rows = self._reconciled(self._read(lambda s: _load_runs(s, conds, self.home)))
        extra = [r for r in self._unregistered(matrix, model) if not kind or (r.get("kind") or "train") == kind]
        rows = sorted(rows + extra, key=lambda r: r["id"])
        if status:  # after reconciling: a row may have been "running" while its folder says "completed"
            wanted = {status} if isinstance(status, str) else set(status)
            rows = [r for r in rows if r["status"] in wanted]
        return rows

    def _unregistered(self, matrix: str | None, model: str | None) -> list[RunRow]:
        """Run folders without a registry row (one whose registry write failed), read from the folders and
        recorded when the registry can be written."""
        if not self.home.is_dir():
            return []
        candidates = [p.name for p in self.home.iterdir() if not p.name.startswith(".") and p.is_dir()
                      and (p / "status.json").is_file()]
        if not candidates:
            return []
        known = set(self.ids())
        found = []
        for run_id in sorted(set(candidates) - known):
            try:
                found.append(rows_from_folder(RunFolder(self.home / run_id)))
            except (DnactxError, OSError, ValueError):
                continue
        if found and not self.readonly:
            with contextlib.suppress(DnactxError, OSError, DatabaseError):
                self.upsert(found)
        rows = [_as_run_row(r, self.home) for r in found
                if (not matrix or r.run.get("matrix") == matrix)
                and (not model or model in (r.run.get("model"), r.run.get("family")))]
        return [self._live(row) for row in rows]

    def _live(self, row: RunRow) -> RunRow:
        """``row`` with status ``stale`` when it says running while its process is gone."""
        folder = self.home / row["id"]
        if row["status"] == "running":
            try:
                if is_stale(folder, RunFolder(folder).status):
                    return {**row, "status": STALE}
            except (DnactxError, OSError, ValueError):
                pass
        return row

    def _reconciled(self, rows: list[RunRow]) -> list[RunRow]:
        """Rows whose run folder (the source of truth) says otherwise, replaced by what the folder says.

        A run's last registry write can fail (a full disk, a lock held too long) after its folder was written:
        its row then still says "running". Every read compares the rows not yet completed with their folders,
        shows the folders' state, and writes it back when the registry can be written (else the next read does).
        A row whose folder is gone reads ``missing``; a running run whose process is gone reads ``stale`` (both
        shown, never written: ``runs sync`` settles them).
        """
        changed = []
        missing = set()
        for row in rows:
            if not (self.home / row["id"] / "status.json").is_file():
                missing.add(row["id"])
                continue
            if row["status"] == "completed":
                continue
            folder = RunFolder(self.home / row["id"])
            try:
                if (folder.status.get("status") or row["status"]) != row["status"]:
                    changed.append(rows_from_folder(folder))
            except (DnactxError, OSError, ValueError):
                continue
        if changed and not self.readonly:
            with contextlib.suppress(DnactxError, OSError, DatabaseError):
                self.upsert(changed)  # else shown from the folders all the same
        fresh = {r.run["id"]: _as_run_row(r, self.home) for r in changed}
        out = []
        for row in rows:
            if row["id"] in missing:
                out.append({**row, "status": MISSING})
            else:
                out.append(self._live(fresh.get(row["id"], row)))
        return out

    def run(self, run_id: str, *, kind: str | None = None) -> RunRow:
        """One run by id or unique prefix (a folder the registry lacks is read from the folder); with ``kind``, a
        run of another kind is a one-line error."""
        full = self.resolve(run_id)
        found = self._reconciled(self._read(lambda s: _load_runs(s, [Run.id == full], self.home)))
        if not found:
            found = [r for r in self._unregistered(None, None) if r["id"] == full]
        if not found:
            raise DnactxError(f"run {full} has a folder in {self.home} but is not in the registry, and its folder "
                              "cannot be read; see `dnactx runs sync`")
        row = found[0]
        if kind and (row.get("kind") or "train") != kind:
            if row.get("kind") == "pretrain":
                raise DnactxError(f"run {full} is a pretrain (a masked DNA language model), not a methylation "
                                  "model; fine-tune it with `dnactx train --model "
                                  f"{(row.get('config') or {}).get('pretrain_out') or 'ITS_FOLDER'}` and use "
                                  "that run")
            raise DnactxError(f"run {full} is a {row.get('kind')} run, not a {kind} run; see `dnactx runs ls`")
        return row

    def delete_run(self, run_id: str, *, remove_folder: bool = True) -> None:
        """Remove a run's folder (the source of truth, first) and then its rows."""
        folder = self.home / run_id
        if remove_folder and folder.exists():
            # Rename first so a crash mid-delete never leaves a half-removed run that sync would re-import.
            trash = self.home / f".{run_id}.deleting"
            os.replace(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
        self.delete_rows([run_id])

    def delete_rows(self, run_ids: Sequence[str]) -> int:
        ids = list(run_ids)

        def write(conn: Connection) -> int:
            conn.execute(delete(Evaluation).where(Evaluation.run_id.in_(ids)))
            conn.execute(delete(Metric).where(Metric.run_id.in_(ids)))
            conn.execute(delete(Artifact).where(Artifact.run_id.in_(ids)))
            return conn.execute(delete(Run).where(Run.id.in_(ids))).rowcount

        return self._write(write) if ids else 0

    # -- matrices and datasets ---------------------------------------------------------------------------------
    def ensure_matrix(self, name: str, spec: dict) -> str:
        """The matrix id for ``name`` (its name), creating it if absent; safe when many tasks call it at once."""
        if not name or not str(name).strip():
            raise DnactxError("a matrix needs a non-empty name (--name)")
        name = str(name).strip()
        sidecar = _sidecar_file(self.home, "matrices", name)
        created = _read_sidecar(sidecar).get("created") or utcnow()
        write_json(sidecar, {"id": name, "name": name, "spec": spec, "created": created})
        return self._write(lambda conn: upsert_matrix(conn, name, spec, created))

    def matrices(self) -> list[dict]:
        """Every matrix with its spec and how many of its runs are in each status."""

        def read(s: Session) -> list[dict]:
            counts: dict[str, dict[str, int]] = {}
            for m, st in s.exec(select(Run.matrix, Run.status).where(Run.matrix.is_not(None))):
                counts.setdefault(m, {}).setdefault(st, 0)
                counts[m][st] += 1
            rows = s.exec(select(Matrix).order_by(Matrix.created, Matrix.id)).scalars()
            return [{"id": m.id, "name": m.name, "spec": m.spec, "created": m.created,
                     "runs": counts.get(m.id, {})} for m in rows]

        return self._read(read)

    def record_dataset(self, fingerprint: str, path: str | os.PathLike[str], summary: dict) -> None:
        """Remember a prepared dataset by its sha256 (file under .registry/ first, then the row)."""
        entry = {"fingerprint": fingerprint, "path": os.fspath(path), "summary": summary, "recorded": utcnow()}
        write_json(_sidecar_file(self.home, "datasets", fingerprint), entry)
        self._write(lambda conn: upsert_dataset(conn, entry))

    def datasets(self) -> list[dict]:
        def read(s: Session) -> list[dict]:
            return [{"fingerprint": d.fingerprint, "path": d.path, "summary": d.summary, "recorded": d.recorded}
                    for d in s.exec(select(Dataset).order_by(Dataset.recorded)).scalars()]

        return self._read(read)


    # -- evaluations (predict --calls) -------------------------------------------------------------------------
    def record_evaluation(self, entry: dict) -> None:
        """Remember a run's evaluation on new data (a row of :class:`Evaluation` as a dict): file under .registry/
        first, so ``runs sync --rebuild`` restores it, then the row (replacing one with the same id)."""
        write_json(_sidecar_file(self.home, "evaluations", entry["id"]), entry)
        self._write(lambda conn: upsert_evaluation(conn, entry))

    def evaluations(self, run_id: str | None = None) -> list[dict]:
        """Evaluations (oldest first), of one run when ``run_id`` is given."""
        def read(s: Session) -> list[dict]:
            q = select(Evaluation).order_by(Evaluation.created, Evaluation.id)
            if run_id is not None:
                q = q.where(Evaluation.run_id == run_id)
            return [e.model_dump() for e in s.exec(q).scalars()]

        return self._read(read)


def upsert_evaluation(conn: Connection, entry: dict) -> None:
    stmt = sqlite_insert(Evaluation).values(**entry)
    conn.execute(stmt.on_conflict_do_update(index_elements=["id"],
                                            set_={k: stmt.excluded[k] for k in entry if k != "id"}))


def write_rows(conn: Connection, rows: RunRows) -> None:
    """Upsert one run and replace its metric and artifact rows (idempotent; caller owns the transaction)."""
    run_id = rows.run["id"]
    stmt = sqlite_insert(Run).values(**rows.run)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["id"], set_={k: stmt.excluded[k] for k in rows.run if k != "id"}))
    conn.execute(delete(Metric).where(Metric.run_id == run_id))
    conn.execute(delete(Artifact).where(Artifact.run_id == run_id))
    if rows.metrics:
        conn.execute(insert(Metric), rows.metrics)
    if rows.artifacts:
        conn.execute(insert(Artifact), rows.artifacts)


def upsert_matrix(conn: Connection, name: str, spec: dict, created: str) -> str:
    stmt = sqlite_insert(Matrix).values(id=name, name=name, spec=spec, created=created)
    conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"spec": stmt.excluded.spec}))
    return name


def upsert_dataset(conn: Connection, entry: dict) -> None:
    stmt = sqlite_insert(Dataset).values(**entry)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["fingerprint"], set_={k: stmt.excluded[k] for k in ("path", "summary", "recorded")}))


def _as_run_row(rows: RunRows, home: Path) -> RunRow:
    """RunRows (as written) in the shape ``Registry.runs`` returns."""
    metrics = [(m["split"], m["context"], m["name"], m["value"]) for m in rows.metrics]
    artifacts: list[ArtifactEntry] = [{"kind": a["kind"], "path": a["path"], "sha256": a["sha256"],
                                       "bytes": a["bytes"]} for a in rows.artifacts]
    return {**{c: rows.run.get(c) for c in RUN_COLUMNS}, "folder": str(Path(home) / rows.run["id"]),
            "metrics": nest_metrics(metrics), "artifacts": artifacts}


def _load_runs(session: Session, conds: list, home: Path) -> list[RunRow]:
    runs = session.exec(select(Run).where(*conds).order_by(Run.id)).scalars().all()
    if not runs:
        return []
    metrics: dict[str, list[MetricRow]] = {}
    q = select(Metric.run_id, Metric.split, Metric.context, Metric.name, Metric.value).join(
        Run, Run.id == Metric.run_id).where(*conds).order_by(Metric.id)
    for run_id, split, context, name, value in session.exec(q):
        metrics.setdefault(run_id, []).append((split, context, name, value))
    artifacts: dict[str, list[ArtifactEntry]] = {}
    qa = select(Artifact).join(Run, Run.id == Artifact.run_id).where(*conds).order_by(Artifact.id)
    for a in session.exec(qa).scalars():
        artifacts.setdefault(a.run_id, []).append(
            {"kind": a.kind, "path": a.path, "sha256": a.sha256, "bytes": a.bytes})
    out: list[RunRow] = []
    for r in runs:
        row = {c: getattr(r, c) for c in RUN_COLUMNS}
        out.append({**row, "folder": str(home / r.id), "metrics": nest_metrics(metrics.get(r.id, [])),
                    "artifacts": artifacts.get(r.id, [])})
    return out
