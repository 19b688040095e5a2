"""--out and --force only ever replace what the command itself wrote: never the home, a run folder, a dataset,
a parent of those, nor a folder with anyone's files (issue 20, data loss)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from test_inference import hand_made_lr_run

from dnactx.errors import DnactxError


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes: what 'nothing deleted, nothing changed' compares."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def home_with_run(tmp_path: Path, tiny_dataset: Path) -> tuple[Path, str]:
    home = tmp_path / "runs"
    return home, hand_made_lr_run(home, tiny_dataset)


def _export(home: Path, run_id: str, out: Path, capsys, *extra: str) -> tuple[int, str]:
    code, _, err = run_cli(["--home", str(home), "export", run_id, "--out", str(out), "--force", *extra], capsys)
    return code, err


def test_export_force_onto_the_home_is_refused_and_deletes_nothing(home_with_run, capsys) -> None:
    home, run_id = home_with_run
    before = _tree(home)
    code, err = _export(home, run_id, home, capsys)
    assert code == 2 and "registry" in err and str(home) in err and len(err.strip().splitlines()) == 1
    assert _tree(home) == before


def test_export_force_onto_a_parent_of_the_home_is_refused(home_with_run, capsys) -> None:
    home, run_id = home_with_run
    before = _tree(home.parent)
    code, err = _export(home, run_id, home.parent, capsys)
    assert code == 2 and "holds the registry home" in err
    assert _tree(home.parent) == before


def test_export_force_onto_a_completed_run_folder_is_refused(home_with_run, capsys) -> None:
    home, run_id = home_with_run
    before = _tree(home)
    code, err = _export(home, run_id, home / run_id, capsys)
    assert code == 2 and "a run folder" in err and str(home / run_id) in err
    assert _tree(home) == before


def test_export_force_onto_a_dataset_folder_is_refused(home_with_run, tiny_dataset: Path, capsys) -> None:
    home, run_id = home_with_run
    before = _tree(tiny_dataset.parent)
    code, err = _export(home, run_id, tiny_dataset.parent, capsys)
    assert code == 2 and "a dataset (dataset.parquet)" in err
    assert _tree(tiny_dataset.parent) == before


def test_export_force_onto_an_export_with_a_foreign_file_is_refused(home_with_run, tmp_path: Path, capsys) -> None:
    home, run_id = home_with_run
    out = tmp_path / "model"
    assert _export(home, run_id, out, capsys)[0] == 0
    (out / "my_notes.txt").write_text("mine")
    before = _tree(out)
    code, err = _export(home, run_id, out, capsys)
    assert code == 2 and "1 entry it did not write (my_notes.txt)" in err
    assert _tree(out) == before


def test_export_force_replaces_its_own_earlier_export(home_with_run, tmp_path: Path, capsys) -> None:
    home, run_id = home_with_run
    out = tmp_path / "model"
    assert _export(home, run_id, out, capsys, "--species", "Zea mays")[0] == 0
    code, err = _export(home, run_id, out, capsys, "--species", "Oryza sativa")
    assert code == 0, err
    card = (out / "README.md").read_text()
    assert "Oryza sativa" in card and "Zea mays" not in card


def test_runs_export_never_overwrites_the_registry_or_a_foreign_file(home_with_run, tmp_path: Path,
                                                                     capsys) -> None:
    home, _ = home_with_run
    registry = home / "registry.sqlite"
    before = registry.read_bytes()
    code, _, err = run_cli(["--home", str(home), "runs", "export", "--out", str(registry)], capsys)
    assert code == 2 and "database" in err and registry.read_bytes() == before
    mine = tmp_path / "table.csv"
    mine.write_text("gene,count\nFLC,3\n")
    code, _, err = run_cli(["--home", str(home), "runs", "export", "--out", str(mine)], capsys)
    assert code == 2 and "was not written by `dnactx runs export`" in err and mine.read_text().startswith("gene")


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_runs_export_overwrites_its_own_earlier_export(home_with_run, tmp_path: Path, capsys, fmt: str) -> None:
    home, run_id = home_with_run
    out = tmp_path / f"runs.{fmt}"
    for _ in range(2):
        code, _, err = run_cli(["--home", str(home), "runs", "export", "--format", fmt, "--out", str(out)], capsys)
        assert code == 0, err
    assert run_id in out.read_text()


def test_diagnose_plots_and_report_out_refuse_a_run_folder(home_with_run, capsys) -> None:
    home, run_id = home_with_run
    before = _tree(home)
    code, _, err = run_cli(["--home", str(home), "diagnose", run_id, "--plots", str(home / run_id)], capsys)
    assert code == 2 and "--plots" in err and "a run folder" in err
    code, _, err = run_cli(["--home", str(home), "report", "--out", str(home)], capsys)
    assert code == 2 and "registry" in err
    assert _tree(home) == before


def test_explain_and_predict_refuse_the_home_before_any_work(home_with_run, tmp_path: Path, capsys) -> None:
    home, run_id = home_with_run
    before = _tree(home)
    code, _, err = run_cli(["--home", str(home), "explain", run_id, "--out", str(home)], capsys)
    assert code == 2 and "`dnactx explain` only replaces its own earlier outputs" in err
    genome = tmp_path / "g.fa"
    genome.write_text(">c\nACGT\n")
    code, _, err = run_cli(["--home", str(home), "predict", run_id, "--genome", str(genome), "--out", str(home),
                            "--force"], capsys)
    assert code == 2 and "registry" in err
    assert _tree(home) == before


def test_demo_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    from dnactx.demo import run_demo

    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(DnactxError, match=r"thesis.tex.*`dnactx demo` only replaces"):
        run_demo(tmp_path, say=lambda _: None)
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def test_a_staging_folder_left_by_a_crashed_prepare_counts_as_the_commands_own_output(tmp_path: Path) -> None:
    from dnactx.demo import DEMO_OUTPUTS
    from dnactx.outputs import claim_folder

    (tmp_path / "data").mkdir()
    (tmp_path / ".data.k2j4x_9q.prepare-tmp").mkdir()  # what prepare's stage is called while it runs
    (tmp_path / ".tracks.bed.abc123.tmp").write_text("half")  # an atomic_path temporary
    assert claim_folder(tmp_path, "demo", DEMO_OUTPUTS) == tmp_path
    (tmp_path / ".thesis.k2j4x.prepare-tmp").mkdir()  # a staging folder of something the demo does not write
    with pytest.raises(DnactxError, match="did not write"):
        claim_folder(tmp_path, "demo", DEMO_OUTPUTS)


def test_prepare_keeps_other_files_but_refuses_a_run_folder(home_with_run) -> None:
    from dnactx.outputs import owned_names
    from dnactx.prepare.output import staged_output

    home, run_id = home_with_run
    before = _tree(home)
    with pytest.raises(DnactxError, match="a run folder"), staged_output(home / run_id):
        pass
    with pytest.raises(DnactxError, match="registry"), staged_output(home):
        pass
    assert _tree(home) == before
    assert owned_names(("a.json",))(home / ".a.json.x1y2.tmp")  # atomic_path's leftovers are the command's own


def test_a_folder_holding_a_registry_deeper_down_is_refused_by_name(tmp_path: Path) -> None:
    from dnactx.outputs import claim_folder, owned_names

    (tmp_path / "project" / "runs").mkdir(parents=True)
    (tmp_path / "project" / "runs" / "registry.sqlite").write_bytes(b"SQLite format 3\x00")
    with pytest.raises(DnactxError, match=r"holds runs/, a dnactx registry"):
        claim_folder(tmp_path / "project", "export", owned_names(("model.safetensors",)))
