"""16 processes × 50 runs against a fresh, unmigrated home: every run recorded once, no errors."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest

from dnactx.registry.migrate import head_revision

PROCS, RUNS = 16, 50


def _metrics(i: int) -> dict:
    split = {"n": 100, "n_pos": 30, "auroc": 0.5 + i / 10_000, "auprc": i / 1000, "f1_at_0_5": 0.4, "brier": 0.2}
    return {"val": split, "test": dict(split), "threshold": 0.5,
            "by_context": {s: {c: dict(split) for c in ("CG", "CHG", "CHH")} for s in ("val", "test")},
            "facts": {"best_epoch": 1, "train_seconds": 1.5}}


def _worker(home: str, worker: int, barrier, errors) -> None:
    from dnactx.registry import record_run
    from dnactx.runs import RunFolder, run_config

    barrier.wait()  # all processes hit the fresh home at the same moment
    try:
        for j in range(RUNS):
            i = worker * RUNS + j
            config = run_config({"model": "lr", "seed": i, "size": 10, "mode": "both", "finetune": "frozen"},
                                matrix="grid")
            folder = RunFolder.create(Path(home), config, name=f"w{worker}-r{j}")
            folder.set_status("running")
            (folder.path / "model.bin").write_bytes(i.to_bytes(4, "big"))
            folder.add_artifact(folder.path / "model.bin", "model")
            folder.write_metrics(_metrics(i))
            folder.set_status("completed")
            if not record_run(Path(home), folder):
                errors.put(f"{folder.id}: record_run returned False")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        errors.put(f"worker {worker}: {exc!r}")


@pytest.mark.slow
def test_sixteen_processes_fifty_runs_each_fresh_home(tmp_path: Path, capfd) -> None:
    home = tmp_path / "home"
    ctx = mp.get_context("fork")
    barrier, errors = ctx.Barrier(PROCS), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(home), w, barrier, errors)) for w in range(PROCS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert [p.exitcode for p in procs] == [0] * PROCS
    assert problems == []
    assert "warning:" not in capfd.readouterr().err

    with sqlite3.connect(home / "registry.sqlite") as db:
        assert db.execute("SELECT count(*), count(DISTINCT id) FROM runs WHERE status='completed'").fetchone() == (
            PROCS * RUNS, PROCS * RUNS)
        per_run = _metrics(0)
        n_metric = 2 * len(per_run["val"]) * 4 + 3  # val/test × (all + 3 contexts) + threshold + 2 facts
        assert db.execute("SELECT count(*) FROM metrics").fetchone()[0] == PROCS * RUNS * n_metric
        assert db.execute("SELECT count(*), count(DISTINCT run_id) FROM artifacts").fetchone() == (
            PROCS * RUNS, PROCS * RUNS)
        seeds = [s for (s,) in db.execute("SELECT seed FROM runs ORDER BY seed")]
        assert seeds == list(range(PROCS * RUNS))
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    from dnactx.registry import Registry
    runs = Registry.open(home).runs(matrix="grid", status="completed")
    assert len(runs) == PROCS * RUNS
    assert sorted(r["metrics"]["val"]["auprc"] for r in runs) == pytest.approx([i / 1000 for i in range(800)])
