"""Hostile and broken input: every fault is one `error:` line and the documented exit code (never a traceback, never
a half-written output), hostile names print as text everywhere, and nonsense values are refused before any work."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import make_lr_run, make_scored_run, ranked_scores, run_cli

from dnactx.errors import ExitCode

DATA = Path(__file__).parent / "data" / "prepare"
# Rich markup that closes a tag never opened (it crashed after the run completed), a link to a local file, Markdown
# table and heading characters, HTML.
MARKUP_NAME = "[/bold] a|b #x [link=file:///etc/passwd]pw[/link] *em* <b>x</b>"
# What only a stored name can hold (--name refuses it): a newline that would start a Markdown heading, an ANSI
# colour code, an OSC 8 terminal hyperlink, and matplotlib maths that does not parse (a legend of report's plots).
CONTROL_NAME = "evil\n# heading | x \x1b[31mred\x1b[0m \x1b]8;;file:///etc/passwd\x1b\\link\x1b]8;;\x1b\\ $\\frac{$"


def _one_error_line(err: str) -> str:
    """The single `error:` line of stderr (asserting there is exactly one and no traceback)."""
    assert "Traceback" not in err, err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def _nothing_under(home: Path) -> bool:
    """No registry and no run folder (hidden or not) under ``home``."""
    return not home.exists() or not any(home.iterdir())


# -- names ------------------------------------------------------------------------------------------------
def _assert_shown_as_text(out: str) -> None:
    assert "\x1b" not in out and "\x07" not in out  # no terminal escape reaches the terminal


@pytest.mark.slow
def test_a_markup_run_name_goes_through_train_runs_and_the_report_as_text(
        tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    code, out, err = run_cli(["--home", str(home), "train", "--data", str(tiny_dataset), "--model", "lr", "--size",
                              "20", "--bootstrap", "0", "--C", "1", "--name", MARKUP_NAME], capsys)
    assert code == ExitCode.OK and "Traceback" not in err, err
    squeezed = "".join(MARKUP_NAME.split())  # a long title wraps: compare without spaces
    assert squeezed in "".join(err.split())  # the summary's title, as typed
    run_id = out.strip().splitlines()[-1]
    code, out, err = run_cli(["--home", str(home), "runs", "show", run_id], capsys)
    assert code == ExitCode.OK and squeezed in "".join(out.split()), err
    code, out, err = run_cli(["--home", str(home), "report", "--out", str(tmp_path / "rep")], capsys)
    assert code == ExitCode.OK, err
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "file:///etc/passwd" not in re.findall(r'href="([^"]*)"', html) and "<b>x</b>" not in html


def test_stored_names_with_control_characters_and_markup_print_as_text_in_runs_and_the_report(
        tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    for i, name in enumerate((CONTROL_NAME, MARKUP_NAME)):
        make_scored_run(home, tiny_dataset, ranked_scores(1.0, 1.0, seed=i), name=name, model="lr", size=20,
                        seed=i, bootstrap=0)
    code, out, err = run_cli(["--home", str(home), "runs", "ls"], capsys)
    assert code == ExitCode.OK and "Traceback" not in err, err
    _assert_shown_as_text(out)
    ids = [r.split()[0] for r in out.splitlines() if r.startswith("01")]
    shown = []
    for run_id in ids:
        code, out, err = run_cli(["--home", str(home), "runs", "show", run_id], capsys)
        assert code == ExitCode.OK and "Traceback" not in err, err
        _assert_shown_as_text(out)
        shown.append(out)
    joined = ["".join(s.split()) for s in shown]  # a long value wraps in its column: compare without spaces
    assert any(r"evil\n#heading|x\x1b[31mred" in s for s in joined)  # escapes written out, not acted on
    assert any("".join(MARKUP_NAME.split()) in s for s in joined)
    code, _, err = run_cli(["--home", str(home), "report", "--out", str(tmp_path / "rep")], capsys)
    assert code == ExitCode.OK and "Traceback" not in err, err
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "\x1b" not in md and not re.search(r"^# heading", md, re.MULTILINE)
    table = [ln for ln in md.splitlines() if ln.startswith("| ") and "`01" in ln]
    assert len(table) >= 2 and all(ln.endswith("|") for ln in table)  # every row whole: one line, its own cells
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "<h1>heading" not in html and "\x1b" not in html and 'href="file:' not in html


@pytest.mark.parametrize(("name", "why"), [
    ("two\nlines", "control characters (U+000A)"),
    ("red\x1b[31m", "control characters (U+001B)"),
    ("x" * 121, "121 characters long; give at most 120"),
    ("   ", "blank"),
])
def test_a_name_with_control_characters_or_too_long_is_refused_before_a_registry_row(
        tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, why: str) -> None:
    home = tmp_path / "home"
    code, out, err = run_cli(["--home", str(home), "train", "--data", str(tiny_dataset), "--model", "lr",
                              "--name", name], capsys)
    assert code == ExitCode.USAGE and out == "" and why in _one_error_line(err)
    assert _nothing_under(home)


# -- numbers ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("flag", "value"), [
    ("--lr", "-1"), ("--lr", "nan"), ("--lr", "0"), ("--head-lr", "inf"), ("--focal-gamma", "-1"),
    ("--focal-gamma", "nan"), ("--focal-alpha", "1.5"), ("--pos-weight", "0"), ("--pos-weight", "-inf"),
    ("--warmup", "nan"), ("--seed", "-1"), ("--C", "nan"), ("--train-fraction", "nan"), ("--epochs", "0"),
    ("--bootstrap", "-1"), ("--batch-size", "0"),
])
def test_each_numeric_option_out_of_range_is_refused_before_a_registry_row_exists(
        tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str) -> None:
    home = tmp_path / "home"
    code, out, err = run_cli(["--home", str(home), "train", "--data", str(tiny_dataset), "--model", "cnn",
                              "--loss", "focal", flag, value], capsys)
    assert code == ExitCode.USAGE and out == ""
    assert _one_error_line(err).startswith(f"error: {flag} ")
    assert _nothing_under(home)


def test_matrix_refuses_a_nan_axis_value_even_one_its_models_ignore(
        tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    code, _, err = run_cli(["--home", str(home), "matrix", "--data", str(tiny_dataset), "--sizes", "20", "--model",
                            "lr", "--lr", "1e-3,nan"], capsys)  # lr ignores --lr: its cells used to train anyway
    assert code == ExitCode.USAGE and "--lr must be a finite number, got nan" in _one_error_line(err)
    assert _nothing_under(home)


def test_submit_train_refuses_a_nan_learning_rate_before_writing_a_job(
        tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["submit", "train", "--out", str(tmp_path / "jobs"), "--data", str(tiny_dataset),
                            "--model", "cnn", "--lr", "nan"], capsys)
    assert code == ExitCode.USAGE and "--lr must be a finite number" in _one_error_line(err)
    assert not (tmp_path / "jobs").exists()


# -- call files -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("column", "value"), [
    (7, "4294967306"),  # 2**32 + 10 reads: wrapped to 10 in int32, or to a negative number near 2**31
    (6, "2147483648"),  # 2**31 methylated reads
    (7, "99999999999999999999"),  # beyond int64 too
])
def test_counts_beyond_int32_in_a_cgmap_are_refused_with_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], column: int, value: str) -> None:
    rows = (DATA / "calls.CGmap").read_text().splitlines()
    fields = rows[2].split("\t")
    fields[column] = value
    rows[2] = "\t".join(fields)
    calls = tmp_path / "calls.CGmap"
    calls.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    code, _, err = run_cli(["prepare", "--genome", str(DATA / "genome.fa"), "--calls", str(calls), "--out", str(out),
                            "--window", "10", "--split", "chroms", "--val-chroms", "chrB", "--test-chroms", "chrC"],
                           capsys)
    line = _one_error_line(err)
    assert code == ExitCode.USAGE and f"{calls} line 3" in line and "2,147,483,647" in line, line
    assert not out.exists() or not (out / "dataset.parquet").exists()


def test_counts_of_two_columns_that_sum_beyond_int32_are_refused_with_their_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dnactx.errors import DnactxError
    from dnactx.prepare import PrepareOptions, prepare_dataset

    calls = tmp_path / "calls.cov"
    rows = (DATA / "calls.bismark.cov").read_text().splitlines()
    fields = rows[0].split("\t")
    fields[4], fields[5] = "2000000000", "2000000000"
    rows[0] = "\t".join(fields)
    calls.write_text("\n".join(rows) + "\n")
    with pytest.raises(DnactxError, match=r"line 1: count_unmethylated .* sum with count_methylated is at most"):
        prepare_dataset(PrepareOptions(genome=DATA / "genome.fa", calls=(calls,), out=tmp_path / "out", window=10,
                                       split="chroms", val_chroms=("chrB",), test_chroms=("chrC",)))


# -- VCF ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "said"), [
    ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n", "has a header but no variant records"),
    ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\nchrA\t2\t.\tC\tT\nchrA\t6\t.\tC", "line 4: the record stops"),
    ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\nchrA\t2\t.\tC\tT\nchrA\t6", "line 4: the record stops"),
])
def test_a_header_only_or_truncated_vcf_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                                     said: str) -> None:
    home = tmp_path / "home"
    run_id = make_lr_run(home, window=10, size=4)
    vcf = tmp_path / "v.vcf"
    vcf.write_text(text)
    code, out, err = run_cli(["--home", str(home), "explain", run_id, "--variants", str(vcf), "--genome",
                              str(DATA / "genome.fa"), "--out", str(tmp_path / "ex")], capsys)
    line = _one_error_line(err)
    assert code == ExitCode.USAGE and out == "" and f"--variants {vcf}" in line and said in line, line
    assert not (tmp_path / "ex").exists()


# -- devices ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["predict", "explain"])
def test_device_cuda_on_a_machine_without_cuda_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           command: str) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    home = tmp_path / "home"
    run_id = make_lr_run(home, window=10, size=4)
    args = {"predict": ["predict", run_id, "--genome", str(DATA / "genome.fa")],
            "explain": ["explain", run_id]}[command]
    code, out, err = run_cli(["--home", str(home), *args, "--out", str(tmp_path / "o"), "--device", "cuda"], capsys)
    line = _one_error_line(err)
    assert code == ExitCode.USAGE and out == "" and "--device cuda: this machine has no CUDA GPU" in line
    assert not (tmp_path / "o").exists()


# -- output paths ---------------------------------------------------------------------------------------------
OUTPUT_COMMANDS = {
    "report": lambda f, run, data: ["report", "--out", f],
    "explain": lambda f, run, data: ["explain", run, "--out", f],
    "prepare": lambda f, run, data: ["prepare", "--genome", str(DATA / "genome.fa"), "--calls",
                                     str(DATA / "calls.CGmap"), "--out", f],
    "predict": lambda f, run, data: ["predict", run, "--genome", str(DATA / "genome.fa"), "--out", f],
    "runs export": lambda f, run, data: ["runs", "export", "--out", f],
    "diagnose --plots": lambda f, run, data: ["diagnose", run, "--plots", f],
    "export": lambda f, run, data: ["export", run, "--out", f],
    "submit --out": lambda f, run, data: ["submit", "train", "--out", f, "--data", data, "--model", "lr"],
    "train --home": lambda f, run, data: ["--home", f, "train", "--data", data, "--model", "lr"],
}


@pytest.mark.parametrize("under", [False, True], ids=["a file", "under a file"])
@pytest.mark.parametrize("command", list(OUTPUT_COMMANDS))
def test_an_output_path_that_is_a_file_or_lies_under_one_is_one_line(
        tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, under: bool) -> None:
    home = tmp_path / "home"
    run_id = make_lr_run(home, window=10, size=4)
    blocker = tmp_path / "results.txt"
    blocker.write_text("keep me\n")
    target = blocker / "sub" if under else blocker
    if command == "runs export" and not under:
        target = tmp_path  # a folder where the file should go
    args = OUTPUT_COMMANDS[command](str(target), run_id, str(tiny_dataset))
    code, out, err = run_cli(args if args[0] == "--home" else ["--home", str(home), *args], capsys)
    line = _one_error_line(err)
    assert code == ExitCode.USAGE and out == "", err
    if command == "runs export" and not under:
        assert "is a folder" in line
    else:
        assert f"{blocker} is a file, not a folder" in line or f"{blocker.name} is a file, not a folder" in line, line
    assert blocker.read_text() == "keep me\n"


# -- FASTA index ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stamp", [True, False], ids=["stamped index", "index without a stamp (samtools)"])
def test_a_fasta_replaced_by_an_older_one_gets_its_index_rebuilt(tmp_path: Path, stamp: bool) -> None:
    from dnactx.io.fasta import FastaGenome

    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\n" + "ACGT" * 30 + "\n>chr2\n" + "GGCC" * 10 + "\n")
    assert FastaGenome(fasta).names == ["chr1", "chr2"]
    if not stamp:
        os.unlink(f"{fasta}.fai.dnactx.json")
    fasta.write_text(">chrX\n" + "TTTA" * 50 + "\n>chrY\n" + "C" * 7 + "\n")  # another genome, older timestamp
    os.utime(fasta, (1_000_000_000, 1_000_000_000))
    genome = FastaGenome(fasta)
    assert genome.names == ["chrX", "chrY"] and list(genome.lengths) == [200, 7]
    assert genome.chromosome("chrX").tobytes() == b"TTTA" * 50 and "rebuilt the index" in (genome.note or "")
    assert FastaGenome(fasta).note is None  # rebuilt once, then trusted


def test_an_index_of_the_same_fasta_is_kept(tmp_path: Path) -> None:
    from dnactx.io.fasta import FastaGenome

    fasta = tmp_path / "g.fa"
    shutil.copy(DATA / "genome.fa", fasta)
    FastaGenome(fasta)
    index = Path(f"{fasta}.fai")
    before = index.stat().st_mtime_ns
    os.utime(fasta, (1_000_000_000, 1_000_000_000))  # an older timestamp alone is no reason to rebuild
    assert FastaGenome(fasta).note is None and index.stat().st_mtime_ns == before
