"""report with paired statistics: better / worse / within noise against the baseline, seeds as mean ± sd and
selection by the mean, group means with intervals and an honest sentence when groups cannot be told apart, the
baseline kept out of the grid's means and heatmap, and runs of different datasets never ranked together."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_scored_run, make_tiny_dataset, ranked_scores, run_cli

from dnactx.errors import ExitCode


def _report(capsys, home, *args):
    code, out, err = run_cli(["--home", str(home), "report", "--json", *args], capsys)
    assert code == 0, err
    return json.loads(out)


def _same_ranking(seed: int, noise: float = 0.002):
    """Scores of one underlying model with a little run-to-run noise: runs that cannot be told apart."""
    base = ranked_scores(1.5, 1.5, seed=100)
    rng = np.random.default_rng(seed)
    return lambda split, y, ctx: np.clip(base(split, y, ctx) + rng.normal(0, noise, y.size), 0, 1)


@pytest.fixture
def data(tmp_path):
    return make_tiny_dataset(tmp_path / "d", n=3000)


def test_comparison_rows_carry_intervals_and_say_better_worse_or_within_noise(data, tmp_path, capsys):
    home = tmp_path / "runs"
    make_scored_run(home, data, ranked_scores(0.5, 0.5, seed=1), name="lr", model="lr", matrix="m",
                    cell={"baseline": True})
    make_scored_run(home, data, ranked_scores(2.5, 2.5, seed=2), name="strong", matrix="m")
    r = _report(capsys, home, "--matrix", "m")
    rows = {(c["split"], c["metric"]): c for c in r["comparison"]}
    assert set(rows) == {(s, m) for s in ("val", "test")
                         for m in ("auprc", "auroc", "f1_at_threshold", "within_auprc", "within_auroc")}
    test = rows[("test", "auprc")]
    assert test["verdict"] == "better" and test["ci"][0] > 0 and test["p_value"] < 0.05
    assert test["ci"][0] < test["difference"] < test["ci"][1]
    md = (home / "reports" / "m" / "report.md").read_text()
    assert "On test, real differences (95% interval excludes 0): AUPRC +" in md
    assert "| test | AUPRC |" in md and "| better |" in md and "✔" not in md and "✘" not in md

    home2 = tmp_path / "runs2"
    make_scored_run(home2, data, _same_ranking(1), name="lr", model="lr", matrix="m", cell={"baseline": True})
    make_scored_run(home2, data, _same_ranking(2), name="twin", matrix="m")
    r = _report(capsys, home2, "--matrix", "m")
    assert {c["verdict"] for c in r["comparison"]} == {"within noise"}
    assert all(c["ci"][0] <= 0 <= c["ci"][1] for c in r["comparison"])
    md = (home2 / "reports" / "m" / "report.md").read_text()
    assert "On test, no difference between the selected run and the baseline is larger than its noise." in md


def test_seeds_are_mean_and_sd_and_the_configuration_is_selected_by_its_mean(data, tmp_path, capsys):
    home = tmp_path / "runs"
    # "seeded": one lucky seed has the best single val AUPRC, but its mean is below "steady"'s single run.
    lucky = [make_scored_run(home, data, ranked_scores(s, 1.0, seed=10 + i), name=f"seeded-s{i}", seed=i,
                             size=50, matrix="m", cell={"size": 50, "seed": i}) for i, s in enumerate((4.0, 0.2, 0.2))]
    steady = make_scored_run(home, data, ranked_scores(2.0, 2.0, seed=20), name="steady", size=100, matrix="m",
                             cell={"size": 100})
    r = _report(capsys, home, "--matrix", "m", "--baseline", "none")
    assert r["selected"]["id"] == steady and r["best_by_test"] is not None
    configs = {c["name"]: c for c in r["configurations"]}
    seeded = next(c for c in r["configurations"] if c["ids"][0] in lucky)
    assert seeded["seeds"] == [0, 1, 2] and len(seeded["ids"]) == 3 and seeded["val_sd"] > 0
    vals = [r_["val_auprc"] for r_ in r["runs"] if r_["id"] in lucky]
    assert seeded["val_mean"] == pytest.approx(np.mean(vals)) and seeded["val_sd"] == pytest.approx(np.std(vals,
                                                                                                            ddof=1))
    assert max(vals) > configs["steady"]["val_mean"] > seeded["val_mean"]
    md = (home / "reports" / "m" / "report.md").read_text()
    assert "## Configurations, ranked by mean val AUPRC over seeds" in md and " ± " in md


def test_groups_that_cannot_be_told_apart_get_one_sentence_and_no_winner(data, tmp_path, capsys):
    home = tmp_path / "runs"
    for i, (size, mode) in enumerate([(50, "up"), (50, "both"), (100, "up"), (100, "both")]):
        make_scored_run(home, data, _same_ranking(i), name=f"c{i}", size=size, mode=mode, matrix="m")
    r = _report(capsys, home, "--matrix", "m", "--baseline", "none")
    assert r["mode_verdict"].startswith("No mode is distinguishable from another on test AUPRC: 1 paired comparison")
    assert r["size_verdict"].startswith("No size is distinguishable from another")
    assert all(g["test_ci"][0] < g["test_mean"] < g["test_ci"][1] for g in r["by_mode"] + r["by_size"])
    md = (home / "reports" / "m" / "report.md").read_text()
    assert "No mode is distinguishable from another" in md and "has the best mean" not in md


def test_a_group_that_differs_is_named_with_its_interval_and_the_comparisons_counted(data, tmp_path, capsys):
    home = tmp_path / "runs"
    strengths = {"up": 0.1, "down": 0.15, "both": 3.0}
    for i, (mode, s) in enumerate(strengths.items()):
        make_scored_run(home, data, ranked_scores(s, s, seed=30 + i), name=mode, mode=mode, matrix="m")
    r = _report(capsys, home, "--matrix", "m", "--baseline", "none")
    sentence = r["mode_verdict"]
    assert sentence.startswith("both has the best mean val AUPRC; on test AUPRC it is better than up (+")
    assert "better than down (+" in sentence and "3 paired comparisons" in sentence
    assert "98.3% intervals (Bonferroni over 3)" in sentence


def test_the_matrix_baseline_stays_out_of_the_grid_means_and_heatmap(data, tmp_path, capsys):
    home = tmp_path / "runs"
    make_scored_run(home, data, ranked_scores(3.0, 3.0, seed=1), name="lr-baseline", model="lr", size=100,
                    mode="both", matrix="m", cell={"baseline": True})
    for i, mode in enumerate(("up", "down")):
        make_scored_run(home, data, ranked_scores(1.0, 1.0, seed=2 + i), name=mode, mode=mode, size=50,
                        matrix="m", cell={"mode": mode})
    r = _report(capsys, home, "--matrix", "m")
    assert [g["mode"] for g in r["by_mode"]] == ["up", "down"] and [g["size"] for g in r["by_size"]] == [50]
    assert r["heatmap"]["cols"] == ["up", "down"] and r["heatmap"]["rows"] == [50]
    assert r["baseline_means"]["runs"] == 1 and r["baseline_means"]["mode"] == "both"
    md = (home / "reports" / "m" / "report.md").read_text()
    assert "| _baseline (lr 100 both)_ |" in md and "is not a cell of the grid" in md


def test_runs_of_different_datasets_are_not_ranked_together(data, tmp_path, capsys):
    home = tmp_path / "runs"
    make_scored_run(home, data, ranked_scores(1.0, 1.0, seed=1), name="a")
    other = make_tiny_dataset(tmp_path / "other", n=3000, seed=4)
    make_scored_run(home, other, ranked_scores(2.0, 2.0, seed=2), name="b")
    code, _, err = run_cli(["--home", str(home), "report"], capsys)
    assert code == ExitCode.USAGE and err.count("\n") == 1
    assert "come from 2 datasets" in err and "report one with --data PATH or --matrix NAME" in err
    r = _report(capsys, home, "--data", str(other))
    assert r["n_runs"] == 1 and r["selected"]["name"] == "b" and "dataset" in r["scope"]


def test_the_baseline_trained_on_other_sites_is_said(data, tmp_path, capsys):
    home = tmp_path / "runs"
    make_scored_run(home, data, ranked_scores(0.5, 0.5, seed=1), name="lr", model="lr", facts={"train_sites": 1000})
    make_scored_run(home, data, ranked_scores(2.0, 2.0, seed=2), name="cnn", model="cnn", facts={"train_sites": 250})
    r = _report(capsys, home)
    assert any("the baseline trained on 1,000 sites and the selected configuration on 250" in n for n in r["notes"])


def test_a_selected_matrix_baseline_is_compared_with_the_best_grid_cell(data, tmp_path, capsys):
    home = tmp_path / "runs"
    make_scored_run(home, data, ranked_scores(2.5, 2.5, seed=1), name="lr-baseline", model="lr", matrix="m",
                    cell={"baseline": True})
    best_cell = make_scored_run(home, data, ranked_scores(1.5, 1.5, seed=2), name="lr-cell", model="lr", size=50,
                                matrix="m", cell={"model": "lr", "size": 50})
    make_scored_run(home, data, ranked_scores(0.5, 0.5, seed=3), name="cnn-cell", model="cnn", size=50, matrix="m",
                    cell={"model": "cnn", "size": 50})
    r = _report(capsys, home, "--matrix", "m")
    assert r["selected"]["name"] == "lr-baseline" and r["baseline"]["id"] == best_cell
    assert r["baseline_reason"] == "the selected run is the matrix's baseline: compared with the best grid cell"
    assert all(c["ci"] for c in r["comparison"])
    assert any(s.startswith("the lr baseline") and "lr-cell (lr)" in s for s in r["next_steps"])


def test_a_context_or_feature_with_too_few_positives_shows_no_auroc_or_interval_on_the_report_page(tmp_path):
    import json

    from dnactx.analysis.report import build_report
    from dnactx.analysis.report_page import report_markdown

    def split(n_pos_chg: int) -> dict:
        return {"CG": {"n": 800, "n_pos": 80, "pos_rate": 0.1, "auroc": 0.6, "auprc": 0.2,
                       "ci": {"auroc": [0.55, 0.65], "auprc": [0.15, 0.25]}},
                "CHG": {"n": 700, "n_pos": n_pos_chg, "pos_rate": n_pos_chg / 700, "auroc": 0.296, "auprc": 0.002,
                        "ci": {"auroc": [0.268, 0.331], "auprc": [0.001, 0.003]}}}

    metrics = {"val": {"auprc": 0.7}, "test": {"auprc": 0.7}, "by_context": {"val": split(12), "test": split(1)},
               "by_feature": {"test": {"UTR": {"n": 653, "n_pos": 3, "pos_rate": 0.005, "auroc": 0.828,
                                               "auprc": 0.026, "ci": {"auroc": [0.807, 0.85]}}}}}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))  # by_feature is read from the run folder
    rows = [{"id": "a", "name": "a", "family": "cnn", "model": "cnn", "size": 50, "mode": "both",
             "config": {"dataset_fingerprint": "f"}, "metrics": metrics, "folder": str(tmp_path)}]
    page = report_markdown(build_report(rows, baseline=None, baseline_reason="x"))
    test_chg = next(line for line in page.splitlines() if line.startswith("| test | CHG"))
    assert "too few positives (1)" in test_chg and "0.296" not in test_chg and "[0.268" not in test_chg
    val_chg = next(line for line in page.splitlines() if line.startswith("| val | CHG"))
    assert "0.296 [0.268, 0.331]" in val_chg  # 12 positives: shown with its interval
    utr = next(line for line in page.splitlines() if line.startswith("| test | UTR"))
    assert "too few positives (3)" in utr
