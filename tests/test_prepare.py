"""`dnactx prepare` behaviour: splits, leakage guard, determinism, filters, aliases, CLI, and every bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dnactx.cli import main
from dnactx.errors import DnactxError
from dnactx.prepare import LabelRules, PrepareOptions, prepare_dataset

DATA = Path(__file__).parent / "data" / "prepare"
GENOME = DATA / "genome.fa"
CGMAP = DATA / "calls.CGmap"
CHROMS = dict(split="chroms", val_chroms=("chrB",), test_chroms=("chrC",))


def run(tmp_path: Path, calls: Path = CGMAP, **kw) -> dict:
    opts = dict(genome=GENOME, calls=calls, out=tmp_path / "out", window=10, control_chrom="L") | CHROMS | kw
    return prepare_dataset(PrepareOptions(**opts))


def edited(src: Path, dst: Path, edit) -> Path:
    dst.write_text("\n".join(edit(src.read_text().splitlines())) + "\n")
    return dst


def assert_no_output(tmp_path: Path) -> None:
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")], "staging folder left behind"


def synthetic(tmp_path: Path, seed: int = 1) -> tuple[Path, Path]:
    """Two random chromosomes (105 kb) and Bismark coverage calls on every C and G (strand from the genome)."""
    rng = np.random.default_rng(seed)
    fasta, lines = [], []
    for chrom, length in (("c1", 60_000), ("c2", 45_000)):
        seq = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=length)
        text = seq.tobytes().decode()
        fasta += [f">{chrom}"] + [text[i:i + 70] for i in range(0, length, 70)]
        for i in np.flatnonzero((seq == ord("C")) | (seq == ord("G"))):
            cov = int(rng.integers(0, 12))
            mc = int(rng.binomial(cov, 0.3))
            lines.append(f"{chrom}\t{i + 1}\t{i + 1}\t{100 * mc / max(cov, 1):.1f}\t{mc}\t{cov - mc}")
    genome, calls = tmp_path / "syn.fa", tmp_path / "syn.cov"
    genome.write_text("\n".join(fasta) + "\n")
    calls.write_text("\n".join(lines) + "\n")
    return genome, calls


def prepare_synthetic(tmp_path: Path, genome: Path, calls: Path, out: str = "out", **kw) -> tuple[dict, dict]:
    opts = dict(genome=genome, calls=calls, out=tmp_path / out, window=100, block_size=2_000, chunk_rows=5_000) | kw
    summary = prepare_dataset(PrepareOptions(**opts))
    return summary, pq.read_table(tmp_path / out / "dataset.parquet").to_pandas()


# -- behaviour -------------------------------------------------------------------------------------
def test_block_splits_have_no_cross_split_window_overlap(tmp_path: Path) -> None:
    genome, calls = synthetic(tmp_path)
    summary, df = prepare_synthetic(tmp_path, genome, calls)
    assert set(df["split"]) == {"train", "val", "test"}
    assert summary["skipped"]["split_boundary"] > 0
    for _, chrom in df.sort_values("pos").groupby("chrom"):
        pos, split = chrom["pos"].to_numpy(), chrom["split"].to_numpy()
        changes = split[1:] != split[:-1]
        # windows are pos ± 50: sites of different splits must be more than 100 bp apart
        assert (np.diff(pos)[changes] > 100).all()
    # every block is wholly one split
    block = (df["pos"] - 1) // 2_000
    assert (df.groupby([df["chrom"], block])["split"].nunique() == 1).all()
    sizes = summary["counts"]
    share = {s: sizes[s]["all"] / summary["n_sites"] for s in ("val", "test")}
    assert 0.04 < share["val"] < 0.17 and 0.04 < share["test"] < 0.17


def test_result_does_not_depend_on_row_order_or_chunking(tmp_path: Path) -> None:
    genome, calls = synthetic(tmp_path)
    _, a = prepare_synthetic(tmp_path, genome, calls, "a", fraction=0.3)
    lines = calls.read_text().splitlines()
    np.random.default_rng(0).shuffle(lines)
    shuffled = tmp_path / "shuffled.cov"
    shuffled.write_text("\n".join(lines) + "\n")
    _, b = prepare_synthetic(tmp_path, genome, shuffled, "b", fraction=0.3, chunk_rows=777)
    key = ["chrom", "pos", "strand"]
    a, b = a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    assert a.equals(b)
    _, c = prepare_synthetic(tmp_path, genome, calls, "c", fraction=0.3, seed=7)
    assert not a[key].equals(c.sort_values(key)[key].reset_index(drop=True))


def test_fraction_subsamples_deterministically(tmp_path: Path) -> None:
    genome, calls = synthetic(tmp_path)
    s1, _ = prepare_synthetic(tmp_path, genome, calls, "f1")
    s2, _ = prepare_synthetic(tmp_path, genome, calls, "f2", fraction=0.25)
    kept = s2["n_sites"] / (s2["n_sites"] + s2["skipped"]["subsample"])
    assert 0.2 < kept < 0.3
    assert s2["n_sites"] < s1["n_sites"]


def test_minus_strand_and_contexts_from_genome_in_synthetic(tmp_path: Path) -> None:
    genome, calls = synthetic(tmp_path)
    _, df = prepare_synthetic(tmp_path, genome, calls)
    assert set(df["strand"]) == {"+", "-"}
    assert (df["seq"].str[50] == "C").all()
    assert (df["seq"].str[50:53] == df["trinuc"]).all()
    nxt, nxt2 = df["trinuc"].str[1], df["trinuc"].str[2]
    expected = np.where(nxt == "G", "CG", np.where(nxt2 == "G", "CHG", "CHH"))
    assert (df["context"] == expected).all()
    assert (df["label"] == (df["mc"] / df["cov"] >= 0.5)).all() and (df["cov"] >= 3).all()


def test_filters_exclude_between_contexts_and_threshold(tmp_path: Path) -> None:
    base = run(tmp_path / "a")
    s = run(tmp_path / "b", labels=LabelRules(exclude_between=(0.1, 0.8), threshold=0.85), contexts=("CG", "CHH"))
    assert s["skipped"]["context_filter"] == base["counts"]["all"]["CHG"]
    # levels strictly between 0.1 and 0.8 among CG/CHH: 0.125 (chrC:4) and 0.6 (chrC:19); 0.8 itself stays
    assert s["skipped"]["ambiguous"] == 2
    rows = pq.read_table(tmp_path / "b" / "out" / "dataset.parquet").to_pylist()
    assert {r["context"] for r in rows} == {"CG", "CHH"}
    assert all(r["label"] == int(r["level"] >= 0.85) for r in rows)
    assert sum(r["label"] for r in rows) == 3  # levels ≥ 0.85: chrA:3 (0.9), chrA:12 (1.0), chrC:18 (1.0)


def test_prepare_json_records_inputs_parameters_and_fingerprint(tmp_path: Path) -> None:
    from dnactx.provenance import sha256_file

    summary = run(tmp_path)
    on_disk = json.loads((tmp_path / "out" / "prepare.json").read_text())
    assert on_disk["fingerprint"] == sha256_file(tmp_path / "out" / "dataset.parquet")
    assert on_disk["window"] == 10 and on_disk["parameters"]["min_coverage"] == 3
    assert [c["sha256"] for c in on_disk["inputs"]["calls"]] == [sha256_file(CGMAP)]
    assert on_disk["inputs"]["genome"]["sha256"] == sha256_file(GENOME)
    assert on_disk["inputs"]["genome"]["chromosomes"] == {"chrA": 30, "chrB": 20, "chrC": 20}
    assert on_disk["label_rates"]["train"]["CG"] == pytest.approx(1.0)
    assert on_disk["dnactx_version"] and on_disk["versions"]["pyarrow"]
    assert summary["n_sites"] == 16


def test_unknown_chromosomes_are_warned_skipped_and_counted(tmp_path: Path) -> None:
    calls = edited(CGMAP, tmp_path / "c.CGmap", lambda ls: ls + ["chrM\tC\t5\tCG\tCG\t1.00\t5\t5"] * 3)
    warnings: list[str] = []
    opts = dict(genome=GENOME, calls=calls, out=tmp_path / "out", window=10, control_chrom="L") | CHROMS
    s = prepare_dataset(PrepareOptions(**opts), warn=warnings.append)
    assert s["skipped"]["unknown_chromosome"] == 3 and s["unknown_chromosomes"] == {"chrM": 3}
    assert any("chrM (3 rows)" in w for w in warnings)


def test_chrom_alias_maps_names(tmp_path: Path) -> None:
    calls = edited(CGMAP, tmp_path / "c.CGmap", lambda ls: [ln.replace("chr", "Chr", 1) for ln in ls])
    s = run(tmp_path, calls, labels=LabelRules(chrom_alias={"ChrA": "chrA", "ChrB": "chrB", "ChrC": "chrC"}))
    assert s["n_sites"] == 16
    rows = pq.read_table(tmp_path / "out" / "dataset.parquet", columns=["chrom"]).to_pylist()
    assert {r["chrom"] for r in rows} == {"chrA", "chrB", "chrC"}


def test_header_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    calls = edited(CGMAP, tmp_path / "c.CGmap", lambda ls: ["# made by hand"] + ls[:5] + [""] + ls[5:] + ["", ""])
    assert run(tmp_path, calls)["n_sites"] == 16


def test_existing_out_folder_keeps_other_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "dataset.parquet").write_text("old")
    run(tmp_path)
    assert (out / "notes.txt").read_text() == "mine"
    assert pq.read_table(out / "dataset.parquet").num_rows == 16


def test_cli_prepare_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    with pytest.raises(SystemExit) as exc:
        main(["prepare", "--genome", str(GENOME), "--calls", str(CGMAP), "--out", str(out), "--window", "10",
              "--split", "chroms", "--val-chroms", "chrB", "--test-chroms", "chrC", "--control-chrom", "L",
              "--exclude-between", "0.2", "0.7", "--chrom-alias", "chrQ=chrA"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "dataset.parquet" in text and "non-conversion rate 0.500%" in text
    summary = json.loads((out / "prepare.json").read_text())
    assert summary["parameters"]["exclude_between"] == [0.2, 0.7]
    assert summary["parameters"]["chrom_alias"] == {"chrQ": "chrA"}


# -- bad input: one clear line, non-zero exit, no output -------------------------------------------
def cli_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str, calls: Path = CGMAP,
              genome: Path = GENOME) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["prepare", "--genome", str(genome), "--calls", str(calls), "--out", str(tmp_path / "out"),
              "--window", "10", "--split", "chroms", "--val-chroms", "chrB", "--test-chroms", "chrC", *args])
    assert exc.value.code != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error: ") == 1
    err = err[err.index("error: "):]  # progress lines ("reading calls: ...") may come first
    assert err.count("\n") == 1  # the error is one line, and the last
    assert_no_output(tmp_path)
    return " ".join(err.split())


def test_missing_calls_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = cli_error(tmp_path, capsys, calls=tmp_path / "nope.CGmap")
    assert "--calls" in err and "does not exist" in err


def test_missing_genome_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = cli_error(tmp_path, capsys, genome=tmp_path / "nope.fa")
    assert "--genome" in err and "does not exist" in err


def test_unknown_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = tmp_path / "x.txt"
    calls.write_text("hello world\nthis is 1 not a call file\n")
    err = cli_error(tmp_path, capsys, calls=calls)
    assert "unknown format" in err and "--format" in err


def test_truncated_gzip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = gzip.compress(("".join("chrA\tC\t2\tCG\tCG\t0.80\t8\t10\n" for _ in range(2000))).encode())
    calls = tmp_path / "cut.CGmap.gz"
    calls.write_bytes(whole[: len(whole) // 2])
    err = cli_error(tmp_path, capsys, calls=calls)
    assert "truncated or corrupt gzip" in err and str(calls) in err


def test_malformed_value_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = edited(CGMAP, tmp_path / "bad.CGmap", lambda ls: ls[:7] + [ls[7].replace("\t3\t3", "\tx\t3")] + ls[8:])
    err = cli_error(tmp_path, capsys, calls=calls)
    assert "line 8" in err and "mC" in err and "'x'" in err


def test_malformed_column_count_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = edited(CGMAP, tmp_path / "bad.CGmap", lambda ls: ls[:9] + [ls[9] + "\textra"] + ls[10:])
    err = cli_error(tmp_path, capsys, calls=calls)
    assert "line 10" in err and "9 columns, expected 8" in err


def test_short_line_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = edited(CGMAP, tmp_path / "bad.CGmap", lambda ls: ls[:12] + ["chrB\tC\t2\tCG"] + ls[12:])
    err = cli_error(tmp_path, capsys, calls=calls)
    assert "line 13" in err and "4 of 8 columns" in err


def test_no_calls_on_fasta_chromosomes_suggests_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = edited(CGMAP, tmp_path / "c.CGmap", lambda ls: [ln.replace("chr", "Chr", 1) for ln in ls])
    err = cli_error(tmp_path, capsys, calls=calls)
    assert "no calls on chromosomes" in err and "ChrA" in err and "chrA" in err
    assert "--chrom-alias ChrA=chrA" in err


def test_position_past_chromosome_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = edited(CGMAP, tmp_path / "c.CGmap", lambda ls: ls + ["chrB\tC\t21\tCG\tCG\t1.00\t5\t5"])
    err = cli_error(tmp_path, capsys, calls=calls)
    assert "line 21" in err and "past the end of chrB" in err and "20 bp" in err


def test_context_mismatch_points_at_off_by_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def shift(lines: list[str]) -> list[str]:
        out = []
        for ln in lines:
            f = ln.split("\t")
            if f[0] in ("chrA", "chrC") and f[2] != "30":
                f[2] = str(int(f[2]) + 1)
            out.append("\t".join(f))
        return out

    err = cli_error(tmp_path, capsys, calls=edited(CGMAP, tmp_path / "c.CGmap", shift))
    assert "disagrees with --genome" in err and "shifted by -1 bp" in err and "line 3" in err


def test_context_mismatch_wrong_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.fa"
    other.write_text(">chrA\n" + "ACGT" * 10 + "\n>chrB\n" + "TTAG" * 10 + "\n>chrC\n" + "GGCA" * 10 + "\n")
    err = cli_error(tmp_path, capsys, genome=other)
    assert "disagrees with --genome" in err and "another genome build" in err


def test_nothing_left_after_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = cli_error(tmp_path, capsys, "--min-coverage", "1000")
    assert "nothing left after filters" in err and "low_coverage" in err


def test_empty_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = edited(CGMAP, tmp_path / "c.CGmap", lambda ls: [ln for ln in ls if not ln.startswith("chrC")])
    err = cli_error(tmp_path, capsys, calls=calls)
    assert "test split is empty" in err


def test_bad_options_fail_before_reading() -> None:
    for kw, msg in [(dict(window=11), "even"), (dict(block_size=500), "--block-size"),
                    (dict(val_frac=0.5, test_frac=0.5), "--val-frac"), (dict(contexts=("CX",)), "--contexts"),
                    (dict(labels=LabelRules(format="bam")), "unknown --format"),
                    (dict(labels=LabelRules(mod_code="5mC")), "--mod-code"),
                    (dict(calls=()), "--calls is required")]:
        with pytest.raises(DnactxError, match=msg):
            PrepareOptions(**(dict(genome="g", calls="c", out="o") | kw))


def test_bundled_example_is_real_data_with_positives_of_every_context_in_every_split(tmp_path: Path) -> None:
    from dnactx.demo import CALLS_FILE, DEMO_BLOCK, DEMO_HELD_OUT, DEMO_WINDOW, GENOME_FILE

    examples = Path(__file__).resolve().parents[1] / "examples"
    genome, calls = examples / GENOME_FILE, examples / CALLS_FILE
    assert genome.stat().st_size + calls.stat().st_size < 600_000
    s = prepare_dataset(PrepareOptions(genome=genome, calls=calls, out=tmp_path / "out", window=DEMO_WINDOW,
                                       block_size=DEMO_BLOCK, val_frac=DEMO_HELD_OUT, test_frac=DEMO_HELD_OUT,
                                       control_chrom="L"))
    assert 50_000 <= s["n_sites"] <= 65_000 and min(s["counts"][k]["all"] for k in ("val", "test")) > 8_000
    assert s["skipped"]["genome_mismatch"] == 0 and s["control"]["non_conversion_rate"] < 0.02
    table = pq.read_table(tmp_path / "out" / "dataset.parquet", columns=["split", "context", "label"]).to_pandas()
    positives = table[table.label == 1].groupby(["split", "context"]).size()
    assert len(positives) == 9 and positives.min() >= 30, positives  # val/test mean something in every context
    rates = s["label_rates"]["all"]
    assert 0.1 <= rates["CG"] <= 0.3 and 0.002 <= rates["CHG"] <= 0.03 and 0.001 <= rates["CHH"] <= 0.02
