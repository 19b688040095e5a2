"""A run's status never lies: a run whose process is gone reads "stale" (and `runs sync` settles it), a deleted
folder reads "missing" and is never selected, a folder the registry lacks is listed, Ctrl-C ends "interrupted"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_run_folder, run_cli

from dnactx.registry import Registry, record_run, sync
from dnactx.runs import RunFolder
from dnactx.runs.liveness import process_start


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _edit_status(folder: RunFolder, **values) -> None:
    path = folder.path / "status.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **values}))


def _shown(home: Path) -> dict[str, str]:
    return {r["id"]: r["status"] for r in Registry.open(home).runs()}


def test_a_running_run_whose_process_ended_is_shown_stale_and_sync_settles_it_failed(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path, status="running")
    record_run(tmp_path, folder)
    assert _shown(tmp_path)[folder.id] == "running"  # this test's own process: alive

    _edit_status(folder, pid=_dead_pid(), pid_start="boot:1")

    assert _shown(tmp_path)[folder.id] == "stale"
    assert Registry.open(tmp_path).runs(status="running") == []
    report = sync(tmp_path)
    assert report.settled == [(folder.id, "failed")]
    assert folder.status["status"] == "failed" and "ended without recording how" in folder.status["error"]
    assert _shown(tmp_path)[folder.id] == "failed"


def test_a_reused_pid_does_not_keep_a_dead_run_running(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path, status="running")
    start = process_start(os.getpid())
    assert start  # Linux: the start time is known
    _edit_status(folder, pid=os.getpid(), pid_start=start + "0")  # the same pid, another process's start

    assert _shown(tmp_path)[folder.id] == "stale"


def test_a_run_on_another_host_is_stale_only_once_its_heartbeat_is_old(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path, status="running")
    _edit_status(folder, host="node-elsewhere", pid=12345)
    assert _shown(tmp_path)[folder.id] == "running"
    old = time.time() - 3600
    os.utime(folder.path / "status.json", (old, old))
    assert _shown(tmp_path)[folder.id] == "stale"


def test_sync_settles_a_stale_run_with_a_checkpoint_as_interrupted(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path, status="running")
    (folder.path / "checkpoint").mkdir()
    (folder.path / "checkpoint" / "state.json").write_text("{}")
    _edit_status(folder, pid=_dead_pid())

    assert sync(tmp_path).settled == [(folder.id, "interrupted")]
    assert f"dnactx train --resume {folder.id}" in folder.status["error"]


def test_a_deleted_run_folder_is_missing_and_never_selected(tmp_path: Path, capsys) -> None:
    import shutil

    kept, gone = (make_run_folder(tmp_path, seed=s) for s in (0, 1))
    for f in (kept, gone):
        record_run(tmp_path, f)
    shutil.rmtree(gone.path)

    assert _shown(tmp_path) == {kept.id: "completed", gone.id: "missing"}
    assert [r["id"] for r in Registry.open(tmp_path).runs(status="completed")] == [kept.id]
    code, _, err = run_cli(["--home", str(tmp_path), "diagnose", gone.id], capsys)
    assert code == 2 and err.startswith(f"error: run {gone.id} is missing: its folder")


def test_a_folder_the_registry_lacks_is_listed_and_recorded(tmp_path: Path) -> None:
    recorded = make_run_folder(tmp_path, seed=0)
    record_run(tmp_path, recorded)
    unrecorded = make_run_folder(tmp_path, seed=1)  # its registry write never happened (a full disk)

    assert _shown(tmp_path) == {recorded.id: "completed", unrecorded.id: "completed"}
    assert unrecorded.id in Registry.open(tmp_path).ids()


def test_an_unknown_status_value_is_refused(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path)
    with pytest.raises(ValueError, match="unknown status 'stale'"):
        folder.set_status("stale")  # derived for display, never written
