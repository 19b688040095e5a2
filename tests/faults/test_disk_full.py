"""A full disk at several fill levels for each writing command (train, runs sync --rebuild, report, runs export,
export): each ends done (0) or with one `error:` line (exit 5), never a traceback, and once there is room again the
registry is whole, every completed run is listed and loadable, and no dead run is shown running."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import cli_exit_code, make_tiny_dataset, run_cli
from faultkit import Zygote, assert_invariants, fill, resize, tmpfs

pytestmark = pytest.mark.slow

FREE_KB = (0, 16, 48, 120)  # what is left free on a 600 kB disk before each command


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Path, Path]:
    """(dataset, a home holding one completed lr run) on an ordinary disk, to copy onto the small one."""
    root = tmp_path_factory.mktemp("full")
    data = make_tiny_dataset(root / "data")
    home = root / "home"
    assert cli_exit_code("--home", str(home), "train", "--data", str(data), "--model", "lr", "--size", "20",
                         "--C", "1", "--bootstrap", "50", "-q") == 0
    return data, home


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("zygote"))
    yield z
    z.close()


def _one_line_or_done(code: int, err: str) -> None:
    assert "Traceback" not in err, err
    assert code in (0, 5), err
    if code == 5:
        assert [ln for ln in err.splitlines() if ln.startswith("error:")][-1:] == [err.strip().splitlines()[-1]]


@pytest.mark.parametrize("free_kb", FREE_KB)
def test_writing_commands_on_a_full_disk_end_in_one_line_and_leave_true_statuses(
        free_kb: int, seeded: tuple[Path, Path], tmp_path: Path, zygote: Zygote,
        capsys: pytest.CaptureFixture[str]) -> None:
    from dnactx.registry import store

    data, source = seeded
    run_id = next(p.name for p in source.iterdir() if (p / "status.json").is_file())
    with tmpfs(tmp_path / "disk", "600k") as disk:
        home = disk / "home"
        shutil.copytree(source, home)
        fill(disk, free_kb * 1024)
        child = zygote.start("--home", str(home), "train", "--data", str(data), "--model", "lr", "--size", "20",
                             "--C", "1", "--bootstrap", "50", "-q")
        code, err = child.communicate()
        _one_line_or_done(code, err)
        assert code == 5 or free_kb > 0, err  # no room at all: the run cannot be written
        for args in (["runs", "sync", "--rebuild"], ["report", "--out", str(disk / "report")],
                     ["runs", "export", "--out", str(disk / "runs.csv")], ["export", run_id, "--out", str(disk / "m")]):
            store._OPEN.clear()
            code, _, err = run_cli(["--home", str(home), *args], capsys)
            _one_line_or_done(code, err)
        assert not list(home.rglob("*.tmp"))
        (disk / ".ballast").unlink(missing_ok=True)
        resize(disk, "8m")
        assert_invariants(home)
