"""`dnactx prepare` inputs as users have them: several call files, swapped options, indexed or streamed
genomes, and block splits that hold for regions as well as whole genomes."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dnactx.cli import main
from dnactx.errors import DnactxError
from dnactx.io.fasta import FastaGenome
from dnactx.prepare import PrepareOptions, expand_calls, prepare_dataset
from dnactx.prepare.splits import TEST, TRAIN, VAL, BlockSplits, min_blocks

DATA = Path(__file__).parent / "data" / "prepare"
GENOME = DATA / "genome.fa"
CGMAP = DATA / "calls.CGmap"
CHROMS = dict(split="chroms", val_chroms=("chrB",), test_chroms=("chrC",))


def run(tmp_path: Path, calls, out: str = "out", **kw) -> tuple[dict, list[dict]]:
    opts = dict(genome=GENOME, calls=calls, out=tmp_path / out, window=10, control_chrom="L") | CHROMS | kw
    summary = prepare_dataset(PrepareOptions(**opts))
    return summary, pq.read_table(tmp_path / out / "dataset.parquet").to_pylist()


def cx_lines() -> list[str]:
    return gzip.decompress((DATA / "calls.CX_report.txt.gz").read_bytes()).decode().splitlines(keepends=True)


# -- several call files ------------------------------------------------------------------------------------
def test_one_file_per_chromosome_gives_the_same_dataset(tmp_path: Path) -> None:
    parts = []
    for chrom in ("L", "chrA", "chrB", "chrC"):  # Bismark --split_by_chromosome
        path = tmp_path / f"sample.CX_report.txt.chr{chrom}.CX_report.txt"
        path.write_text("".join(ln for ln in cx_lines() if ln.split("\t")[0] == chrom))
        parts.append(path)
    whole, rows = run(tmp_path, DATA / "calls.CX_report.txt.gz", "whole")
    split, split_rows = run(tmp_path, tuple(parts), "split")
    assert split_rows == rows
    assert split["duplicates"]["sites"] == 0 and split["skipped"] == whole["skipped"]
    assert [c["path"] for c in split["inputs"]["calls"]] == [str(p.resolve()) for p in parts]
    assert all(len(c["sha256"]) == 64 for c in split["inputs"]["calls"])


def test_a_site_in_two_files_is_one_row_with_summed_counts(tmp_path: Path) -> None:
    again = tmp_path / "replicate.CGmap"
    again.write_text(CGMAP.read_text())
    once, rows = run(tmp_path, CGMAP, "once")
    twice, rows2 = run(tmp_path, (CGMAP, again), "twice")
    assert [(r["pos"], r["mc"] * 2, r["cov"] * 2, r["label"]) for r in rows] == \
        [(r["pos"], r["mc"], r["cov"], r["label"]) for r in rows2]
    assert twice["duplicates"]["sites"] == twice["duplicates"]["sites_across_files"] == 18  # chr rows, L aside
    assert twice["skipped"]["duplicate_row"] == 18 and "added" in " ".join(twice["warnings"])
    assert "sum" in twice["duplicates"]["rule"]


def test_quoted_glob_expands_and_a_file_named_twice_stops(tmp_path: Path) -> None:
    for name in ("b.CGmap", "a.CGmap"):
        (tmp_path / name).write_text(CGMAP.read_text())
    assert expand_calls([str(tmp_path / "*.CGmap")]) == (tmp_path / "a.CGmap", tmp_path / "b.CGmap")
    with pytest.raises(DnactxError, match="twice"):
        expand_calls([tmp_path / "a.CGmap", str(tmp_path / "*.CGmap")])
    with pytest.raises(DnactxError, match="matches no file"):
        expand_calls([str(tmp_path / "*.bed")])


def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["prepare", "--out", str(tmp_path / "out"), "--window", "10", "--split", "chroms", "--val-chroms",
              "chrB", "--test-chroms", "chrC", *args])
    out = capsys.readouterr()
    return exc.value.code, out.out, " ".join(out.err.split())


def test_cli_takes_repeated_calls_and_a_quoted_pattern(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("s1.CGmap", "s2.CGmap"):
        (tmp_path / name).write_text(CGMAP.read_text())
    code, _, _ = cli(tmp_path, capsys, "--genome", str(GENOME), "--calls", str(tmp_path / "s1.CGmap"),
                     "--calls", str(tmp_path / "s2.CGmap"))
    assert code == 0
    first = json.loads((tmp_path / "out" / "prepare.json").read_text())
    code, _, _ = cli(tmp_path, capsys, "--genome", str(GENOME), "--calls", str(tmp_path / "s*.CGmap"))
    assert code == 0
    second = json.loads((tmp_path / "out" / "prepare.json").read_text())
    assert len(second["inputs"]["calls"]) == 2 and second["fingerprint"] == first["fingerprint"]


def test_cli_bare_second_path_says_to_repeat_calls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(tmp_path, capsys, "--genome", str(GENOME), "--calls", str(CGMAP), str(CGMAP))
    assert code != 0 and err.startswith("error:") and "repeat --calls" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_swapped_genome_and_calls_say_which_looks_like_what(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(tmp_path, capsys, "--genome", str(CGMAP), "--calls", str(GENOME))
    assert code != 0
    assert f"--genome {CGMAP} looks like a methylation call file (cgmap); --calls {GENOME} looks like a FASTA: " \
           "swap them?" in err
    code, _, err = cli(tmp_path, capsys, "--genome", str(GENOME), "--calls", str(GENOME))
    assert code != 0 and "--calls" in err and "looks like a FASTA, not a methylation call file" in err


# -- the genome ----------------------------------------------------------------------------------------------
def test_plain_fasta_gets_an_index_beside_it(tmp_path: Path) -> None:
    fasta = tmp_path / "g.fa"
    fasta.write_bytes(GENOME.read_bytes())
    g = FastaGenome(fasta)
    assert g.access == "indexed" and (tmp_path / "g.fa.fai").is_file() and g.note is None
    assert g.sha256() == __import__("hashlib").sha256(GENOME.read_bytes()).hexdigest()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_indexes_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _read_only_case(tmp_path, monkeypatch)


def test_unwritable_folder_indexes_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK)  # a read-only folder, even for root
    _read_only_case(tmp_path, monkeypatch)


def _read_only_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    fasta = folder / "g.fa"
    fasta.write_bytes(GENOME.read_bytes())
    monkeypatch.setenv("DNACTX_CACHE", str(tmp_path / "cache"))
    folder.chmod(0o555)
    try:
        g = FastaGenome(fasta)
    finally:
        folder.chmod(0o755)
    assert g.access == "indexed" and "read-only" in (g.note or "") and str(tmp_path / "cache") in g.note
    assert not (folder / "g.fa.fai").exists() and list((tmp_path / "cache" / "fai").glob("g.fa-*.fai"))
    assert g.chromosome("chrC").tobytes() == b"GATCCATGCATTGCCAACGG"


def _bgzip(text: bytes, path: Path) -> Path:
    from Bio import bgzf

    with bgzf.BgzfWriter(str(path), "wb") as out:
        out.write(text)
    return path


def test_bgzip_fasta_is_read_through_its_fai_and_gzi(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)  # long enough for many 64 kB BGZF blocks, with soft-masked runs
    seqs = {f"c{i}": rng.choice(np.frombuffer(b"ACGTacgtN", np.uint8), size=n).tobytes() for i, n in
            enumerate([200_003, 7, 150_000])}
    text = b"".join(b">" + k.encode() + b" some description\n" + b"\n".join(v[j:j + 70] for j in
                    range(0, len(v), 70)) + b"\n" for k, v in seqs.items())
    fasta = _bgzip(text, tmp_path / "g.fa.gz")
    g = FastaGenome(fasta)
    assert (g.access, g.compression) == ("indexed", "bgzip") and g.note is None
    assert (tmp_path / "g.fa.gz.fai").is_file() and (tmp_path / "g.fa.gz.gzi").is_file()
    for name, seq in seqs.items():
        assert g.chromosome(name, pad=2).tobytes() == b"NN" + seq + b"NN"
        assert g.region(name, 65_000, 140_000).tobytes() == seq[65_000:140_000]  # starts inside a later block
    again = FastaGenome(fasta)  # the second time through the indexes on disk
    assert again.chromosome("c2").tobytes() == seqs["c2"] and again._blocks[1].size > 5


def test_bgzip_genome_gives_the_same_dataset_as_plain(tmp_path: Path) -> None:
    bgz = _bgzip(GENOME.read_bytes(), tmp_path / "g.fa.bgz")
    a, rows_a = run(tmp_path, CGMAP, "plain")
    b, rows_b = run(tmp_path, CGMAP, "bgz", genome=bgz)
    assert rows_a == rows_b and b["inputs"]["genome"]["access"] == "indexed"
    assert b["inputs"]["genome"]["compression"] == "bgzip"


def test_bgzip_in_a_read_only_folder_indexes_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    fasta = _bgzip(GENOME.read_bytes(), (folder.mkdir() or folder) / "g.fa.gz")
    monkeypatch.setenv("DNACTX_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK)
    g = FastaGenome(fasta)
    assert g.access == "indexed" and "read-only" in (g.note or "")
    assert sorted(p.suffix for p in (tmp_path / "cache" / "fai").iterdir()) == [".fai", ".gzi", ".json"]
    assert not list(folder.glob("*.fai")) and g.chromosome("chrC").tobytes() == b"GATCCATGCATTGCCAACGG"


def test_plain_gzip_is_streamed_and_says_why(tmp_path: Path) -> None:
    gz = tmp_path / "g.fa.gz"
    gz.write_bytes(gzip.compress(GENOME.read_bytes()))
    g = FastaGenome(gz)
    assert (g.access, g.compression) == ("streamed", "gzip") and "cannot be indexed" in g.access_reason
    assert "bgzip" in g.access_reason and not (tmp_path / "g.fa.gz.fai").exists()
    assert g.chromosome("chrC").tobytes() == b"GATCCATGCATTGCCAACGG"


def test_irregular_lines_fall_back_to_streaming(tmp_path: Path) -> None:
    fasta = tmp_path / "ragged.fa"
    fasta.write_text(">chrA\nACGTTCAGCATG\nCCATcgac\nGGTTCAAGTC\n>chrB\nCCGGATCAGTTACAGNNCTG\n")
    g = FastaGenome(fasta)
    assert g.access == "streamed" and "cannot be indexed" in g.note
    assert g.chromosome("chrA", pad=1).tobytes() == b"NACGTTCAGCATGCCATcgacGGTTCAAGTCN"


@pytest.mark.parametrize(("text", "message"), [
    (">a\nACGT\n>a\nACGT\n", "appears twice"),
    (">a\nAC1T\n", "unexpected character '1'"),
    ("\n\n", "is empty"),
])
def test_bad_fasta_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    for name, data in (("g.fa", text.encode()), ("g.fa.gz", gzip.compress(text.encode()))):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(DnactxError, match=message):
            g = FastaGenome(path)
            list(g.chromosomes())


# -- block splits --------------------------------------------------------------------------------------------
def splits_for(blocks: list[np.ndarray], seed: int = 0, frac: float = 0.1) -> list[np.ndarray]:
    names = [f"c{i}" for i in range(len(blocks))]
    return BlockSplits.build(blocks, names, 1000, seed=seed, val_frac=frac, test_frac=frac).codes


def test_any_region_with_enough_occupied_blocks_gets_val_and_test() -> None:
    need = min_blocks(0.1, 0.1)
    for seed in range(30):
        for start in range(0, 40, 3):
            (codes,) = splits_for([np.arange(start, start + need)], seed)
            assert {TRAIN, VAL, TEST} <= set(codes.tolist()), (seed, start)


def test_blocks_of_a_fully_covered_chromosome_do_not_depend_on_other_blocks() -> None:
    (whole,), (part,), (gappy,) = (splits_for([b]) for b in (np.arange(100), np.arange(60), np.r_[0:10, 40:100]))
    assert (whole[:40] == part[:40]).all()  # groups 0-19 and 20-39 are full in both
    assert (whole[40:] == gappy[10:]).all()  # a gap in one group leaves the others alone


def test_shares_are_right_on_average_over_many_small_scaffolds() -> None:
    codes = np.concatenate(splits_for([np.arange(k % 3 + 1) for k in range(3000)]))
    assert abs((codes == TEST).mean() - 0.1) < 0.02 and abs((codes == VAL).mean() - 0.1) < 0.02


def test_region_starting_mid_group_gets_every_split(tmp_path: Path) -> None:
    """Calls on 11 blocks of 2 kb that begin in the middle of a 20-block group (the real failure was 11 blocks
    of 100 kb of TAIR10 chr1 from 930,000 on)."""
    rng = np.random.default_rng(3)
    seq = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=60_000)
    genome = tmp_path / "g.fa"
    genome.write_text(">c1\n" + seq.tobytes().decode() + "\n")
    sites = [i for i in np.flatnonzero(seq == ord("C")) if 18_000 <= i < 40_000]
    calls = tmp_path / "c.cov"
    calls.write_text("".join(f"c1\t{i + 1}\t{i + 1}\t50\t5\t5\n" for i in sites))
    summary = prepare_dataset(PrepareOptions(genome=genome, calls=calls, out=tmp_path / "out", window=100,
                                             block_size=2_000))
    assert min(summary["counts"][s]["all"] for s in ("train", "val", "test")) > 0
    assert summary["block_size"] == {"requested": 2000, "used": 2000} and summary["blocks"]["val"] >= 1


def test_too_small_region_shrinks_its_blocks_and_says_so(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    seq = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=30_000)
    genome = tmp_path / "g.fa"
    genome.write_text(">c1\n" + seq.tobytes().decode() + "\n")
    sites = [i for i in np.flatnonzero(seq == ord("C")) if 5_000 <= i < 17_000]  # 3 blocks of 4 kb
    calls = tmp_path / "c.cov"
    calls.write_text("".join(f"c1\t{i + 1}\t{i + 1}\t50\t5\t5\n" for i in sites))
    warnings: list[str] = []
    summary = prepare_dataset(PrepareOptions(genome=genome, calls=calls, out=tmp_path / "out", window=100,
                                             block_size=4_000), warn=warnings.append)
    assert summary["block_size"] == {"requested": 4000, "used": 1000}
    assert any("using blocks of 1,000 bp" in w for w in warnings)
    assert min(summary["counts"][s]["all"] for s in ("train", "val", "test")) > 0


def test_gzip_genome_gives_the_same_dataset_and_skips_chromosomes_without_calls(tmp_path: Path) -> None:
    text = GENOME.read_text()
    cut = text.index(">chrB")
    with_extra = text[:cut] + ">chrX no calls here\n" + "ACGT" * 50 + "\n" + text[cut:]
    plain, gz = tmp_path / "g.fa", tmp_path / "g.fa.gz"
    plain.write_text(with_extra)
    gz.write_bytes(gzip.compress(with_extra.encode()))
    a, rows_a = run(tmp_path, CGMAP, "plain", genome=plain)
    b, rows_b = run(tmp_path, CGMAP, "gz", genome=gz)
    assert rows_a == rows_b and len(rows_a) == 16
    assert (a["inputs"]["genome"]["access"], b["inputs"]["genome"]["access"]) == ("indexed", "streamed")


def test_wrong_positions_stop_after_the_first_chunk_not_the_whole_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    seq = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=40_000)
    genome = tmp_path / "g.fa"
    genome.write_text(">c1\n" + seq.tobytes().decode() + "\n")
    plus = np.flatnonzero(seq == ord("C"))[:3000]
    calls = tmp_path / "shifted.CX_report.txt"  # 0-based positions in a 1-based format, and a broken last line
    calls.write_text("".join(f"c1\t{i}\t+\t5\t5\tCHH\tCAA\n" for i in plus[1:]) + "c1\tbroken\n")
    with pytest.raises(DnactxError, match="shifted by \\+1 bp"):
        prepare_dataset(PrepareOptions(genome=genome, calls=calls, out=tmp_path / "out", window=100,
                                       block_size=2_000, chunk_rows=1_000))
