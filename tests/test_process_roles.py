"""Which process does what under torchrun/accelerate launch (dnactx.distributed), the run folder other ranks see,
and how a rank leaves."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dnactx import distributed
from dnactx.runs import ReplicaFolder, RunFolder, folder_for_this_process, run_config


@pytest.fixture
def launched(monkeypatch):
    """Pretend to be rank ``r`` of ``n`` processes, as a launcher's environment says."""
    def set_rank(r: int, n: int = 2) -> None:
        monkeypatch.setenv("RANK", str(r))
        monkeypatch.setenv("WORLD_SIZE", str(n))
    return set_rank


def test_a_single_process_is_the_main_one(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert (distributed.rank(), distributed.world_size(), distributed.is_main(), distributed.is_distributed()) == \
        (0, 1, True, False)
    assert distributed.share_run_id("abc") == "abc"  # no collective in a single process


def test_only_rank_zero_of_a_launch_is_main(launched):
    launched(1)
    assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (1, 2, False)
    launched(0)
    assert distributed.is_main() and distributed.is_distributed()


def test_other_ranks_get_a_run_folder_that_writes_nothing(tmp_path, launched):
    folder = RunFolder.create(tmp_path, run_config({"model": "cnn"}))
    before = {p.name: p.read_bytes() for p in folder.path.iterdir()}
    launched(1)
    replica = folder_for_this_process(folder.path)
    assert isinstance(replica, ReplicaFolder) and not replica.writable
    assert replica.config == {"model": "cnn", "family": "cnn"}  # reads as usual
    replica.resolve_config(device="cpu")
    replica.set_status("running")
    replica.write_metrics({"val": {}})
    assert replica.add_artifact(folder.path / "config.json", "config") == {}
    assert {p.name: p.read_bytes() for p in folder.path.iterdir()} == before
    launched(0)
    main = folder_for_this_process(folder.path)
    assert type(main) is RunFolder and main.writable


def test_exit_code_follows_sys_exit():
    assert [distributed.exit_code(c) for c in (None, 0, 3, "message")] == [0, 0, 3, 1]


def test_a_single_process_exits_through_system_exit(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(SystemExit) as exc:
        distributed.exit_process(3)
    assert exc.value.code == 3


@pytest.mark.slow
def test_a_rank_leaves_with_its_status_and_flushed_output_but_no_interpreter_finalization(tmp_path):
    """A rank of a launch skips interpreter finalization (where gloo's threads can abort it) but loses no output."""
    script = tmp_path / "rank.py"
    script.write_text(textwrap.dedent("""
        import atexit, sys
        from dnactx.distributed import exit_process
        atexit.register(lambda: print("finalized"))
        print("run-id", end="")          # unflushed: a pipe is block-buffered
        sys.stderr.write("warning")
        exit_process(3)
    """))
    env = {"PATH": "/usr/bin:/bin", "RANK": "1", "WORLD_SIZE": "2", "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "run-id", "warning")


@pytest.mark.slow
def test_run_folders_need_only_the_standard_library():
    """A trainer on a node without the registry's packages still writes complete run folders."""
    code = ("import sys, dnactx.runs; "
            "print(sorted(m for m in ('torch', 'numpy', 'pandas', 'sqlalchemy', 'sqlmodel', 'accelerate', 'rich') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr
