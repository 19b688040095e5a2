"""On the real A. thaliana data: windows cut straight from the genome for predict/explain equal prepare's windows
for every site, both strands, soft-masked repeats and both chromosome ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REAL_CGMAP, REAL_FASTA

from dnactx.inference import genome_contexts, genome_windows, load_chromosome
from dnactx.io.fasta import FastaGenome
from dnactx.sequence import to_ascii

pytestmark = pytest.mark.integration
WINDOW = 100
END = 2_000_010  # the calls reach 2,000,000: the last sites' windows run past this end into N padding


def trimmed_genome(dest: Path) -> Path:
    """The real chr1 cut to END bases, case kept (soft-masked repeats), as a plain 80-column FASTA."""
    bases = FastaGenome(REAL_FASTA).chromosome("chr1")[:END].tobytes().decode()
    dest.write_text(">chr1\n" + "\n".join(bases[i:i + 80] for i in range(0, len(bases), 80)) + "\n")
    return dest


def test_genome_windows_equal_every_real_dataset_window(shared_data: Path, tmp_path: Path) -> None:
    from dnactx.prepare import PrepareOptions, prepare_dataset

    genome = trimmed_genome(tmp_path / "chr1.fa")
    prepare_dataset(PrepareOptions(genome=genome, calls=REAL_CGMAP, out=tmp_path / "data", window=WINDOW,
                                   control_chrom="L"))
    df = pd.read_parquet(tmp_path / "data" / "dataset.parquet", columns=["pos", "strand", "context", "repeat", "seq"])
    assert len(df) > 400_000
    pos, strand = df["pos"].to_numpy(), df["strand"].to_numpy()
    assert set(strand) == {"+", "-"} and df["repeat"].sum() > 10_000
    near_start, near_end = pos <= WINDOW // 2, pos > END - WINDOW // 2
    assert near_start.any() and near_end.any()  # windows that read the N padding at both ends
    chrom = load_chromosome(FastaGenome(genome), "chr1", WINDOW)
    windows = genome_windows(chrom, pos, strand, WINDOW)
    expected = to_ascii(df["seq"].tolist())
    mismatched = np.flatnonzero((windows != expected).any(axis=1))
    assert mismatched.size == 0, f"{mismatched.size} windows differ, first at row {mismatched[:1]}"
    assert (windows[near_end] == ord("N")).any() and (windows[near_start] == ord("N")).any()
    contexts = np.array(["CG", "CHG", "CHH"])[genome_contexts(chrom, pos, strand)]
    assert (contexts == df["context"].to_numpy()).all()
