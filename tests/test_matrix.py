"""dnactx matrix: grid expansion, cell identity, skip/retry on re-runs, --cell, summaries, failures."""

from __future__ import annotations

import csv
import json
import multiprocessing as mp
import os
import signal
from pathlib import Path

import pytest
from conftest import cli_exit_code as cli

from dnactx.errors import DnactxError, ExitCode
from dnactx.matrix.spec import build_spec
from dnactx.registry import Registry
from dnactx.runs import iter_run_folders, run_config


def summary(home: Path, name: str) -> list[dict]:
    with open(home / "matrices" / name / "context_matrix_summary.csv", newline="") as fh:
        return list(csv.DictReader(fh))


# -- grid ---------------------------------------------------------------------------------------------
def test_expansion_order_baseline_and_types(tiny_dataset):
    spec = build_spec(tiny_dataset, {"size": "50, 20,50", "mode": "up,downstream", "loss": "bce,focal",
                                     "site_context": "true,no", "model": "cnn"}, name="g")
    cells = spec.cells()
    assert len(cells) == 2 * 2 * 2 * 2 + 2  # a baseline with and one without the site context, as the cells
    # TrainConfig field order: model, size, mode, site_context, ..., loss; the first axis varies slowest.
    assert [c.values for c in cells[:3]] == [
        {"model": "cnn", "size": 50, "mode": "up", "site_context": True, "loss": "bce"},
        {"model": "cnn", "size": 50, "mode": "up", "site_context": True, "loss": "focal"},
        {"model": "cnn", "size": 50, "mode": "up", "site_context": False, "loss": "bce"},
    ]
    assert cells[8].values["size"] == 20 and cells[4].values["mode"] == "down"
    assert [c.index for c in cells] == list(range(18))
    base = cells[-2]
    assert base.baseline and base.values == {"baseline": True} and base.config.site_context
    assert (base.config.model, base.config.size, base.config.mode) == ("lr", 100, "both")
    assert cells[5].config.name == "g-5" and base.config.name == "g-baseline"
    assert cells[-1].config.name == "g-baseline-site_contextFalse" and not cells[-1].config.site_context
    assert len({c.key for c in cells}) == len(cells)


def test_the_baseline_trains_on_the_same_sites_as_its_cells(tiny_dataset):
    """Every data-shaping option reaches the baseline: one baseline per combination the grid uses."""
    from dnactx.data.dataset import load_dataset
    from dnactx.matrix.spec import DATA_SHAPING
    from dnactx.train.config import effective_max_train

    spec = build_spec(tiny_dataset, {"model": "cnn", "size": "20", "train_fraction": "0.25", "max_train": "60",
                                     "seed": "0,1", "bootstrap": "300", "calibrate": "platt"}, name="fair")
    cells = spec.cells()
    grid, baselines = [c for c in cells if not c.baseline], [c for c in cells if c.baseline]
    assert len(baselines) == 2 and [b.index for b in baselines] == [2, 3]
    for cell, base in zip(grid, baselines, strict=True):
        assert all(getattr(base.config, k) == getattr(cell.config, k) for k in DATA_SHAPING)
        assert (base.config.bootstrap, base.config.calibrate) == (300, "platt")
        assert {k: base.pinned[k] for k in DATA_SHAPING} == {k: getattr(cell.config, k) for k in DATA_SHAPING}
        sites = [load_dataset(c.config.data, 20, "both", max_train=effective_max_train(c.config),
                              train_fraction=c.config.train_fraction, seed=c.config.seed).splits["train"].index
                 for c in (cell, base)]
        assert sites[0].tolist() == sites[1].tolist() and len(sites[0]) == 60
    assert baselines[1].label == "baseline (lr 100 both; seed=1, max_train=60, train_fraction=0.25)"
    # a run of another combination is not that baseline
    other = {**baselines[0].config.to_dict(), "cell": {"baseline": True},
             "dataset_fingerprint": spec.dataset.fingerprint}
    assert baselines[0].matches(other, spec.dataset.fingerprint)
    assert not baselines[0].matches({**other, "train_fraction": 0.5}, spec.dataset.fingerprint)


@pytest.mark.slow
def test_a_matrix_baseline_trained_on_its_cells_training_sites(tiny_dataset, tmp_path):
    home = tmp_path / "home"
    assert cli("--home", str(home), "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--model", "cnn",
               "--epochs", "1", "--train-fraction", "0.25", "--name", "frac", "-q") == 0
    runs = Registry.open(home).runs(matrix="frac")
    cell, base = sorted(runs, key=lambda r: bool((r["config"].get("cell") or {}).get("baseline")))
    assert base["model"] == "lr" and base["config"]["train_fraction"] == cell["config"]["train_fraction"] == 0.25
    assert base["metrics"]["facts"]["train_sites"] == cell["metrics"]["facts"]["train_sites"] < 100


@pytest.mark.parametrize("flag", ["--seeds", "--seed"])
def test_seeds_is_a_grid_axis_under_either_spelling(tiny_dataset, tmp_path, capsys, flag):
    assert cli("--home", str(tmp_path / "h"), "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--model",
               "lr", flag, "0,1,2", "--dry-run") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[:3] == [f"{i}\tmodel=lr size=20 mode=both seed={i}" for i in range(3)]
    assert lines[3:] == ["3\tbaseline (lr 100 both)", "4\tbaseline (lr 100 both; seed=1)",
                         "5\tbaseline (lr 100 both; seed=2)"]


def test_seeds_given_under_both_spellings_is_refused(tiny_dataset, tmp_path, capsys):
    assert cli("--home", str(tmp_path / "h"), "matrix", "--data", str(tiny_dataset), "--seeds", "0,1", "--seed",
               "2", "--dry-run") == ExitCode.USAGE
    assert "given 2 times" in capsys.readouterr().err


def test_options_a_family_ignores_do_not_multiply_its_cells(tiny_dataset):
    spec = build_spec(tiny_dataset, {"model": "lr,cnn,dnabert6-tiny", "finetune": "frozen,top:2", "size": "20",
                                     "loss": "bce,focal"}, name="f", baseline="none")
    cells = spec.cells()
    by_model = {m: [c.values for c in cells if c.config.model == m] for m in ("lr", "cnn", "dnabert6-tiny")}
    assert by_model["lr"] == [{"model": "lr", "size": 20, "mode": "both"}]
    assert [v["loss"] for v in by_model["cnn"]] == ["bce", "focal"] and "finetune" not in by_model["cnn"][0]
    assert len(by_model["dnabert6-tiny"]) == 4
    assert [c.index for c in cells] == list(range(7))


def test_default_name_is_stable_and_follows_the_grid(tiny_dataset):
    a = build_spec(tiny_dataset, {"size": "20,50", "mode": "up"})
    b = build_spec(tiny_dataset, {"size": "20,50", "mode": "up"})
    c = build_spec(tiny_dataset, {"size": "20,60", "mode": "up"})
    assert a.name == b.name != c.name and a.name.startswith("matrix-")
    assert [x.values for x in a.cells()] == [x.values for x in b.cells()]


@pytest.mark.parametrize("raw, message", [
    ({"size": "20,500"}, "window 200"),
    ({"epochs": "2,x"}, "--epochs: 'x' is not an integer"),
    ({"mode": "sideways"}, "--mode must be up, down or both"),
    ({"finetune": "frozen,top:0"}, "--finetune"),
    ({"size": " , "}, "needs at least one value"),
])
def test_bad_axes_are_one_line_errors(tiny_dataset, raw, message):
    with pytest.raises(DnactxError, match=message):
        build_spec(tiny_dataset, raw).cells()


@pytest.mark.parametrize("name", ["..", ".hidden", "a b", "x;y", "$(touch pwned)", "a/b", "n" * 65, ""])
def test_matrix_names_are_validated(tiny_dataset, name):
    with pytest.raises(DnactxError, match="not allowed"):
        build_spec(tiny_dataset, {"size": "20"}, name=name)


def test_dry_run_lists_cells_with_the_baseline_last(tiny_dataset, tmp_path, capsys):
    assert cli("--home", str(tmp_path / "h"), "matrix", "--data", str(tiny_dataset), "--sizes", "20,50",
               "--modes", "up", "--model", "lr", "--dry-run") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ["0\tmodel=lr size=20 mode=up", "1\tmodel=lr size=50 mode=up", "2\tbaseline (lr 100 both)"]
    assert not (tmp_path / "h").exists()


# -- running ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_lr_matrix_summary_then_rerun_trains_nothing(tiny_dataset, tmp_path, capsys):
    home = tmp_path / "home"
    args = ["--home", str(home), "matrix", "--data", str(tiny_dataset), "--sizes", "20,50", "--modes", "up,down",
            "--model", "lr", "--name", "m1", "-q"]
    assert cli(*args) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "m1"
    rows = summary(home, "m1")
    assert [(r["cell"], r["size"], r["mode"], r["model"]) for r in rows] == [
        ("0", "20", "up", "lr"), ("1", "20", "down", "lr"), ("2", "50", "up", "lr"), ("3", "50", "down", "lr"),
        ("baseline", "100", "both", "lr")]
    assert all(r["status"] == "completed" for r in rows)
    reg = Registry.open(home)
    runs = reg.runs(matrix="m1")
    assert len(runs) == 5
    by_id = {r["id"]: r for r in runs}
    for row in rows:  # the summary's numbers are the registry's
        m = by_id[row["run_id"]]["metrics"]
        assert float(row["test_auroc"]) == pytest.approx(m["test"]["auroc"])
        assert float(row["val_auprc"]) == pytest.approx(m["val"]["auprc"])
        assert float(row["test_f1_at_threshold"]) == pytest.approx(m["test"]["f1_at_threshold"])
    assert by_id[rows[-1]["run_id"]]["config"]["cell"] == {"baseline": True}
    md = (home / "matrices" / "m1" / "context_matrix_summary.md").read_text()
    assert md.count("| completed |") == 5 and "| baseline |" in md
    spec = json.loads((home / "matrices" / "m1" / "matrix.json").read_text())
    assert [c["run_id"] for c in spec["cells"]] == [r["run_id"] for r in rows]
    assert [m["name"] for m in reg.matrices()] == ["m1"]

    assert cli(*args) == 0  # the same command again: every cell is complete, nothing trains
    assert len(list(iter_run_folders(home))) == 5
    assert [r["run_id"] for r in summary(home, "m1")] == [r["run_id"] for r in rows]
    assert "0 trained, 5 already complete" in capsys.readouterr().err


@pytest.mark.slow
def test_cell_option_then_full_matrix_keeps_that_run(tiny_dataset, tmp_path):
    home = tmp_path / "home"
    args = ["--home", str(home), "matrix", "--data", str(tiny_dataset), "--sizes", "20,30", "--modes", "up",
            "--model", "lr", "--name", "m2", "-q"]
    assert cli(*args, "--cell", "1") == 0
    first = [f.id for f in iter_run_folders(home)]
    assert len(first) == 1 and RunCell(home, first[0]) == {"model": "lr", "size": 30, "mode": "up"}
    rows = summary(home, "m2")
    assert [r["status"] for r in rows] == ["pending", "completed", "pending"]
    assert cli(*args) == 0
    rows = summary(home, "m2")
    assert rows[1]["run_id"] == first[0]
    assert len(list(iter_run_folders(home))) == 3  # only the two remaining cells trained
    assert cli(*args, "--cell", "3") == ExitCode.USAGE  # out of range: one line, not a traceback


def RunCell(home: Path, run_id: str) -> dict:  # noqa: N802 - reads like a field access in the asserts
    return json.loads((home / run_id / "config.json").read_text())["cell"]


@pytest.mark.slow
def test_a_failed_cell_is_reported_the_rest_run_and_a_rerun_retries_it(tiny_dataset, tmp_path, capsys):
    home = tmp_path / "home"
    missing = tmp_path / "no-such-checkpoint"
    args = ["--home", str(home), "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--modes", "up",
            "--model", f"lr,{missing}", "--name", "m3", "-q"]
    assert cli(*args) == ExitCode.RUN_FAILED
    err = capsys.readouterr().err
    assert "cell 1: failed" in err and "cell(s) 1 did not complete" in err
    rows = summary(home, "m3")
    assert [r["status"] for r in rows] == ["completed", "failed", "completed"]
    assert cli(*args) == ExitCode.RUN_FAILED  # completed cells are skipped, the failed one is tried again
    runs = Registry.open(home).runs(matrix="m3")
    assert sorted(r["status"] for r in runs) == ["completed", "completed", "failed", "failed"]


def _abandoned_run(home, spec, status: str):
    """A recorded run of the grid's first cell left ``status`` (queued or running) by a process that is gone."""
    from dnactx.registry import record_run
    from dnactx.runs import RunFolder

    cell = spec.cells()[0]
    config = run_config(cell.config.to_dict(), dataset_fingerprint=spec.dataset.fingerprint, matrix=spec.name,
                        cell=cell.values)
    folder = RunFolder.create(home, config, matrix=spec.name)
    if status != "queued":
        folder.set_status(status)
    record_run(home, folder)
    return folder


@pytest.mark.slow
def test_stale_running_run_is_marked_failed_and_retried(tiny_dataset, tmp_path):
    """A run left 'running' by a process that died (no cell lock held) does not block its cell."""
    from dnactx.matrix.session import run_matrix

    home = tmp_path / "home"
    spec = build_spec(tiny_dataset, {"size": "20", "mode": "up", "model": "lr"}, name="m4", baseline="none")
    dead = _abandoned_run(home, spec, "running")
    result = run_matrix(spec, home, quiet=True)
    assert [o.status for o in result.outcomes] == ["completed"]
    assert dead.status["status"] == "failed" and "settled by the matrix" in dead.status["error"]
    assert result.rows[0]["run_id"] != dead.id and result.rows[0]["status"] == "completed"


@pytest.mark.slow
def test_a_run_left_queued_by_a_dead_process_is_failed_and_its_cell_trained(tiny_dataset, tmp_path):
    """Killed between making its folder and starting (status still 'queued'): the matrix, holding the cell's
    lock, fails it (nothing to resume) and trains the cell."""
    from dnactx.matrix.session import run_matrix

    home = tmp_path / "home"
    spec = build_spec(tiny_dataset, {"size": "20", "mode": "up", "model": "lr"}, name="m4q", baseline="none")
    queued = _abandoned_run(home, spec, "queued")
    result = run_matrix(spec, home, quiet=True)
    assert [o.status for o in result.outcomes] == ["completed"]
    assert queued.status["status"] == "failed" and "before the run started" in queued.status["error"]
    assert {r["status"] for r in Registry.open(home).runs(matrix="m4q")} == {"completed", "failed"}


@pytest.mark.slow
def test_parallel_jobs(tiny_dataset, tmp_path):
    home = tmp_path / "home"
    assert cli("--home", str(home), "matrix", "--data", str(tiny_dataset), "--sizes", "20,30", "--modes", "up",
               "--model", "lr", "--name", "m5", "--baseline", "none", "--jobs", "2", "-q") == 0
    rows = summary(home, "m5")
    assert [r["status"] for r in rows] == ["completed", "completed"]
    assert len({r["run_id"] for r in rows}) == 2


@pytest.mark.slow
def test_completed_cells_are_found_without_the_registry(tiny_dataset, tmp_path, capsys):
    """A corrupt or missing registry never makes a matrix retrain: the run folders are the source of truth."""
    home = tmp_path / "home"
    args = ["--home", str(home), "matrix", "--data", str(tiny_dataset), "--sizes", "20,30", "--modes", "up",
            "--model", "lr", "--name", "m6", "--baseline", "none", "-q"]
    assert cli(*args) == 0
    (home / "registry.sqlite").write_bytes(b"not a database" * 100)
    capsys.readouterr()
    assert cli(*args) == 0
    err = capsys.readouterr().err
    assert "warning: registry unavailable" in err and "0 trained, 2 already complete" in err
    assert len(list(iter_run_folders(home))) == 2


def test_workers_are_pinned_one_gpu_each(monkeypatch):
    from dnactx.matrix import runner

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3, 5")
    assert runner.visible_gpus() == ["3", "5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert runner.visible_gpus() == []
    queue = mp.get_context("spawn").Queue()
    for gpu in ("3", "5"):
        queue.put(gpu)
    previous = signal.getsignal(signal.SIGINT)
    try:
        runner._init_worker(queue)
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"
        runner._init_worker(queue)
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.slow
def test_seed_groups_in_the_summary_and_a_reused_name_warns_and_lists_the_other_grid(tiny_dataset, tmp_path,
                                                                                     capsys):
    home = tmp_path / "home"
    base = ["--home", str(home), "matrix", "--data", str(tiny_dataset), "--model", "lr", "--C", "1",
            "--name", "reuse", "-q"]
    assert cli(*base, "--sizes", "20", "--seeds", "0,1") == 0
    md = (home / "matrices" / "reuse" / "context_matrix_summary.md").read_text()
    assert "## Over seeds (mean ± sd of the completed runs)" in md
    groups = json.loads((home / "matrices" / "reuse" / "matrix.json").read_text())["seed_groups"]
    assert [(g["cell"], g["seeds"], g["completed"]) for g in groups] == [("0,1", "0,1", 2), ("baseline", "0,1", 2)]
    assert " ± " in groups[0]["val_auprc"]
    assert [r["seed"] for r in summary(home, "reuse")] == ["0", "1", "0", "1"]  # baselines show their seed
    capsys.readouterr()

    assert cli(*base, "--sizes", "30") == 0
    err = capsys.readouterr().err
    assert "warning: matrix reuse was recorded before with another grid (model=lr, size=20, seed=0,1, C=1.0)" in err
    rows = summary(home, "reuse")
    assert [r["size"] for r in rows] == ["30", "100"]  # this grid's cells (the seed-0 baseline is shared)
    md = (home / "matrices" / "reuse" / "context_matrix_summary.md").read_text()
    assert "## Runs recorded under this name by another grid (3)" in md
    listed = json.loads((home / "matrices" / "reuse" / "matrix.json").read_text())
    assert len(listed["other_runs"]) == 3 and not set(listed["other_runs"]) & {r["run_id"] for r in rows}
