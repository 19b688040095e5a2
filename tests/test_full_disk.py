"""A full or read-only disk (a scratch quota): every command ends with one line saying so (exit 5), nothing is
half-written, and the registry never shows a run as running when its folder says it completed."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import make_run_folder, run_cli

from dnactx.errors import ExitCode
from dnactx.registry import Registry, record_run
from dnactx.storage import from_os_error, from_sqlite, is_storage_error


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 400 kB tmpfs (root, where mounting is allowed, as on CI); skipped elsewhere."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _half_written(home: Path) -> list[str]:
    """Temporary files or folders left behind, run folders without status.json, JSON files that do not parse."""
    bad = [str(p) for p in home.rglob("*.tmp")]
    for folder in (p for p in home.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (folder / "status.json").is_file():
            bad.append(f"{folder} has no status.json")
        for path in folder.glob("*.json"):
            try:
                json.loads(path.read_text())
            except ValueError:
                bad.append(f"{path} is not valid JSON")
    return bad


@pytest.mark.slow
def test_six_lr_runs_on_a_400k_home_end_in_one_line_each_and_leave_a_consistent_registry(
        small_disk: Path, tiny_dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = small_disk / "home"
    codes = []
    for _ in range(6):
        code, _, err = run_cli(["--home", str(home), "train", "--data", str(tiny_dataset), "--model", "lr",
                                "--size", "20", "-q"], capsys)
        codes.append(code)
        lines = err.strip().splitlines()
        assert "Traceback" not in err and len(lines) == len(set(lines)), err  # no warning twice
        assert code in (ExitCode.OK, ExitCode.STORAGE), err
        if code == ExitCode.STORAGE:
            assert len([ln for ln in lines if ln.startswith("error:")]) == 1 and lines[-1].startswith("error: ")
            assert f"no space left to write {home}" in lines[-1] and "free of" in lines[-1]
            assert "choose another folder (--home" in lines[-1]
    assert codes[:2] == [0, 0] and codes[-1] == ExitCode.STORAGE
    assert _half_written(home) == []
    code, _, err = run_cli(["--home", str(home), "runs", "ls"], capsys)  # reading a full home: one line too
    assert code in (ExitCode.OK, ExitCode.STORAGE) and "Traceback" not in err
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)  # room again
    code, out, _ = run_cli(["--home", str(home), "runs", "ls", "--json"], capsys)
    assert code == 0
    shown = {r["id"]: r["status"] for r in json.loads(out)}
    completed = [p.name for p in home.iterdir() if (p / "status.json").is_file()
                 and json.loads((p / "status.json").read_text())["status"] == "completed"]
    assert len(completed) >= 2 and all(shown[run_id] == "completed" for run_id in completed)


def test_a_completed_folder_is_never_shown_as_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The run's last registry write failed (full disk, lock): the row says running, the folder says completed."""
    home = tmp_path / "home"
    folder = make_run_folder(home, status="running")
    record_run(home, folder)
    folder.set_status("completed")  # written to the folder only, as when the registry write failed
    reg = Registry.open(home)
    assert [r["status"] for r in reg.runs()] == ["completed"]
    assert [r["id"] for r in reg.runs(status="completed")] == [folder.id] and reg.runs(status="running") == []
    assert reg.run(folder.id[:12])["status"] == "completed"
    code, out, _ = run_cli(["--home", str(home), "runs", "ls", "--json"], capsys)
    assert code == 0 and json.loads(out)[0]["status"] == "completed"


def test_a_write_that_finds_no_space_is_one_line_naming_the_target(tiny_dataset: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import tempfile

    def no_space(*args, dir=None, **kwargs):  # noqa: A002 - tempfile's own keyword
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.path.join(dir or ".", ".matrix.sbatch.x.tmp"))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "mkstemp", no_space)
    code, out, err = run_cli(["submit", "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--name", "f"],
                             capsys)
    assert code == ExitCode.STORAGE and out == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"error: no space left to write {tmp_path / 'jobs' / 'f'} (")
    assert not list((tmp_path / "jobs").rglob("*.sbatch"))


def test_storage_errors_are_recognised_in_every_shape(tmp_path: Path) -> None:
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / ".metrics.json.ab12.tmp"))
    assert is_storage_error(full) and str(from_os_error(full)).startswith(f"no space left to write {tmp_path / 'run'}")
    read_only = OSError(errno.EROFS, "Read-only file system", str(tmp_path / "x"))
    assert "read-only" in str(from_os_error(read_only)) and from_os_error(read_only).exit_code == ExitCode.STORAGE
    wrapped = RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)")
    assert is_storage_error(wrapped) and not is_storage_error(OSError(errno.ENOENT, "No such file or directory"))
    assert "no space left" in str(from_sqlite("database or disk is full", tmp_path / "registry.sqlite"))
    assert "read-only" in str(from_sqlite("attempt to write a readonly database", tmp_path / "registry.sqlite"))
    assert from_sqlite("disk I/O error", tmp_path / "registry.sqlite") is None  # plenty of room: not the disk


def test_prepare_on_a_full_disk_is_one_line_and_leaves_nothing_behind(
        small_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import make_genome_with_calls

    fasta, calls = make_genome_with_calls(tmp_path / "inputs")  # its calls spill alone outgrows the 400 kB disk
    out = small_disk / "ds"
    code, out_text, err = run_cli(["prepare", "--genome", str(fasta), "--calls", str(calls), "--out", str(out),
                                   "--window", "200", "--block-size", "2000"], capsys)
    lines = err.strip().splitlines()
    assert code == ExitCode.STORAGE and "Traceback" not in err and out_text == "", err
    assert lines[-1].startswith(f"error: no space left to write {small_disk}") and "free of" in lines[-1]
    assert ".prepare-tmp" not in lines[-1]  # the folder the user chose, not prepare's scratch inside it
    assert list(small_disk.iterdir()) == []


def test_export_on_a_full_disk_is_one_line_naming_out(small_disk: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import make_lr_run

    run_id = make_lr_run(tmp_path / "home")
    (small_disk / "filler").write_bytes(b"\0" * (small_disk_free(small_disk) - 20_000))  # room for less than lr
    code, out, err = run_cli(["--home", str(tmp_path / "home"), "export", run_id, "--out", str(small_disk / "m")],
                             capsys)
    lines = err.strip().splitlines()
    assert code == ExitCode.STORAGE and "Traceback" not in err and out == "", err
    assert lines[-1].startswith(f"error: no space left to write {small_disk / 'm'}")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


def small_disk_free(path: Path) -> int:
    return shutil.disk_usage(path).free
