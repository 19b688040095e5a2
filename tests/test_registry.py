"""The registry API: recording run folders, prefixes, filters, matrices, datasets, failures made clear."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest
from conftest import make_run_folder, real_metrics

from dnactx.contracts import flatten_metrics, run_metric
from dnactx.errors import DnactxError
from dnactx.registry import Registry, record_run, rows_from_folder, sync
from dnactx.registry import db as dbmod
from dnactx.runs import RunFolder


def _key(row: tuple) -> tuple:
    return row[0], row[1] or "", row[2]


def test_record_run_round_trips_metrics_artifacts_and_columns(tmp_path: Path) -> None:
    m = real_metrics()
    folder = make_run_folder(tmp_path, metrics=m, matrix="grid", seed=3)
    assert record_run(tmp_path, folder) is True
    assert record_run(tmp_path, folder) is True  # idempotent: no duplicate rows
    reg = Registry.open(tmp_path)
    run = reg.run(folder.id)
    assert run["status"] == "completed" and run["model"] == "lr" and run["family"] == "lr"
    assert (run["size"], run["mode"], run["seed"], run["matrix"]) == (50, "both", 3, "grid")
    assert run["finetune"] is None  # lr has no --finetune, whatever its config.json says
    assert run["folder"] == str(tmp_path / folder.id)
    assert run["config"] == folder.config and run["cell"] == {"seed": 3}
    assert run["dnactx_version"] == "0.1.0" and run["window"] == 200 and run["device"] == "cpu"
    assert run["host"] and run["created"] and run["started"] and run["finished"]
    assert sorted(flatten_metrics(run["metrics"]), key=_key) == sorted(flatten_metrics(m), key=_key)
    assert run["metrics"]["val"]["n"] == 150 and isinstance(run["metrics"]["val"]["n"], int)
    assert run["metrics"]["facts"] == m["facts"]
    assert run["metrics"]["by_context"]["test"]["CG"]["auprc"] == pytest.approx(m["by_context"]["test"]["CG"]["auprc"])
    assert run["artifacts"] == folder.artifacts
    with sqlite3.connect(reg.path) as db:
        assert db.execute("SELECT count(*) FROM metrics").fetchone()[0] == len(flatten_metrics(m))
        assert db.execute("SELECT count(*) FROM artifacts").fetchone()[0] == 1
        assert db.execute("SELECT split, name FROM metrics WHERE context IS NULL AND split NOT IN ('val', 'test') "
                          "ORDER BY split, name").fetchall() == [
            ("facts", "best_epoch"), ("facts", "cache_hit"), ("facts", "epochs_run"), ("facts", "train_seconds"),
            ("facts", "train_sites"), ("facts", "truncated_fraction"), ("run", "threshold")]


def test_record_run_updates_status_transitions(tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path, status="running")
    record_run(tmp_path, folder)
    reg = Registry.open(tmp_path)
    assert reg.run(folder.id)["status"] == "running" and reg.run(folder.id)["metrics"] == {}
    folder.write_metrics(real_metrics())
    folder.set_status("failed", error="CUDA out of memory\n  at step 3")
    record_run(tmp_path, folder)
    run = reg.run(folder.id)
    assert run["status"] == "failed" and run["error"] == "CUDA out of memory at step 3" and run["metrics"]


def test_filters_and_metric_sort_helpers(tmp_path: Path) -> None:
    for seed, (model, status, matrix) in enumerate([("lr", "completed", "a"), ("cnn", "completed", "a"),
                                                    ("zhihan1996/DNA_bert_6", "failed", "b"),
                                                    ("dnabert6-tiny", "completed", None)]):
        record_run(tmp_path, make_run_folder(tmp_path, model=model, status=status, seed=seed, matrix=matrix,
                                      metrics=real_metrics(seed)))
    reg = Registry.open(tmp_path)
    assert len(reg.runs()) == 4
    assert [r["model"] for r in reg.runs(matrix="a")] == ["lr", "cnn"]
    assert [r["status"] for r in reg.runs(status="failed")] == ["failed"]
    assert len(reg.runs(status=["completed", "failed"])) == 4
    assert {r["model"] for r in reg.runs(model="transformer")} == {"zhihan1996/DNA_bert_6", "dnabert6-tiny"}
    assert [r["model"] for r in reg.runs(model="cnn")] == ["cnn"]
    assert reg.runs(model="nope") == []
    run = reg.runs(model="lr")[0]
    assert run_metric(run, "val_auprc") == run["metrics"]["val"]["auprc"]
    assert run_metric(run, "test_CHH_auroc") == run["metrics"]["by_context"]["test"]["CHH"]["auroc"]
    assert run_metric(run, "train_seconds") == 1.25
    assert run_metric(run, "val_nonexistent") is None
    assert [r["finetune"] for r in reg.runs()] == [None, None, "frozen", "frozen"]  # transformers only


def test_resolve_prefixes(tmp_path: Path) -> None:
    a = RunFolder.create(tmp_path, {"model": "lr"}, run_id="01aaaaaaaaaaaaaaaaaaaaaaaa")
    b = RunFolder.create(tmp_path, {"model": "lr"}, run_id="01aabbbbbbbbbbbbbbbbbbbbbb")
    record_run(tmp_path, a)
    record_run(tmp_path, b)
    reg = Registry.open(tmp_path)
    assert reg.resolve("01aaa") == a.id and reg.resolve("01AAB") == b.id and reg.resolve(a.id) == a.id
    with pytest.raises(DnactxError, match=r"^01aa matches 2 runs: 01aaaa\w+, 01aabb\w+; give more characters"):
        reg.resolve("01aa")
    with pytest.raises(DnactxError, match="no run matches"):
        reg.resolve("zz")
    with pytest.raises(DnactxError, match="no run matches"):
        reg.resolve("01a_")  # LIKE wildcards are escaped
    c = RunFolder.create(tmp_path, {"model": "lr"}, run_id="02cccccccccccccccccccccccc")  # folder only
    assert reg.resolve("02") == c.id
    # a folder whose registry write never happened is read from the folder, and recorded on the way
    assert reg.run("02")["status"] == "queued" and c.id in reg.ids()


def _ensure(home: str, barrier, out) -> None:
    from dnactx.registry import Registry

    barrier.wait()
    out.put(Registry.open(Path(home)).ensure_matrix("grid-1", {"size": [50, 100], "seed": [0, 1]}))


@pytest.mark.slow
def test_ensure_matrix_is_race_free_across_processes(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    n = 8
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_ensure, args=(str(tmp_path), barrier, out)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * n
    assert sorted(out.get() for _ in range(n)) == ["grid-1"] * n
    reg = Registry.open(tmp_path)
    (m,) = reg.matrices()
    assert (m["id"], m["name"], m["spec"]) == ("grid-1", "grid-1", {"size": [50, 100], "seed": [0, 1]})
    record_run(tmp_path, make_run_folder(tmp_path, matrix="grid-1"))
    assert reg.matrices()[0]["runs"] == {"completed": 1}
    with pytest.raises(DnactxError):
        reg.ensure_matrix(" ", {})


def test_record_dataset_and_delete_run(tmp_path: Path) -> None:
    reg = Registry.open(tmp_path)
    reg.record_dataset("ab" * 32, tmp_path / "dataset.parquet", {"window": 200, "n_sites": 10})
    reg.record_dataset("ab" * 32, tmp_path / "dataset.parquet", {"window": 200, "n_sites": 11})
    (d,) = reg.datasets()
    assert d["summary"] == {"window": 200, "n_sites": 11} and d["path"].endswith("dataset.parquet")
    folder = make_run_folder(tmp_path, metrics=real_metrics())
    record_run(tmp_path, folder)
    reg.delete_run(folder.id)
    assert not folder.path.exists() and reg.runs() == []
    with sqlite3.connect(reg.path) as db:
        assert db.execute("SELECT count(*) FROM metrics").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM artifacts").fetchone()[0] == 0


def test_locked_registry_leaves_a_complete_folder_and_sync_imports_it(tmp_path: Path, monkeypatch, capsys) -> None:
    Registry.open(tmp_path)
    monkeypatch.setattr(dbmod, "RETRY_BUDGET_S", 0.3)
    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(tmp_path / "registry.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    folder = make_run_folder(tmp_path, metrics=real_metrics())
    try:
        from dnactx.registry import store

        store._OPEN.clear()  # a fresh engine picks up the short busy timeout
        assert record_run(tmp_path, folder) is False
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert err.startswith("warning: run ") and "runs sync" in err and err.count("\n") == 1
    assert rows_from_folder(folder).metrics  # the folder is complete
    report = sync(tmp_path)
    assert report.imported == [folder.id]
    assert Registry.open(tmp_path).run(folder.id)["status"] == "completed"


def test_unwritable_home_returns_false(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    folder = make_run_folder(tmp_path / "runs")
    assert record_run(blocker / "home", folder) is False
    assert "warning:" in capsys.readouterr().err


def test_an_empty_registry_file_lists_and_records_the_run_folders(tmp_path: Path) -> None:
    from conftest import make_run_folder

    runs = [make_run_folder(tmp_path, seed=s) for s in range(2)]
    (tmp_path / "registry.sqlite").write_bytes(b"")

    reg = Registry.open(tmp_path, create=False)

    assert [r["id"] for r in reg.runs()] == sorted(f.id for f in runs)
    assert reg.ids() == sorted(f.id for f in runs)


@pytest.mark.parametrize(("damage", "said"), [
    (lambda b: b"this is not sqlite at all" * 100, "is not a SQLite database"),
    (lambda b: b[:len(b) // 2], "is truncated"),
])
def test_a_damaged_registry_is_rebuilt_from_the_run_folders_never_read_as_empty(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], damage, said: str) -> None:
    from conftest import make_run_folder

    from dnactx.registry import store

    runs = [make_run_folder(tmp_path, seed=s) for s in range(3)]
    for f in runs:
        record_run(tmp_path, f)
    with sqlite3.connect(tmp_path / "registry.sqlite") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store._OPEN.clear()
    path = tmp_path / "registry.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(damage(path.read_bytes()))
    capsys.readouterr()

    reg = Registry.open(tmp_path, create=False)

    assert reg.ids() == sorted(f.id for f in runs)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err and "rebuilding it from the run folders" in err
    assert (tmp_path / "registry.sqlite.bak").is_file()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_rollback_journal_when_wal_is_not_allowed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DNACTX_REGISTRY_JOURNAL", "delete")
    Registry.open(tmp_path / "nfs")
    with sqlite3.connect(tmp_path / "nfs" / "registry.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    monkeypatch.delenv("DNACTX_REGISTRY_JOURNAL")
    Registry.open(tmp_path / "local")
    with sqlite3.connect(tmp_path / "local" / "registry.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_network_filesystems_are_detected(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(dbmod, "_fs_type", lambda path: "nfs4")
    assert dbmod.wal_allowed(tmp_path) is False
    monkeypatch.setattr(dbmod, "_fs_type", lambda path: "ext4")
    assert dbmod.wal_allowed(tmp_path) is True


def test_sync_restores_matrices_and_datasets_from_their_sidecar_files(tmp_path: Path) -> None:
    reg = Registry.open(tmp_path)
    reg.ensure_matrix("grid", {"seed": [0, 1]})
    reg.record_dataset("c" * 64, "/d/dataset.parquet", {"window": 200})
    with sqlite3.connect(reg.path) as db:  # rows lost (e.g. written while the registry was unreachable)
        db.execute("DELETE FROM matrices")
        db.execute("DELETE FROM datasets")
    report = sync(tmp_path)
    assert (report.matrices, report.datasets) == (1, 1)
    assert reg.matrices()[0]["spec"] == {"seed": [0, 1]} and reg.datasets()[0]["summary"] == {"window": 200}
