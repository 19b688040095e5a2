"""A registry on a read-only mount: every reading command works (outputs to a writable --out elsewhere), nothing
is migrated or written there; a damaged registry there is refused with one line rather than read as empty."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import cli_exit_code, run_cli
from faultkit import read_only, tmpfs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory) -> Path:
    """A home with two completed lr runs (trained for real on the tiny dataset)."""
    from conftest import make_tiny_dataset

    root = tmp_path_factory.mktemp("ro")
    data = make_tiny_dataset(root / "data")
    home = root / "home"
    for seed in (0, 1):
        assert cli_exit_code("--home", str(home), "train", "--data", str(data), "--model", "lr", "--size", "20",
                             "--seed", str(seed), "--C", "1", "--bootstrap", "50", "-q") == 0
    return home


def _fresh() -> None:
    from dnactx.registry import store

    store._OPEN.clear()  # each command as a new process would open it


def test_reading_commands_work_on_a_read_only_home(trained_home: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in trained_home.rglob("*")}
    with read_only(trained_home, tmp_path / "ro") as home:
        _fresh()
        code, out, err = run_cli(["--home", str(home), "runs", "ls", "--json"], capsys)
        ids = [r["id"] for r in json.loads(out)]
        assert code == 0 and len(ids) == 2, err
        for args in (["runs", "ls"], ["runs", "show", ids[0]], ["runs", "show", ids[0], "--json"],
                     ["runs", "export", "--out", str(tmp_path / "runs.csv")],
                     ["report", "--out", str(tmp_path / "report")],
                     ["diagnose", ids[0], "--plots", str(tmp_path / "plots")],
                     ["export", ids[0], "--out", str(tmp_path / "model")],
                     ["compare", ids[0], ids[1]]):
            _fresh()
            code, _, err = run_cli(["--home", str(home), *args], capsys)
            assert code == 0, (args, err)
        assert (tmp_path / "report" / "report.md").is_file() and (tmp_path / "runs.csv").is_file()
        assert not list(Path(home).glob("registry.sqlite-*"))
    assert {p.name: p.stat().st_mtime_ns for p in trained_home.rglob("*")} == before


def test_a_truncated_registry_on_a_read_only_home_is_refused_in_one_line(
        trained_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    with tmpfs(tmp_path / "disk", "4m") as disk:
        copy = disk / "home"
        shutil.copytree(trained_home, copy)
        with sqlite3.connect(copy / "registry.sqlite") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = (copy / "registry.sqlite").read_bytes()
        (copy / "registry.sqlite").write_bytes(data[: len(data) // 2])
        with read_only(copy, tmp_path / "ro") as home:
            _fresh()
            code, _, err = run_cli(["--home", str(home), "runs", "ls"], capsys)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1, err
        assert "is truncated" in lines[0] and "runs sync --rebuild" in lines[0]
