"""kill -9, SIGTERM and Ctrl-C at seeded random points of each family's training (lr, cnn, dnabert6-tiny): the
status each leaves says how the run ended (SIGTERM: preempted and exit 4, with one line; Ctrl-C: interrupted and
exit 130; kill -9: shown stale, then settled by `runs sync`), and the registry stays whole."""

from __future__ import annotations

import json
import random
import signal
from pathlib import Path

import pytest
from conftest import cli_exit_code, make_tiny_dataset
from faultkit import Zygote, assert_invariants, kill_at, wait_for_status

pytestmark = pytest.mark.slow

FAMILIES = {
    "lr": ["--model", "lr"],
    "cnn": ["--model", "cnn", "--epochs", "3", "--batch-size", "32"],
    "dnabert6-tiny": ["--model", "dnabert6-tiny", "--epochs", "2", "--batch-size", "32"],
}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("kill") / "data")


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("zygote"))
    yield z
    z.close()


def _train(home: Path, data: Path, family: str) -> list[str]:
    return ["--home", str(home), "train", "--data", str(data), "--size", "20", "--bootstrap", "50", "-q",
            *FAMILIES[family]]


def _status(folder: Path) -> dict:
    return json.loads((folder / "status.json").read_text())


@pytest.mark.parametrize("family", list(FAMILIES))
def test_sigterm_and_kill_at_random_points_leave_true_statuses(family: str, data: Path, tmp_path: Path,
                                                              zygote: Zygote) -> None:
    rng = random.Random(f"faults-{family}")
    home = tmp_path / "home"
    procs = {name: zygote.start(*_train(home / name, data, family)) for name in ("TERM", "KILL")}
    for name, proc in procs.items():
        sig = signal.SIGTERM if name == "TERM" else signal.SIGKILL
        folder = wait_for_status(home / name, "running", proc)
        code, err = kill_at(proc, sig, rng.uniform(0.0, 0.3 if family == "lr" else 1.5))
        assert "Traceback" not in err, err
        if folder is None:  # it ended before it could be caught running: then it completed
            assert code == 0, err
            continue
        status = _status(folder)["status"]
        if name == "TERM":
            assert (code, status) in ((4, "preempted"), (0, "completed")), (code, status, err)
            if code == 4:
                assert [ln for ln in err.splitlines() if ln.startswith("preempted:")], err
        else:
            assert (code, status) in ((-signal.SIGKILL, "running"), (-signal.SIGKILL, "completed"), (0, "completed"))
        assert_invariants(home / name)
    # kill -9 leaves "running" in its folder, shown stale until `runs sync` settles it
    assert cli_exit_code("--home", str(home / "KILL"), "runs", "sync") == 0
    assert all(_status(f.parent)["status"] in ("failed", "completed") for f in (home / "KILL").glob("*/status.json"))


def test_sigterm_during_an_lr_fit_ends_preempted_with_exit_4_and_resume_finishes_it(
        data: Path, tmp_path: Path, zygote: Zygote) -> None:
    home = tmp_path / "home"
    proc = zygote.start(*_train(home, data, "lr"))
    folder = wait_for_status(home, "running", proc)
    code, err = kill_at(proc, signal.SIGTERM, 0.0)
    assert folder is not None and code == 4, err
    assert _status(folder)["status"] == "preempted" and "SIGTERM" in _status(folder)["error"]
    assert err.strip().splitlines()[-1].startswith(f"preempted: run {folder.name} stopped by SIGTERM")
    assert_invariants(home)
    assert cli_exit_code("--home", str(home), "train", "--resume", folder.name, "-q") == 0
    assert _status(folder)["status"] == "completed"
    assert_invariants(home)


def test_ctrl_c_during_training_ends_interrupted_with_exit_130(data: Path, tmp_path: Path, zygote: Zygote) -> None:
    home = tmp_path / "home"
    proc = zygote.start(*_train(home, data, "cnn"))
    folder = wait_for_status(home, "running", proc)
    code, err = kill_at(proc, signal.SIGINT, 0.0)
    assert folder is not None and code == 130, err
    assert "Traceback" not in err
    assert _status(folder)["status"] == "interrupted"
    assert_invariants(home)
