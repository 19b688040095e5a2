"""Every call format from small hand-written fixtures: detection, strands, contexts, chromosome edges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dnactx.io.detect import detect_format
from dnactx.io.fasta import FastaGenome
from dnactx.prepare import LabelRules, PrepareOptions, prepare_dataset
from dnactx.sequence import CANON

DATA = Path(__file__).parent / "data" / "prepare"
GENOME = DATA / "genome.fa"

# Worked out by hand from genome.fa: (chrom, pos, strand) → (context, trinuc, mc, cov, label, repeat).
EXPECTED = {
    ("chrA", 2, "+"): ("CG", "CGT", 8, 10, 1, False),
    ("chrA", 3, "-"): ("CG", "CGT", 9, 10, 1, False),
    ("chrA", 6, "+"): ("CHG", "CAG", 1, 10, 0, False),
    ("chrA", 8, "-"): ("CHG", "CTG", 0, 5, 0, False),
    ("chrA", 9, "+"): ("CHH", "CAT", 0, 4, 0, False),
    ("chrA", 12, "-"): ("CHH", "CAT", 3, 3, 1, False),
    ("chrA", 17, "+"): ("CG", "CGA", 5, 6, 1, True),
    ("chrA", 28, "-"): ("CHH", "CTT", 0, 7, 0, False),
    ("chrB", 1, "+"): ("CHG", "CCG", 0, 12, 0, False),
    ("chrB", 2, "+"): ("CG", "CGG", 10, 12, 1, False),
    ("chrB", 13, "+"): ("CHG", "CAG", 0, 3, 0, False),
    ("chrB", 20, "-"): ("CHG", "CAG", 0, 9, 0, False),
    ("chrC", 4, "+"): ("CHH", "CCA", 1, 8, 0, False),
    ("chrC", 13, "-"): ("CHH", "CAA", 0, 3, 0, False),
    ("chrC", 18, "+"): ("CG", "CGG", 4, 4, 1, False),
    ("chrC", 19, "-"): ("CG", "CGT", 3, 5, 1, False),
}
# window 10: 5 bp each side, N past the ends, minus strand reverse-complemented
WINDOWS = {
    ("chrA", 2, "+"): "NNNNACGTTCA",  # left chromosome edge
    ("chrA", 3, "-"): "CTGAACGTNNN",  # minus strand at the left edge
    ("chrA", 17, "+"): "GCCATCGACGG",  # soft-masked C, upper-cased
    ("chrA", 28, "-"): "NNNGACTTGAA",  # minus strand at the right edge
    ("chrB", 20, "-"): "NNNNNCAGNNC",  # last base, with a gap nearby
}
FIXTURES = [
    ("calls.CGmap", "cgmap", "cgmap"),
    ("calls.CX_report.txt.gz", "cx_report", "cx_report"),
    ("calls.bismark.cov", "bismark_cov", "bismark_cov"),
    ("calls.modkit.bed", "bedmethyl", "modkit"),
    ("calls.encode.bed", "bedmethyl", "encode"),
    ("calls.allc.tsv", "allc", "allc"),
]


def prepare_fixture(tmp_path: Path, calls: Path | tuple[Path, ...], **kw) -> tuple[dict, list[dict]]:
    opts = dict(genome=GENOME, calls=calls, out=tmp_path / "out", window=10, split="chroms",
                val_chroms=("chrB",), test_chroms=("chrC",), control_chrom="L") | kw
    summary = prepare_dataset(PrepareOptions(**opts))
    return summary, pq.read_table(tmp_path / "out" / "dataset.parquet").to_pylist()


@pytest.mark.parametrize(("name", "fmt", "variant"), FIXTURES)
def test_detects_format_by_content(tmp_path: Path, name: str, fmt: str, variant: str) -> None:
    # a neutral file name, so only the content can tell
    plain = tmp_path / "calls.txt"
    plain.write_bytes((DATA / name).read_bytes())
    layout = detect_format(plain)
    assert (layout.spec.name, layout.spec.variant) == (fmt, variant)


@pytest.mark.parametrize(("name", "fmt", "variant"), FIXTURES)
def test_format_gives_hand_checked_sites(tmp_path: Path, name: str, fmt: str, variant: str) -> None:
    summary, rows = prepare_fixture(tmp_path, DATA / name, labels=LabelRules(format=fmt))
    got = {(r["chrom"], r["pos"], r["strand"]): r for r in rows}
    assert set(got) == set(EXPECTED)
    for key, (context, trinuc, mc, cov, label, repeat) in EXPECTED.items():
        r = got[key]
        assert (r["context"], r["trinuc"], r["mc"], r["cov"], r["label"], r["repeat"]) == \
            (context, trinuc, mc, cov, label, repeat), key
        assert r["level"] == pytest.approx(mc / cov, rel=1e-6)
        assert r["split"] == {"chrA": "train", "chrB": "val", "chrC": "test"}[key[0]]
        assert len(r["seq"]) == 11 and r["seq"][5] == "C"
        if key in WINDOWS:
            assert r["seq"] == WINDOWS[key], key
    skipped = summary["skipped"]
    assert skipped["control_chromosome"] == 2
    assert skipped["undetermined_context"] == 1  # chrA:30, the last base
    assert skipped["low_coverage"] == 1  # chrC:9
    assert skipped["other_modification"] == (20 if variant == "modkit" else 0)
    assert summary["format"] == fmt and summary["format_variant"] == variant
    assert summary["control"]["non_conversion_rate"] == pytest.approx(1 / 200)
    assert summary["counts"]["train"]["all"] == 8 and summary["counts"]["val"]["CHG"] == 3


def test_fasta_keeps_soft_mask_and_pads_with_n() -> None:
    g = FastaGenome(GENOME)
    assert g.names == ["chrA", "chrB", "chrC"] and g.access == "indexed"
    assert g.lengths.tolist() == [30, 20, 20]
    a = g.chromosome("chrA", pad=3)
    assert a.tobytes() == b"NNNACGTTCAGCATGCCATcgacGGTTCAAGTCNNN"
    assert CANON[a].tobytes() == b"NNNACGTTCAGCATGCCATCGACGGTTCAAGTCNNN"


def test_gzip_fasta_streams_the_same_chromosomes(tmp_path: Path) -> None:
    import gzip

    gz = tmp_path / "genome.fa.gz"
    gz.write_bytes(gzip.compress(GENOME.read_bytes()))
    streamed, indexed = FastaGenome(gz), FastaGenome(GENOME)
    assert streamed.access == "streamed" and streamed.lengths.tolist() == indexed.lengths.tolist()
    assert [(n, b.tobytes()) for n, b in streamed.chromosomes(pad=2)] == \
        [(n, b.tobytes()) for n, b in indexed.chromosomes(pad=2)]
    assert streamed.chromosome("chrB").tobytes() == indexed.chromosome("chrB").tobytes()


def test_explicit_format_that_does_not_fit_names_the_likely_one() -> None:
    from dnactx.errors import DnactxError

    with pytest.raises(DnactxError, match="does not look like allc.*looks like cgmap"):
        detect_format(DATA / "calls.CGmap", "allc")


# -- MethylDackel ----------------------------------------------------------------------------------------
MD = [DATA / f"methyldackel_{c}.bedGraph" for c in ("CpG", "CHG", "CHH")]


def test_methyldackel_detected_from_track_line_with_its_context() -> None:
    layouts = [detect_format(p) for p in MD]
    assert [(lay.spec.name, lay.header_lines, lay.stated_context) for lay in layouts] == \
        [("methyldackel", 1, "CG"), ("methyldackel", 1, "CHG"), ("methyldackel", 1, "CHH")]


def test_methyldackel_without_track_line_is_told_from_bismark_cov_by_its_0_based_end(tmp_path: Path) -> None:
    plain = tmp_path / "calls.txt"
    plain.write_text("".join(MD[0].read_text().splitlines(keepends=True)[1:]))
    layout = detect_format(plain)
    assert layout.spec.name == "methyldackel" and layout.stated_context is None
    assert detect_format(DATA / "calls.bismark.cov").spec.name == "bismark_cov"


def test_methyldackel_per_context_files_give_hand_checked_sites(tmp_path: Path) -> None:
    summary, rows = prepare_fixture(tmp_path, tuple(MD))
    got = {(r["chrom"], r["pos"], r["strand"]): (r["context"], r["trinuc"], r["mc"], r["cov"]) for r in rows}
    assert got == {k: v[:4] for k, v in EXPECTED.items()}
    assert summary["format"] == "methyldackel" and summary["skipped"]["genome_mismatch"] == 0
    assert summary["skipped"]["undetermined_context"] == 1  # chrA:30, which MethylDackel calls CHH
    assert summary["control"]["non_conversion_rate"] == pytest.approx(1 / 200)
    assert [c["stated_context"] for c in summary["inputs"]["calls"]] == ["CG", "CHG", "CHH"]


def test_methyldackel_merge_context_rows_become_one_plus_strand_site(tmp_path: Path) -> None:
    calls = (DATA / "methyldackel_merged_CpG.bedGraph", DATA / "methyldackel_merged_CHG.bedGraph")
    summary, rows = prepare_fixture(tmp_path, calls, control_chrom=None)
    got = {(r["chrom"], r["pos"], r["strand"]): (r["context"], r["mc"], r["cov"]) for r in rows}
    assert got == {("chrA", 2, "+"): ("CG", 17, 20), ("chrA", 6, "+"): ("CHG", 1, 15),
                   ("chrA", 17, "+"): ("CG", 5, 6), ("chrB", 2, "+"): ("CG", 10, 12), ("chrC", 18, "+"): ("CG", 7, 9)}
    assert summary["strand_merged_sites"] == 5


def test_methyldackel_context_is_checked_against_the_genome(tmp_path: Path) -> None:
    from dnactx.errors import DnactxError

    wrong = tmp_path / "sample_CpG.bedGraph"  # the CHH file's rows under a CpG name and track line
    wrong.write_text(MD[0].read_text().splitlines(keepends=True)[0] + "".join(MD[2].read_text().splitlines(
        keepends=True)[1:]))
    with pytest.raises(DnactxError, match="disagrees with --genome.*context CG"):
        prepare_fixture(tmp_path, wrong)


# -- modkit ----------------------------------------------------------------------------------------------
def test_modkit_read_level_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    summary, rows = prepare_fixture(tmp_path, DATA / "calls.modkit_readlevel.bed")
    assert {(r["chrom"], r["pos"], r["strand"]) for r in rows} == set(EXPECTED)
    assert summary["skipped"]["read_level_call"] == 2 and summary["skipped"]["genome_mismatch"] == 0
    assert summary["genome_check"]["read_level_calls"] == 2
    assert summary["genome_check"]["read_level_rows_checked"] == 20


def test_modkit_mostly_off_reference_still_stops_as_a_build_mismatch(tmp_path: Path) -> None:
    from dnactx.errors import DnactxError

    other = tmp_path / "other.fa"
    other.write_text(">chrA\n" + "ATTA" * 8 + "\n>chrB\n" + "TTAT" * 5 + "\n>chrC\n" + "AATT" * 5 + "\n")
    with pytest.raises(DnactxError, match="disagrees with --genome .* tolerance 50%.*another genome build"):
        prepare_fixture(tmp_path, DATA / "calls.modkit_readlevel.bed", genome=other)


@pytest.mark.parametrize(("code", "expected"), [("m", [5, 6]), ("h", [3, 4]), ("m+h", [8, 10])])
def test_modkit_mod_code_picks_5mc_5hmc_or_both(code: str, expected: list[int]) -> None:
    from dnactx.io.calls import iter_calls

    path = DATA / "calls.modkit_5hmC.bed"
    (chunk,) = iter_calls(path, detect_format(path), mod_code=code)
    assert chunk.pos.tolist() == [2, 2] and chunk.mc.tolist() == expected and chunk.cov.tolist() == [10, 12]
    assert chunk.dropped == {"other_modification": 2}


def test_modkit_combine_strands_rows_are_plus_strand_cpgs(tmp_path: Path) -> None:
    summary, rows = prepare_fixture(tmp_path, DATA / "calls.modkit_combined.bed", control_chrom=None)
    got = {(r["chrom"], r["pos"], r["strand"]): (r["context"], r["mc"], r["cov"]) for r in rows}
    assert got == {("chrA", 2, "+"): ("CG", 17, 20), ("chrA", 17, "+"): ("CG", 5, 6),
                   ("chrB", 2, "+"): ("CG", 10, 12), ("chrC", 18, "+"): ("CG", 7, 9)}
    assert summary["strand_merged_sites"] == 4


def test_genome_fills_a_reused_buffer_and_reads_regions(tmp_path: Path) -> None:
    import gzip

    gz = tmp_path / "genome.fa.gz"
    gz.write_bytes(gzip.compress(GENOME.read_bytes()))
    for g in (FastaGenome(GENOME), FastaGenome(gz)):
        buffer = np.full(100, 7, dtype=np.uint8)
        for name, bases in g.chromosomes(pad=2, out=buffer):
            assert np.shares_memory(bases, buffer)
            assert bases.tobytes() == FastaGenome(GENOME).chromosome(name, pad=2).tobytes()
        whole = g.chromosome("chrA").tobytes()
        assert g.region("chrA", 15, 22).tobytes() == whole[15:22] == b"TcgacGG"
        assert g.region("chrA", 25, 99).tobytes() == whole[25:]


def test_stranded_chromosome_converts_in_place_and_keeps_the_mask() -> None:
    from dnactx.prepare.windows import Stranded

    buffer = np.zeros(12, dtype=np.uint8)
    raw = buffer[:5]
    raw[:] = np.frombuffer(b"NacGT", np.uint8)
    s = Stranded(raw, buffer)
    assert s.both.tobytes() == b"NACGTACGTN" and np.shares_memory(s.both, buffer)
    assert s.masked(np.arange(5)).tolist() == [False, True, True, False, False]
