"""Completed-run inserts per second under contention: dnactx's registry vs a naive sqlite3 peer.

N processes start together (a barrier) and each records R completed runs whose folders were written
beforehand, so only the registry work is timed. dnactx: ``record_run`` (WAL, BEGIN IMMEDIATE, busy timeout,
jittered retries, a fresh unmigrated home). Peer: plain ``sqlite3`` with its defaults (rollback journal,
5 s timeout, deferred transactions) doing the usual check-then-insert (SELECT the id, then INSERT the run
and its metric rows) with no retry; its failures are counted.

    python bench/registry.py --procs 8 --runs 50
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, bench/ would come first on sys.path and its tokenize.py would shadow the standard library's.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from dnactx.contracts import flatten_metrics  # noqa: E402
from dnactx.registry import record_run  # noqa: E402
from dnactx.runs import RunFolder  # noqa: E402


def _metrics(i: int) -> dict:
    split = {"n": 1000, "n_pos": 300, "pos_rate": 0.3, "auroc": 0.8, "auprc": i / 10_000, "f1_at_0_5": 0.5,
             "precision_at_0_5": 0.5, "recall_at_0_5": 0.5, "brier": 0.2, "ece": 0.05}
    return {"val": split, "test": dict(split), "threshold": 0.4,
            "by_context": {s: {c: dict(split) for c in ("CG", "CHG", "CHH")} for s in ("val", "test")},
            "facts": {"best_epoch": 2, "train_seconds": 10.0}}


def _make_folders(home: Path, worker: int, runs: int) -> list[Path]:
    paths = []
    for j in range(runs):
        i = worker * runs + j
        f = RunFolder.create(home, {"model": "cnn", "family": "cnn", "size": 100, "mode": "both", "seed": i,
                                    "finetune": "frozen", "matrix": "bench"})
        f.set_status("running")
        f.write_metrics(_metrics(i))
        f.set_status("completed")
        paths.append(f.path)
    return paths


NAIVE_SCHEMA = """
CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT, status TEXT, model TEXT, size INT, seed INT, config TEXT);
CREATE TABLE metrics (run_id TEXT, split TEXT, context TEXT, name TEXT, value REAL);
"""


def _naive_record(db_path: Path, folder: RunFolder) -> None:
    cfg, st = folder.config, folder.status
    conn = sqlite3.connect(db_path)  # defaults: rollback journal, timeout=5.0, deferred BEGIN
    try:
        with conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (folder.id,)).fetchone() is None:
                conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (folder.id, st["name"], st["status"], cfg["model"], cfg["size"], cfg["seed"],
                              json.dumps(cfg)))
                conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)",
                                 [(folder.id, *row) for row in flatten_metrics(folder.metrics)])
    finally:
        conn.close()


def _worker(system: str, home: str, paths: list[str], barrier, results) -> None:
    ok = failed = 0
    barrier.wait()
    for p in paths:
        folder = RunFolder(Path(p))
        try:
            if system == "dnactx":
                recorded = record_run(Path(home), folder)  # warns and returns False instead of raising
                ok, failed = ok + recorded, failed + (not recorded)
            else:
                _naive_record(Path(home) / "naive.sqlite", folder)
                ok += 1
        except sqlite3.Error:
            failed += 1
    results.put((ok, failed))


def bench(system: str, procs: int, runs: int, root: Path) -> dict:
    home = root / system
    home.mkdir()
    folders = [[str(p) for p in _make_folders(home, w, runs)] for w in range(procs)]
    if system == "naive":
        with sqlite3.connect(home / "naive.sqlite") as conn:
            conn.executescript(NAIVE_SCHEMA)
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(procs + 1), ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(system, str(home), folders[w], barrier, results))
               for w in range(procs)]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    outcome = [results.get() for _ in workers]
    seconds = time.perf_counter() - start
    for w in workers:
        w.join()
    ok = sum(o for o, _ in outcome)
    failed = sum(f for _, f in outcome)
    return {"system": system, "procs": procs, "runs": procs * runs, "recorded": ok, "failed": failed,
            "seconds": round(seconds, 3), "inserts_per_s": round(ok / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--runs", type=int, default=50, help="runs per process")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "registry.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dnactx-bench-") as tmp:
        rows = [bench(system, args.procs, args.runs, Path(tmp)) for system in ("dnactx", "naive")]
    for r in rows:
        print(f"{r['system']:7s} {r['procs']} procs x {r['runs'] // r['procs']} runs: {r['recorded']} recorded, "
              f"{r['failed']} failed, {r['seconds']:.2f} s, {r['inserts_per_s']:.0f} completed runs/s")
    ratio = rows[0]["inserts_per_s"] / rows[1]["inserts_per_s"] if rows[1]["inserts_per_s"] else float("inf")
    print(f"ratio dnactx/naive (successful runs/s): {ratio:.2f}; naive lost {rows[1]['failed']} of {rows[1]['runs']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"results": rows, "ratio": ratio}, indent=2) + "\n")


if __name__ == "__main__":
    main()
