"""Truncated and tampered files — the registry, a run's status.json, its metrics.json: readers answer with the runs
they can read or one line, never a traceback, and never an empty listing for a registry they could rebuild."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from conftest import cli_exit_code, make_tiny_dataset, run_cli
from faultkit import assert_invariants

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tampered")
    data = make_tiny_dataset(root / "data")
    home = root / "home"
    for seed in (0, 1, 2):
        assert cli_exit_code("--home", str(home), "train", "--data", str(data), "--model", "lr", "--size", "20",
                             "--seed", str(seed), "--C", "1", "--bootstrap", "50", "-q") == 0
    return home


def _truncate(path: Path, rng: random.Random) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: rng.randrange(0, max(1, len(data)))])


def _flip(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    for _ in range(8):
        i = rng.randrange(len(data))
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("target", ["registry", "status", "metrics"])
@pytest.mark.parametrize("how", ["truncate", "flip"])
def test_tampered_files_give_the_readable_runs_or_one_line(target: str, how: str, source: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    from dnactx.registry import store

    home = tmp_path / "home"
    shutil.copytree(source, home)
    with sqlite3.connect(home / "registry.sqlite") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        Path(f"{home / 'registry.sqlite'}{suffix}").unlink(missing_ok=True)
    rng = random.Random(f"{target}-{how}")
    victim = sorted(p.name for p in home.iterdir() if (p / "status.json").is_file())[1]
    path = {"registry": home / "registry.sqlite", "status": home / victim / "status.json",
            "metrics": home / victim / "metrics.json"}[target]
    (_truncate if how == "truncate" else _flip)(path, rng)
    store._OPEN.clear()

    code, out, err = run_cli(["--home", str(home), "runs", "ls", "--json"], capsys)

    assert "Traceback" not in err
    if code != 0:  # refused: one line saying what and how to fix
        assert code == 2 and len(err.strip().splitlines()) == 1 and "runs sync --rebuild" in err, err
        assert cli_exit_code("--home", str(home), "runs", "sync", "--rebuild") == 0
        store._OPEN.clear()
        code, out, err = run_cli(["--home", str(home), "runs", "ls", "--json"], capsys)
    assert code == 0, err
    listed = {r["id"] for r in json.loads(out)}
    readable = set()
    for p in home.iterdir():
        try:
            json.loads((p / "status.json").read_text())
            json.loads((p / "metrics.json").read_text())
            readable.add(p.name)
        except (OSError, ValueError):
            pass
    assert readable <= listed  # never an empty listing for runs that are there
    assert_invariants(home, tampered=victim if target == "metrics" else None)
