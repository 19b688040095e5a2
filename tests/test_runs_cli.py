"""``dnactx runs``: ls/show/rm/export/sync through the real CLI entry point, including --rebuild and a corrupt file."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import make_run_folder, real_metrics, run_cli
from typer.testing import CliRunner

from dnactx.cli import app
from dnactx.errors import ExitCode
from dnactx.registry import Registry, record_run


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "runs"
    for seed, (model, status) in enumerate([("lr", "completed"), ("cnn", "completed"), ("cnn", "failed")]):
        record_run(home, make_run_folder(home, model=model, status=status, seed=seed, matrix="grid",
                                  metrics=real_metrics(seed)))
    return home


def test_ls_on_a_fresh_home_lists_nothing_and_creates_nothing(tmp_path: Path, capsys) -> None:
    fresh = tmp_path / "fresh"
    code, out, err = run_cli(["--home", str(fresh), "runs", "ls", "--json"], capsys)
    assert (code, out.strip()) == (0, "[]") and not fresh.exists()
    assert err == f"no runs under {fresh.resolve()} (no such folder): is that the right --home? It defaults to " \
                  "./runs, or $DNACTX_HOME\n"
    (tmp_path / "bare").mkdir()  # a folder, but no registry in it: still nothing written
    code, out, err = run_cli(["runs", "ls", "--home", str(tmp_path / "bare")], capsys)
    assert (code, out) == (0, "") and "no registry.sqlite there" in err and list((tmp_path / "bare").iterdir()) == []
    Registry.open(tmp_path / "empty")  # an existing but empty registry too
    code, out, _ = run_cli(["--home", str(tmp_path / "empty"), "runs", "ls", "--json"], capsys)
    assert (code, out.strip()) == (0, "[]")


@pytest.mark.parametrize("argv", [["report"], ["diagnose", "01abc"], ["runs", "show", "01abc"],
                                  ["runs", "rm", "--yes", "01abc"]])
def test_read_only_commands_on_a_home_without_registry_say_so_and_write_nothing(tmp_path: Path, capsys, argv):
    bare = tmp_path / "bare"
    bare.mkdir()
    code, out, err = run_cli([*argv, "--home", str(bare)], capsys)
    assert (code, out) == (ExitCode.USAGE, "") and err.count("\n") == 1
    assert err.startswith(f"error: no runs under {bare.resolve()} (no registry.sqlite there)")
    assert list(bare.iterdir()) == []
    code, _, err = run_cli(["--home", str(tmp_path / "nowhere"), *argv], capsys)
    assert code == ExitCode.USAGE and "(no such folder)" in err and not (tmp_path / "nowhere").exists()


def test_run_folders_without_a_registry_point_to_sync(home: Path, capsys) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{home / 'registry.sqlite'}{suffix}").unlink(missing_ok=True)
    code, _, err = run_cli(["--home", str(home), "runs", "show", "01"], capsys)
    assert code == ExitCode.USAGE and "has run folders but no registry.sqlite" in err and "runs sync" in err
    assert not (home / "registry.sqlite").exists()


def test_home_after_the_command_is_the_same_as_before_it(home: Path, tmp_path: Path, capsys) -> None:
    _, before, _ = run_cli(["--home", str(home), "runs", "ls", "--json"], capsys)
    _, after, _ = run_cli(["runs", "ls", "--json", "--home", str(home)], capsys)
    assert json.loads(after) == json.loads(before) and len(json.loads(after)) == 3
    _, same, _ = run_cli(["--home", str(home), "runs", "ls", "--home", str(home), "--json"], capsys)
    assert same == before
    code, out, err = run_cli(["--home", str(tmp_path / "a"), "runs", "ls", "--home", str(home)], capsys)
    assert (code, out) == (ExitCode.USAGE, "") and "given twice" in err and err.count("\n") == 1
    code, _, err = run_cli(["runs", "--home", str(home), "ls"], capsys)  # between the two command words
    assert code == ExitCode.USAGE and "--home goes first or last: `dnactx --home DIR runs ...`" in err


def test_home_after_the_command_beats_the_environment(home: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DNACTX_HOME", str(tmp_path / "elsewhere"))
    code, out, _ = run_cli(["runs", "ls", "--json", "--home", str(home)], capsys)
    assert code == 0 and len(json.loads(out)) == 3


def test_ls_filters_sort_and_table(home: Path, capsys, monkeypatch) -> None:
    from dnactx.cli import common

    monkeypatch.setattr(common.console, "_width", 160)  # a wide terminal, so cells are not elided
    code, out, _ = run_cli(["--home", str(home), "runs", "ls", "--json", "--status", "completed", "--model", "cnn"],
                           capsys)
    runs = json.loads(out)
    assert code == 0 and [(r["model"], r["status"]) for r in runs] == [("cnn", "completed")]
    code, out, _ = run_cli(["--home", str(home), "runs", "ls", "--json", "--sort", "val_auprc"], capsys)
    values = [r["metrics"]["val"]["auprc"] for r in json.loads(out)]
    assert values == sorted(values, reverse=True) and len(values) == 3
    code, out, _ = run_cli(["--home", str(home), "runs", "ls", "--json", "--sort", "val_brier", "--reverse"], capsys)
    values = [r["metrics"]["val"]["brier"] for r in json.loads(out)]
    assert values == sorted(values)
    code, out, _ = run_cli(["--home", str(home), "runs", "ls", "--matrix", "grid"], capsys)
    assert code == 0 and "3 runs in" in out and "matrix grid" in out and "auprc" in out and "failed" in out
    code, _, err = run_cli(["--home", str(home), "runs", "ls", "--sort", "val_nope"], capsys)
    assert code == ExitCode.USAGE and err.startswith("error: no run has metric 'val_nope'")


def test_show_by_prefix_json_and_table(home: Path, capsys) -> None:
    run = Registry.open(home).runs(model="lr")[0]
    code, out, _ = run_cli(["--home", str(home), "runs", "show", run["id"][:10], "--json"], capsys)
    assert code == 0 and json.loads(out) == {**json.loads(json.dumps(run)), "evaluations": []}  # none made yet
    code, out, _ = run_cli(["--home", str(home), "runs", "show", run["id"][:10]], capsys)
    assert code == 0 and run["id"] in out and "auprc" in out and "model.bin" in out
    code, _, err = run_cli(["--home", str(home), "runs", "show", "zzzz"], capsys)
    assert code == ExitCode.USAGE and err.count("\n") == 1
    assert err.startswith(f"error: no run matches 'zzzz' in {home.resolve()}: is that the right --home?")


def test_rm_asks_unless_yes(home: Path) -> None:
    runner = CliRunner()
    reg = Registry.open(home)
    first, second = [r["id"] for r in reg.runs()][:2]
    result = runner.invoke(app, ["--home", str(home), "runs", "rm", first[:12]], input="n\n")
    assert result.exit_code != 0 and (home / first).is_dir() and len(reg.runs()) == 3
    result = runner.invoke(app, ["--home", str(home), "runs", "rm", first[:12]], input="y\n")
    assert result.exit_code == 0 and not (home / first).exists() and len(reg.runs()) == 2
    result = runner.invoke(app, ["--home", str(home), "runs", "rm", "--yes", second, second[:12]])
    assert result.exit_code == 0 and not (home / second).exists() and len(reg.runs()) == 1


def test_no_at_the_confirmation_is_an_interruption(home: Path, capsys, monkeypatch) -> None:
    run_id = Registry.open(home).runs()[0]["id"]
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, _, err = run_cli(["--home", str(home), "runs", "rm", run_id], capsys)
    assert code == ExitCode.INTERRUPTED and err.endswith("error: aborted, nothing done\n") and (home / run_id).is_dir()


def test_export_csv_and_json(home: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = run_cli(["--home", str(home), "runs", "export", "--format", "csv"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    runs = Registry.open(home).runs()
    assert code == 0 and [r["id"] for r in rows] == [r["id"] for r in runs]
    assert float(rows[0]["val_auprc"]) == pytest.approx(runs[0]["metrics"]["val"]["auprc"])
    assert float(rows[0]["test_CG_auroc"]) == pytest.approx(runs[0]["metrics"]["by_context"]["test"]["CG"]["auroc"])
    assert rows[0]["train_seconds"] == "1.25"
    target = tmp_path / "out" / "runs.json"
    code, _, _ = run_cli(["--home", str(home), "runs", "export", "--format", "json", "--out", str(target),
                          "--status", "failed"], capsys)
    assert code == 0 and [r["status"] for r in json.loads(target.read_text())] == ["failed"]
    code, _, err = run_cli(["--home", str(home), "runs", "export", "--format", "xlsx"], capsys)
    assert code == ExitCode.USAGE and "csv or json" in err


def _dump(path: Path) -> dict:
    with sqlite3.connect(path) as db:
        return {
            "runs": db.execute("SELECT * FROM runs ORDER BY id").fetchall(),
            "metrics": db.execute("SELECT run_id, split, context, name, value FROM metrics "
                                  "ORDER BY run_id, split, ifnull(context, ''), name").fetchall(),
            "artifacts": db.execute("SELECT run_id, kind, path, sha256, bytes FROM artifacts ORDER BY run_id, path"
                                    ).fetchall(),
            "matrices": db.execute("SELECT * FROM matrices").fetchall(),
            "datasets": db.execute("SELECT * FROM datasets").fetchall(),
        }


def test_delete_registry_then_sync_rebuild_restores_everything(home: Path, capsys) -> None:
    reg = Registry.open(home)
    reg.ensure_matrix("grid", {"model": ["lr", "cnn"], "seed": [0, 1, 2]})
    reg.record_dataset("f" * 64, "/d/dataset.parquet", {"window": 200, "n_sites": 1000})
    before = _dump(reg.path)
    assert len(before["runs"]) == 3 and len(before["metrics"]) > 100 and len(before["artifacts"]) == 3
    for suffix in ("", "-wal", "-shm"):
        Path(f"{reg.path}{suffix}").unlink(missing_ok=True)

    code, _, err = run_cli(["--home", str(home), "runs", "sync", "--rebuild"], capsys)

    assert code == 0 and "3 imported" in " ".join(err.split())  # the console wraps long paths
    assert _dump(reg.path) == before
    code, out, _ = run_cli(["--home", str(home), "runs", "ls", "--json"], capsys)
    assert len(json.loads(out)) == 3


def test_sync_imports_missing_folders_and_prunes_orphans(home: Path, capsys) -> None:
    folder = make_run_folder(home, model="lr", seed=9, metrics=real_metrics(9))  # never recorded
    code, out, _ = run_cli(["--home", str(home), "runs", "sync", "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and (report["imported"], report["refreshed"]) == (1, 3)
    assert Registry.open(home).run(folder.id)["seed"] == 9
    shutil.rmtree(folder.path)
    code, _, err = run_cli(["--home", str(home), "runs", "sync"], capsys)
    assert "runs sync --prune" in err
    code, out, _ = run_cli(["--home", str(home), "runs", "sync", "--prune", "--json"], capsys)
    assert json.loads(out)["pruned"] == 1 and len(Registry.open(home).runs()) == 3


def test_corrupt_registry_is_rebuilt_from_the_folders_with_one_warning_line(home: Path, capsys) -> None:
    path = home / "registry.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"\x00garbage" * 4096)
    from dnactx.registry import store

    store._OPEN.clear()
    code, out, err = run_cli(["--home", str(home), "runs", "ls", "--json"], capsys)
    assert code == 0 and len(json.loads(out)) == 3
    assert err.count("\n") == 1 and err.startswith("warning: registry ")
    assert "is not a SQLite database; rebuilding it from the run folders" in err
    assert (home / "registry.sqlite.bak").read_bytes().startswith(b"\x00garbage")
    assert len(Registry.open(home).runs()) == 3


def _full_config_run(home: Path, model: str, finetune: str, seed: int) -> str:
    """A completed run whose config.json holds every TrainConfig field, as train_run writes it."""
    import dataclasses

    from dnactx.train.config import TrainConfig

    cfg = TrainConfig(data="/d/dataset.parquet", model=model, finetune=finetune, seed=seed, epochs=7, C=0.5)
    from dnactx.runs import RunFolder, run_config

    config = run_config(dataclasses.asdict(cfg), dataset_fingerprint="f" * 64, window=200)
    metrics = real_metrics(seed)
    metrics["facts"]["train_sites"] = 100 + seed

    folder = RunFolder.create(home, config, name=f"{model}-{seed}")
    folder.write_metrics(metrics)
    folder.set_status("completed")
    record_run(home, folder)
    return folder.id


def test_export_carries_every_train_option_and_train_sites_and_finetune_only_for_transformers(tmp_path, capsys):
    import dataclasses

    from dnactx.train.config import TrainConfig

    home = tmp_path / "runs"
    ids = [_full_config_run(home, "lr", "frozen", 0), _full_config_run(home, "cnn", "frozen", 1),
           _full_config_run(home, "dnabert6-tiny", "top:2", 2)]
    code, out, _ = run_cli(["--home", str(home), "runs", "export", "--format", "csv"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["id"] for r in rows] == ids
    header = out.splitlines()[0].split(",")
    assert {f.name for f in dataclasses.fields(TrainConfig)} | {"train_sites", "family"} <= set(header)
    assert [(r["epochs"], r["C"], r["solver"], r["train_sites"]) for r in rows] == [
        ("7", "0.5", "lbfgs", str(100 + seed)) for seed in range(3)]
    assert [r["finetune"] for r in rows] == ["", "", "top:2"]
    code, out, _ = run_cli(["--home", str(home), "runs", "export", "--format", "json"], capsys)
    assert [r["finetune"] for r in json.loads(out)] == [None, None, "top:2"]


def test_ls_shows_finetune_only_for_transformers(home: Path, tmp_path, capsys, monkeypatch) -> None:
    from dnactx.cli import common

    monkeypatch.setattr(common.console, "_width", 160)
    def table() -> tuple[list[str], dict[str, list[str]]]:
        code, out, _ = run_cli(["--home", str(home), "runs", "ls"], capsys)
        assert code == 0
        header = next(line.split() for line in out.splitlines() if line.startswith("id "))
        return header, {line.split()[2]: line.split() for line in out.splitlines() if line.startswith("01")}

    header, rows = table()  # lr and cnn only: no finetune column, though their config.json says "frozen"
    assert header[:6] == ["id", "status", "model", "size", "mode", "seed"]
    assert all("frozen" not in cells for cells in rows.values())
    _full_config_run(home, "dnabert6-tiny", "top:2", 5)
    header, rows = table()
    at = header.index("finetune")
    assert rows["dnabert6-tiny"][at] == "top:2" and rows["lr"][at] == rows["cnn"][at] == "—"


def test_ambiguous_prefix_says_how_many_runs_match(home: Path, capsys) -> None:
    code, _, err = run_cli(["--home", str(home), "runs", "show", "0"], capsys)
    assert code != 0 and err.startswith("error: 0 matches 3 runs: 0") and err.count("\n") == 1
