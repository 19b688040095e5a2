"""A run's own folder, the source of truth: config.json, status.json, metrics.json and artifacts.

Each file is written atomically, so a run folder is always readable, and a registry can be rebuilt from the
folders alone (``dnactx runs sync --rebuild``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..atomic import atomic_dir, read_json, write_json
from ..contracts import MetricsFile, read_metrics
from ..distributed import is_main
from ..errors import DnactxError
from ..provenance import host_info, sha256_file, utcnow
from .config import RunConfig, read_run_config, trained_values
from .ids import new_run_id
from .liveness import is_stale, owner

# What status.json can say. Readers also show two derived ones, never written: "stale" (running, but its process
# is gone: see liveness) and "missing" (a registry row whose folder was deleted).
STATUSES = ("queued", "running", "completed", "failed", "preempted", "interrupted")
ENDED = ("completed", "failed", "preempted", "interrupted")


def default_home() -> Path:
    return Path(os.environ.get("DNACTX_HOME") or "runs")


def _read_json(path: Path) -> Any:
    return read_json(path, fix="remove the run folder or restore the file")


class RunFolder:
    """``<home>/<run_id>/``: everything one run wrote, readable without the database."""

    writable = True  # False in ReplicaFolder: this process reads the folder but must not write it

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.id = self.path.name

    # -- creation -----------------------------------------------------------------------------------
    @classmethod
    def create(cls, home: Path, config: RunConfig, *, name: str | None = None, matrix: str | None = None,
               run_id: str | None = None) -> RunFolder:
        run_id = run_id or new_run_id()
        folder = cls(Path(home) / run_id)
        if folder.path.exists():
            raise FileExistsError(f"run folder {folder.path} exists")
        status = {"id": run_id, "name": name or run_id, "status": "queued", "matrix": matrix,
                  "created": utcnow(), "started": None, "finished": None, "error": None, **host_info()}
        # Built in a hidden folder and renamed into place: a full disk leaves no run folder without its status.json.
        with atomic_dir(folder.path) as tmp:
            write_json(tmp / "config.json", config)
            write_json(tmp / "status.json", status)
            write_json(tmp / "artifacts.json", [])
        return folder

    @classmethod
    def open(cls, home: Path, run_id: str) -> RunFolder:
        folder = cls(Path(home) / run_id)
        if not (folder.path / "status.json").is_file():
            raise DnactxError(f"run folder {folder.path} has no status.json; "
                              "it is not a dnactx run (check --home)")
        return folder

    # -- reading --------------------------------------------------------------------------------------
    @property
    def config(self) -> RunConfig:
        """config.json in today's shape (:func:`dnactx.runs.config.read_run_config`); ``{}`` when absent."""
        return read_run_config(_read_json(self.path / "config.json"))

    @property
    def status(self) -> dict:
        return _read_json(self.path / "status.json") or {}

    @property
    def metrics(self) -> MetricsFile | None:
        return read_metrics(_read_json(self.path / "metrics.json"))

    @property
    def artifacts(self) -> list[dict]:
        return _read_json(self.path / "artifacts.json") or []

    # -- writing --------------------------------------------------------------------------------------
    def resolve_config(self, **values: Any) -> None:
        """Record in config.json what training resolved (device, checkpoint, tokenizer, cache, loss): the one way
        config.json changes after the folder is made; only keys of :class:`dnactx.runs.config.TrainedConfig`."""
        values = trained_values(values)
        write_json(self.path / "config.json", {**(_read_json(self.path / "config.json") or {}), **values})

    def set_status(self, status: str, *, error: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        state = self.status
        state["status"] = status
        if status == "running":
            state["started"] = state.get("started") or utcnow()
            state.update(host_info())
            state.update(owner())  # host + pid + the pid's start time: a reused pid is not mistaken for the run
            state["finished"] = None
            state["error"] = None
        if status in ENDED:
            state["finished"] = utcnow()
        if error is not None:
            state["error"] = " ".join(error.split())[:2000]
        write_json(self.path / "status.json", state)

    def settle(self, *, known_dead: bool = False, by: str = "`dnactx runs sync`") -> str | None:
        """A stale run (status running, its process gone) gets the status it really has: ``interrupted`` when it
        left a checkpoint (``train --resume`` continues it), else ``failed``; returns that status, None when it is
        not stale. ``known_dead``: the caller knows the process is gone (the matrix holds the run's cell lock), so
        a run of another host is settled without waiting for its heartbeat to age, and a run still ``queued`` (its
        process died between making the folder and starting) is failed."""
        status = self.status
        if status.get("status") == "queued" and known_dead:  # made, never started: nothing to resume
            self.set_status("failed", error=f"its process ended before the run started; settled by {by}")
            return "failed"
        if status.get("status") != "running" or not (known_dead or is_stale(self.path, status)):
            return None
        resumable = (self.path / "checkpoint" / "state.json").is_file()
        new = "interrupted" if resumable else "failed"
        who = f"pid {status.get('pid')} on {status.get('host')}" if status.get("pid") else f"on {status.get('host')}"
        self.set_status(new, error=f"its process ({who}) ended without recording how (killed, out of memory, a full "
                        f"disk or a lost node); settled by {by}"
                        + (f"; continue it with `dnactx train --resume {self.id}`" if resumable else ""))
        return new

    def write_metrics(self, metrics: MetricsFile) -> None:
        write_json(self.path / "metrics.json", metrics)

    def add_artifact(self, path: Path, kind: str) -> dict:
        """Record a file the run wrote (inside its folder): kind, relative path, sha256, bytes."""
        path = Path(path)
        rel = os.path.relpath(path, self.path)
        entry = {"kind": kind, "path": rel, "sha256": sha256_file(path), "bytes": path.stat().st_size}
        artifacts = [a for a in self.artifacts if a["path"] != rel] + [entry]
        write_json(self.path / "artifacts.json", artifacts)
        return entry


def iter_run_folders(home: Path):
    """Every run folder under ``home`` (folders holding a status.json), in id (= time) order."""
    home = Path(home)
    if not home.is_dir():
        return
    for child in sorted(home.iterdir()):
        if child.is_dir() and not child.name.startswith(".") and (child / "status.json").is_file():
            yield RunFolder(child)


class ReplicaFolder(RunFolder):
    """A run folder seen from a rank other than 0 of a multi-process run: reads as usual, writes nothing (rank 0
    owns the files)."""

    writable = False

    def resolve_config(self, **values: Any) -> None:
        trained_values(values)

    def set_status(self, status: str, *, error: str | None = None) -> None:
        return None

    def write_metrics(self, metrics: dict) -> None:
        return None

    def add_artifact(self, path: Path, kind: str) -> dict:
        return {}


def folder_for_this_process(path: Path) -> RunFolder:
    """The run folder at ``path`` as this process may use it: writable on the main process, read-only elsewhere."""
    return RunFolder(path) if is_main() else ReplicaFolder(path)
