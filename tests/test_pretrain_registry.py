"""A pretrain is a run of the registry (kind pretrain): listed with its masked-token figures, shown with its corpus
and steps, restored by `runs sync --rebuild`, never taken for a methylation model; a train from its folder records
the lineage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_tiny_dataset, run_cli
from test_pretrain import random_seq, write_fasta

from dnactx.registry import Registry

TINY_ARGS = ["--tokenizer", "char", "--layers", "1", "--hidden", "32", "--heads", "2", "--length", "48",
             "--steps", "2", "--batch-size", "8"]


@pytest.fixture
def pretrained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, dict]:
    """(home, model folder, pretrain.json) of one tiny pretrain run with --home."""
    genome = write_fasta(tmp_path / "tair.fa", {"chr1": random_seq(30_000), "chr2": random_seq(9_000, seed=1)})
    home, out = tmp_path / "runs", tmp_path / "lm"
    code, stdout, err = run_cli(["pretrain", "--genome", str(genome), "--out", str(out), *TINY_ARGS, "--json",
                                 "--home", str(home)], capsys)
    assert code == 0, err
    return home, out, json.loads(stdout)


def test_pretrain_with_home_is_listed_by_runs_ls_with_its_masked_figures(
        pretrained: tuple[Path, Path, dict], capsys: pytest.CaptureFixture[str]) -> None:
    home, out, record = pretrained
    assert (out / "pretrain.json").is_file() and json.loads((out / "pretrain.json").read_text())["run_id"] == \
        record["run_id"]
    code, stdout, err = run_cli(["runs", "ls", "--json", "--home", str(home)], capsys)
    assert code == 0, err
    [row] = json.loads(stdout)
    assert (row["id"], row["kind"], row["status"]) == (record["run_id"], "pretrain", "completed")
    facts = row["metrics"]["facts"]
    assert facts["masked_accuracy"] == pytest.approx(record["evaluation"]["heldout_accuracy"])
    assert facts["perplexity"] == pytest.approx(record["evaluation"]["heldout_perplexity"])
    assert (facts["tokens_seen"], facts["steps"]) == (record["training"]["tokens"], 2)
    code, table, _ = run_cli(["runs", "ls", "--home", str(home)], capsys)
    assert "1 pretrain run" in table and "lm" in table and "tair.fa" in table
    assert f"{100 * facts['masked_accuracy']:.1f}%" in table
    code, _, err = run_cli(["runs", "ls", "--kind", "model", "--home", str(home)], capsys)
    assert code == 2 and "--kind must be one of train, pretrain" in err


def test_runs_show_of_a_pretrain_names_its_corpus_and_steps(pretrained: tuple[Path, Path, dict],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    home, out, record = pretrained
    code, stdout, err = run_cli(["runs", "show", record["run_id"][:12], "--home", str(home)], capsys)
    assert code == 0, err
    text = " ".join(stdout.split())
    assert "pretrain" in text and "tair.fa" in text and f"model folder: {out.resolve()}" in text
    assert f"trained: 2 steps, {record['training']['tokens']:,} tokens" in text


def test_rebuild_restores_a_pretrain_row_from_its_run_folder(pretrained: tuple[Path, Path, dict],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    home, _, record = pretrained
    before = Registry.open(home).run(record["run_id"])
    code, _, err = run_cli(["runs", "sync", "--rebuild", "--home", str(home)], capsys)
    assert code == 0, err
    after = Registry.open(home).run(record["run_id"])
    assert after["kind"] == "pretrain" and after["metrics"] == before["metrics"]
    assert after["config"]["corpus"]["train_bases"] == record["corpus"]["train_bases"]
    assert [a["kind"] for a in after["artifacts"]] == ["pretrain_record"]


def test_a_pretrain_run_is_never_compared_diagnosed_or_reported_as_a_methylation_model(
        pretrained: tuple[Path, Path, dict], capsys: pytest.CaptureFixture[str]) -> None:
    home, out, record = pretrained
    assert Registry.open(home).runs() == []  # the methylation models: none
    run_id = record["run_id"]
    for args in (["diagnose", run_id], ["compare", run_id, run_id], ["report", "--baseline", run_id]):
        code, _, err = run_cli([*args, "--home", str(home)], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, (args, err)
        assert ("is a pretrain" in err and f"--model {out.resolve()}" in err) or "no completed runs" in err, err


def test_predict_and_export_of_a_pretrain_run_say_to_fine_tune_it_first(
        pretrained: tuple[Path, Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home, out, record = pretrained
    run_id = record["run_id"]
    genome = str(tmp_path / "tair.fa")  # the pretrain's own genome
    for args in (["predict", run_id, "--genome", genome, "--out", str(tmp_path / "p")],
                 ["predict", str(home / run_id), "--genome", genome, "--out", str(tmp_path / "q")],
                 ["export", run_id, "--out", str(tmp_path / "e")]):
        code, _, err = run_cli([*args, "--home", str(home)], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, (args, err)
        assert "is a pretrain" in err and "fine-tune it first" in err, err


def test_a_train_from_a_pretrain_folder_records_the_pretrain_run_and_shows_the_lineage(
        pretrained: tuple[Path, Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dnactx.runs import RunFolder, lineage_line
    from dnactx.train.config import TrainConfig
    from dnactx.train.run import _new_folder

    home, out, record = pretrained
    data = make_tiny_dataset(tmp_path / "data", n=60)
    folder = _new_folder(TrainConfig(data=str(data), model=str(out), size=20), home, None, None, False)
    config = RunFolder(folder.path).config
    assert config["pretrain_run"] == record["run_id"]
    assert config["pretrain"]["genomes"] == ["tair.fa"] and config["pretrain"]["steps"] == 2
    line = lineage_line(config)
    assert line == (f"fine-tuned from pretrain {record['run_id']} (lm: tair.fa, 2 steps, "
                    f"{record['training']['tokens']:,} tokens, masked accuracy "
                    f"{100 * record['evaluation']['heldout_accuracy']:.1f}%)")
    assert run_cli(["runs", "sync", "--home", str(home)], capsys)[0] == 0
    code, stdout, err = run_cli(["runs", "show", folder.id, "--home", str(home)], capsys)
    assert code == 0, err
    assert line in " ".join(stdout.split())
    lm_only = _new_folder(TrainConfig(data=str(data), model="lr", size=20), home, None, None, False)
    assert "pretrain_run" not in RunFolder(lm_only.path).config


def test_the_report_page_names_the_pretrain_the_selected_run_was_fine_tuned_from() -> None:
    from dnactx.analysis.report import build_report
    from dnactx.analysis.report_page import report_markdown

    lineage = {"run": "01jzpretrain00000000000000", "name": "tair-lm", "genomes": ["tair.fa"], "steps": 1000,
               "tokens": 2_048_000, "masked_accuracy": 0.412}
    rows = [{"id": i, "name": i, "family": "transformer", "model": "/m/tair-lm", "size": 100, "mode": "both",
             "config": {"dataset_fingerprint": "f", **({"pretrain_run": lineage["run"], "pretrain": lineage}
                                                        if i == "ft" else {})},
             "metrics": {"val": {"auprc": v}, "test": {"auprc": v}}} for i, v in (("ft", 0.7), ("other", 0.5))]
    page = report_markdown(build_report(rows, baseline=None, baseline_reason="x"))
    assert ("Its encoder: fine-tuned from pretrain 01jzpretrain00000000000000 (tair-lm: tair.fa, 1,000 steps, "
            "2,048,000 tokens, masked accuracy 41.2%).") in " ".join(page.split())
    rows[0]["config"] = {"dataset_fingerprint": "f"}
    assert "Its encoder" not in report_markdown(build_report(rows, baseline=None, baseline_reason="x"))


@pytest.mark.slow
def test_a_preempted_pretrain_run_is_the_same_run_when_resumed(tmp_path: Path, sigterm_at_step) -> None:

    from dnactx.pretrain.options import PretrainOptions
    from dnactx.pretrain.run import run_pretrain
    from dnactx.train import loop
    from dnactx.train.preemption import Preempted

    genome = write_fasta(tmp_path / "g.fa", {"chr1": random_seq(30_000)})
    home = tmp_path / "runs"
    opts = PretrainOptions(genomes=[genome], out=tmp_path / "lm", steps=6, eval_every=3, layers=1, hidden=32,
                           heads=2, length=48, batch_size=8, quiet=True)

    sigterm_at_step(4)
    with pytest.raises(Preempted):
        run_pretrain(opts, home)
    loop.STEP_HOOKS.clear()
    [row] = Registry.open(home).runs(kind="pretrain")
    assert row["status"] == "preempted"
    opts.resume = True
    record = run_pretrain(opts, home)
    [done] = Registry.open(home).runs(kind=None)
    assert (done["id"], done["status"], record["run_id"]) == (row["id"], "completed", row["id"])
    assert done["metrics"]["facts"]["steps"] == 6
