"""Schema migrations: a registry at 0001 with data upgrades to head intact; newer schemas stop clearly."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from dnactx.errors import DnactxError
from dnactx.registry import Registry
from dnactx.registry.db import make_engine
from dnactx.registry.migrate import current_revision, head_revision, upgrade
from dnactx.registry.models import Run  # noqa: F401 - registers the tables on SQLModel.metadata

RUN_ID = "01jz0000000000000000000000"


def _registry_at_0001_with_data(home: Path) -> Path:
    home.mkdir()
    (home / RUN_ID).mkdir()  # its run folder: a row without one reads "missing"
    (home / RUN_ID / "status.json").write_text(json.dumps({"id": RUN_ID, "status": "completed"}))
    path = home / "registry.sqlite"
    upgrade(make_engine(path), "0001")
    config = {"model": "cnn", "family": "cnn", "size": 100, "mode": "up", "window": 400, "device": "cpu",
              "cell": {"size": 100, "mode": "up"}, "versions": {"dnactx": "0.0.9"}}
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO runs (id, name, status, family, model, size, mode, finetune, seed, matrix, config, "
                   "versions, created, host) VALUES (?, 'old', 'completed', 'cnn', 'cnn', 100, 'up', 'frozen', 7, "
                   "'m0', ?, ?, '2024-05-01T10:00:00+00:00', 'node17')",
                   (RUN_ID, json.dumps(config), json.dumps(config["versions"])))
        db.executemany("INSERT INTO metrics (run_id, split, context, name, value) VALUES (?, ?, ?, ?, ?)",
                       [(RUN_ID, "val", None, "auprc", 0.61), (RUN_ID, "test", "CG", "auroc", 0.83),
                        (RUN_ID, "run", None, "threshold", 0.42), (RUN_ID, "run", None, "train_seconds", 12.5),
                        (RUN_ID, "run", None, "best_epoch", 3.0)])
        db.execute("INSERT INTO artifacts (run_id, kind, path, sha256, bytes) VALUES (?, 'model', 'model.pt', "
                   "'abc', 123)", (RUN_ID,))
        db.execute("INSERT INTO matrices (id, name, spec, created) VALUES ('m0', 'm0', '{\"size\": [100]}', 'x')")
    return path


def test_registry_at_first_migration_upgrades_to_head_with_data_intact(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = _registry_at_0001_with_data(home)
    assert current_revision(make_engine(path)) == "0001"
    with sqlite3.connect(path) as db:
        assert "datasets" not in {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    reg = Registry.open(home)

    assert current_revision(reg.engine) == head_revision() == "0006"
    run = reg.run("01jz")
    assert (run["name"], run["status"], run["model"], run["size"], run["mode"], run["seed"], run["matrix"],
            run["host"]) == ("old", "completed", "cnn", 100, "up", 7, "m0", "node17")
    # 0003: the run-level rows that were facts move to split "facts"; a cnn has no finetune
    assert run["metrics"] == {"val": {"auprc": 0.61}, "by_context": {"test": {"CG": {"auroc": 0.83}}},
                              "threshold": 0.42, "facts": {"train_seconds": 12.5, "best_epoch": 3}}
    assert run["finetune"] is None
    assert run["artifacts"] == [{"kind": "model", "path": "model.pt", "sha256": "abc", "bytes": 123}]
    # 0002's new columns are backfilled from the JSON the old rows carry
    assert (run["window"], run["device"], run["dnactx_version"], run["cell"]) == (
        400, "cpu", "0.0.9", {"size": 100, "mode": "up"})
    # 0006: every run before pretrain runs existed trained a methylation model
    assert run["kind"] == "train" and [r["id"] for r in reg.runs()] == [RUN_ID]
    assert reg.matrices()[0]["spec"] == {"size": [100]}
    reg.record_dataset("d" * 64, "/x/dataset.parquet", {"window": 400})
    assert len(reg.datasets()) == 1
    with sqlite3.connect(path) as db:
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"ix_metrics_split_context_name", "ix_runs_model", "ix_runs_kind", "ix_runs_matrix",
            "ix_runs_status"} <= indexes


def test_head_migration_matches_the_sqlmodel_tables(tmp_path: Path) -> None:
    reg = Registry.open(tmp_path)
    with reg.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_registry_newer_than_the_code_stops_with_a_clear_message(tmp_path: Path) -> None:
    Registry.open(tmp_path)
    with sqlite3.connect(tmp_path / "registry.sqlite") as db:
        db.execute("UPDATE alembic_version SET version_num = '0099'")
    from dnactx.registry import store

    store._OPEN.clear()
    with pytest.raises(DnactxError) as info:
        Registry.open(tmp_path)
    assert str(info.value) == (f"registry at {tmp_path / 'registry.sqlite'} is schema 0099, newer than this dnactx "
                               "(0006); upgrade dnactx")


def test_migrations_ship_as_package_data() -> None:
    import importlib.resources

    root = importlib.resources.files("dnactx.migrations")
    assert root.joinpath("env.py").is_file() and root.joinpath("script.py.mako").is_file()
    assert {p.name for p in root.joinpath("versions").iterdir() if p.name.endswith(".py")} >= {
        "0001_initial.py", "0002_datasets.py", "0003_run_facts.py", "0004_evaluations.py", "0005_run_owner.py",
        "0006_run_kind.py"}
