"""report: selection on validation, numbers straight from the registry, baseline, files written."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import flat_scores, make_scored_run, ranked_scores, run_cli

from dnactx.analysis.baseline import choose_baseline
from dnactx.analysis.report import build_report, group_means, selection_metric
from dnactx.contracts import Report
from dnactx.errors import DnactxError, ExitCode
from dnactx.registry import Registry


@pytest.fixture
def matrix_home(tmp_path, tiny_dataset):
    """A matrix where the best run on validation is not the best on test, plus an lr baseline."""
    home = tmp_path / "runs"
    ids = {
        "lr": make_scored_run(home, tiny_dataset, ranked_scores(0.6, 0.6, seed=1), name="lr", model="lr", size=50,
                       mode="both", matrix="m1"),
        "val_best": make_scored_run(home, tiny_dataset, ranked_scores(1.8, 0.3, seed=2), name="val-best", size=100,
                             mode="both", matrix="m1"),
        "test_best": make_scored_run(home, tiny_dataset, ranked_scores(1.0, 3.0, seed=3), name="test-best", size=100,
                              mode="up", finetune="top:2", matrix="m1"),
        "flat": make_scored_run(home, tiny_dataset, flat_scores(4), name="flat", size=50, mode="up", matrix="m1"),
        "outside": make_scored_run(home, tiny_dataset, ranked_scores(5.0, 5.0, seed=5), name="outside", matrix=None),
    }
    return home, ids


def _report(home, capsys, *args):
    code, out, err = run_cli(["--home", str(home), "report", *args], capsys)
    assert code == 0, err
    return out


def test_report_selects_on_validation_and_numbers_match_registry(matrix_home, capsys, tmp_path):
    home, ids = matrix_home
    out_dir = tmp_path / "rep"
    r = json.loads(_report(home, capsys, "--matrix", "m1", "--json", "--out", str(out_dir)))
    reg = Registry.open(home)
    assert r["n_runs"] == 4  # the run outside the matrix is not in it
    assert r["selected"]["id"] == ids["val_best"] and r["selected"]["name"] == "val-best"
    assert r["best_by_test"]["id"] == ids["test_best"] and r["best_by_test"]["label"] == "optimistic: chosen on test"
    assert r["baseline"]["id"] == ids["lr"]
    assert set(r) <= Report.__annotations__.keys()  # the report holds only what its contract declares

    chosen = reg.run(ids["val_best"])["metrics"]
    assert r["selected"]["test"] == chosen["test"] and r["selected"]["val"] == chosen["val"]
    assert r["selected"]["threshold"] == chosen["threshold"]
    assert r["per_context"] == chosen["by_context"]
    base = reg.run(ids["lr"])["metrics"]
    row = next(c for c in r["comparison"] if c["split"] == "test" and c["metric"] == "auprc")
    assert row["selected"] == chosen["test"]["auprc"] and row["baseline"] == base["test"]["auprc"]
    assert row["difference"] == pytest.approx(chosen["test"]["auprc"] - base["test"]["auprc"])
    assert row["ratio"] == pytest.approx(chosen["test"]["auprc"] / base["test"]["auprc"])

    ranked = [run["id"] for run in r["runs"]]
    vals = {i: reg.run(i)["metrics"]["val"]["auprc"] for i in ranked}
    assert ranked[0] == ids["val_best"] and [vals[i] for i in ranked] == sorted(vals.values(), reverse=True)
    with open(out_dir / "report.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["id"] for row in rows] == ranked
    for row in rows:
        m = reg.run(row["id"])["metrics"]
        assert float(row["val_auprc"]) == m["val"]["auprc"] and float(row["test_auprc"]) == m["test"]["auprc"]
        assert float(row["test_f1_at_threshold"]) == m["test"]["f1_at_threshold"]

    modes = {g["mode"]: g for g in r["by_mode"]}
    up = [reg.run(ids[k])["metrics"]["val"]["auprc"] for k in ("test_best", "flat")]
    assert modes["up"]["runs"] == 2 and modes["up"]["val_mean"] == pytest.approx(sum(up) / 2)
    assert {g["size"] for g in r["by_size"]} == {50, 100}
    assert r["heatmap"]["rows"] == [50, 100] and r["heatmap"]["cols"] == ["up", "both"]

    md = (out_dir / "report.md").read_text()
    assert "# dnactx report: matrix m1" in md and f"`{ids['val_best']}`" in md
    assert "optimistic: chosen on test" in md and "## Next steps" in md and "**Verdict:**" in md
    assert f"{chosen['test']['auprc']:.3f}" in md
    html = (out_dir / "report.html").read_text()
    assert "data:image/png;base64," in html and "<table>" in html
    assert (out_dir / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
    assert (home / ids["val_best"] / "diagnosis.json").is_file()


def test_report_prints_markdown_to_default_folder(matrix_home, capsys):
    home, ids = matrix_home
    out = _report(home, capsys, "--matrix", "m1")
    assert out.startswith("# dnactx report: matrix m1") and "## All runs, ranked by val AUPRC" in out
    assert (home / "reports" / "m1" / "report.md").read_text() == out
    # Without --matrix every completed run counts; the baseline may then come from outside a matrix too.
    r = json.loads(_report(home, capsys, "--json", "--baseline", ids["flat"][:12]))
    assert r["n_runs"] == 5 and r["selected"]["id"] == ids["outside"] and r["baseline"]["id"] == ids["flat"]


def test_report_errors_are_one_line(tmp_path, matrix_home, capsys):
    home, _ = matrix_home
    for args in (["--matrix", "nope"], ["--metric", "test_auprc"], ["--model", "cnn"]):
        code, _, err = run_cli(["--home", str(home), "report", *args], capsys)
        assert code == ExitCode.USAGE and err.startswith("error:") and err.count("\n") == 1, (args, err)
    code, _, err = run_cli(["--home", str(tmp_path / "empty"), "report"], capsys)
    assert code == ExitCode.USAGE and f"no runs under {(tmp_path / 'empty').resolve()}" in err
    assert not (tmp_path / "empty").exists()


def _row(run_id, family, val, test, fingerprint="f", **kw):
    return {"id": run_id, "name": run_id, "family": family, "model": family, "size": 100, "mode": "both",
            "config": {"dataset_fingerprint": fingerprint},
            "metrics": {"val": {"auprc": val}, "test": {"auprc": test}}, **kw}


def test_pure_selection_baseline_and_means():
    rows = [_row("a", "transformer", 0.5, 0.9), _row("b", "transformer", 0.7, 0.2), _row("c", "cnn", None, 0.95)]
    others = [_row("lr-other", "lr", 0.3, 0.3, fingerprint="g"), _row("lr-same", "lr", 0.2, 0.2)]
    r = build_report(rows, baseline=None, baseline_reason="x")
    assert r["selected"]["id"] == "b" and r["best_by_test"]["id"] == "c"
    assert [run["id"] for run in r["runs"]] == ["b", "a", "c"]  # the run without the metric is ranked last
    base, reason = choose_baseline(rows[1], rows, rows + others, "auprc")
    assert base["id"] == "lr-same" and "same dataset" in reason
    assert group_means(rows, "mode", "auprc")[0]["val_mean"] == pytest.approx(0.6)
    assert selection_metric("auroc") == ("val", "auroc") and selection_metric("val_brier") == ("val", "brier")
    brier = [{**r, "metrics": {"val": {"brier": b}, "test": {"brier": b}}}
             for r, b in zip(rows, (0.2, 0.1, 0.3), strict=True)]
    assert build_report(brier, metric="val_brier")["selected"]["id"] == "b"  # lower is better
    for bad in ("val_nonsense", "train_seconds", "val_CG_auprc"):
        with pytest.raises(DnactxError, match="unknown metric"):
            selection_metric(bad)
    with pytest.raises(DnactxError, match="selected on validation"):
        selection_metric("test_auprc")


def test_auto_baseline_prefers_the_matrix_baseline_cell_even_when_an_lr_cell_is_selected():
    lr_cell = _row("lr-cell", "lr", 0.8, 0.5, config={"dataset_fingerprint": "f", "cell": {"model": "lr"}})
    designated = _row("lr-base", "lr", 0.6, 0.4, config={"dataset_fingerprint": "f", "cell": {"baseline": True}})
    cnn = _row("cnn", "cnn", 0.7, 0.6)
    rows = [lr_cell, designated, cnn]
    base, reason = choose_baseline(lr_cell, rows, rows, "auprc")
    assert base["id"] == "lr-base" and reason == "the matrix's baseline run"
    base, _ = choose_baseline(lr_cell, [lr_cell, cnn], [lr_cell, cnn], "auprc")
    assert base is None  # no other lr run
    base, reason = choose_baseline(designated, rows, rows, "auprc")
    assert base is None and reason == "the selected run is itself the lr baseline"
    base, reason = choose_baseline(cnn, rows, rows, "auprc", requested=lr_cell)
    assert base["id"] == "lr-cell" and reason == "given with --baseline"
    assert choose_baseline(cnn, rows, rows, "auprc", requested="none") == (None, "disabled with --baseline none")


def test_report_with_a_given_baseline_diagnoses_against_that_same_baseline(matrix_home, capsys, tmp_path):
    home, ids = matrix_home
    # "outside" is a transformer run outside the matrix: no automatic policy would pick it, but the user did.
    r = json.loads(_report(home, capsys, "--matrix", "m1", "--baseline", ids["outside"][:14], "--json",
                           "--out", str(tmp_path / "rep")))
    assert r["selected"]["id"] == ids["val_best"] and r["baseline"]["id"] == ids["outside"]
    assert {c["baseline"] for c in r["comparison"] if c["metric"] == "auprc"} == {
        Registry.open(home).run(ids["outside"])["metrics"][s]["auprc"] for s in ("val", "test")}
    assert r["diagnosis"]["baseline"] == {"id": ids["outside"], "name": "outside"}
    assert all(c["ci"] and c["verdict"] for c in r["comparison"])  # paired, though it is in no group of the matrix
    assert {g["mode"]: g["runs"] for g in r["by_mode"]} == {"up": 2, "both": 2}
    below = next(f for f in r["diagnosis"]["findings"] if f["code"] == "below_baseline")
    assert "for baseline outside" in below["evidence"]
    saved = json.loads((home / ids["val_best"] / "diagnosis.json").read_text())
    assert saved["baseline"]["id"] == ids["outside"]
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "Baseline (given with --baseline): **outside**" in md and "for baseline outside" in md


def test_standalone_diagnose_uses_the_baseline_report_would_choose(matrix_home, capsys):
    home, ids = matrix_home
    d = json.loads(run_cli(["--home", str(home), "diagnose", ids["val_best"], "--json"], capsys)[1])
    r = json.loads(_report(home, capsys, "--matrix", "m1", "--json"))
    assert d["baseline"]["id"] == r["baseline"]["id"] == r["diagnosis"]["baseline"]["id"] == ids["lr"]


def test_first_layout_run_folders_sync_diagnose_and_report(tmp_path, tiny_dataset, capsys):
    """Folders written before metrics.json had a ``facts`` object (facts beside the threshold) still work."""
    home = tmp_path / "runs"
    lr = make_scored_run(home, tiny_dataset, ranked_scores(0.6, 0.6, seed=1), name="lr", model="lr")
    bert = make_scored_run(home, tiny_dataset, ranked_scores(1.8, 1.8, seed=2), name="bert",
                           facts={"truncated_fraction": 0.4})
    for run_id in (lr, bert):
        path = home / run_id / "metrics.json"
        m = json.loads(path.read_text())
        facts = m.pop("facts")
        path.write_text(json.dumps({**m, **facts}))  # the first layout
    assert "facts" not in json.loads((home / bert / "metrics.json").read_text())
    code, _, err = run_cli(["--home", str(home), "runs", "sync", "--rebuild"], capsys)
    assert code == 0 and "2 imported" in " ".join(err.split())  # the console wraps long paths
    row = Registry.open(home).run(bert)
    assert row["metrics"]["facts"] == {"truncated_fraction": 0.4, "best_epoch": 1, "epochs_run": 3}
    assert "truncated_fraction" not in row["metrics"]
    code, out, err = run_cli(["--home", str(home), "diagnose", bert, "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    truncation = next(f for f in d["findings"] if f["code"] == "truncation")
    assert truncation["evidence"].startswith("40% of inputs were cut")
    r = json.loads(_report(home, capsys, "--json"))
    assert r["selected"]["id"] == bert and r["baseline"]["id"] == lr
    assert any(f["code"] == "truncation" for f in r["diagnosis"]["findings"])
