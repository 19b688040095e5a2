"""Benchmark `dnactx prepare` against a plain per-row pandas + pyfaidx implementation on the real shared data.

Both cut the same 801-bp windows for the same rows (the first --rows calls of the CGmap, lambda included)
and write a parquet; the figure is sites written per second, wall clock. Run from the repository root::

    python bench/prepare.py                 # 100,000 rows for both, then dnactx on the whole file
    python bench/prepare.py --rows 0        # every row for both (the per-row peer takes about a minute)
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
import time
from pathlib import Path

# bench/ holds scripts named like standard modules (tokenize.py): keep them from shadowing the standard library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import pandas as pd  # noqa: E402
from pyfaidx import Fasta  # noqa: E402

from dnactx.prepare import PrepareOptions, prepare_dataset  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FASTA = DATA / "athaliana_tair10_chr1_2mb.fa.gz"
CGMAP = DATA / "athaliana_chr1_2mb.CGmap.gz"
WINDOW, MIN_COV, THRESHOLD = 800, 3, 0.5
_COMP = str.maketrans("ACGTN", "TGCAN")


def per_row(fasta: Path, calls: Path, out: Path) -> int:
    """The hand-rolled way: read the calls with pandas, then one pyfaidx fetch per site in a Python loop."""
    fa = Fasta(str(fasta), sequence_always_upper=False, as_raw=True)
    df = pd.read_csv(calls, sep="\t", header=None, dtype={0: str},
                     names=["chrom", "nuc", "pos", "context", "dinuc", "level", "mc", "cov"])
    half, rows = WINDOW // 2, []
    for r in df.itertuples(index=False):
        if r.chrom not in fa or r.cov < MIN_COV:
            continue
        record = fa[r.chrom]
        length = len(record)
        lo, hi = r.pos - 1 - half, r.pos + half
        w = "N" * max(0, -lo) + record[max(lo, 0):min(hi, length)] + "N" * max(0, hi - length)
        repeat = w[half].islower()
        w = w.upper()
        strand = "+" if r.nuc == "C" else "-"
        if strand == "-":
            w = w[::-1].translate(_COMP)
        if w[half] != "C":
            continue
        tri = w[half:half + 3]
        context = "CG" if tri[1] == "G" else ("CHG" if tri[2] == "G" else "CHH")
        level = r.mc / r.cov
        rows.append((r.chrom, r.pos, strand, context, tri, r.mc, r.cov, level, int(level >= THRESHOLD),
                     "train", repeat, w))
    table = pd.DataFrame(rows, columns=["chrom", "pos", "strand", "context", "trinuc", "mc", "cov", "level",
                                        "label", "split", "repeat", "seq"])
    table.to_parquet(out, index=False)
    return len(table)


def with_dnactx(fasta: Path, calls: Path, out: Path) -> int:
    summary = prepare_dataset(PrepareOptions(genome=fasta, calls=calls, out=out, control_chrom="L",
                                             window=WINDOW, min_coverage=MIN_COV, threshold=THRESHOLD,
                                             block_size=10_000))
    return summary["n_sites"]


def timed(fn, *args) -> tuple[int, float]:  # noqa: ANN001
    start = time.perf_counter()
    n = fn(*args)
    return n, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="calls rows for both (0 = all)")
    args = parser.parse_args()
    if not (FASTA.is_file() and CGMAP.is_file()):
        raise SystemExit(f"real data not found in {DATA}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        plain = tmp / "genome.fa"  # pyfaidx needs an uncompressed (or bgzip) FASTA
        with gzip.open(FASTA, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
        Fasta(str(plain))  # build the .fai index outside the timing
        subset = tmp / "subset.CGmap"
        with gzip.open(CGMAP, "rt") as src, open(subset, "w") as dst:
            for i, line in enumerate(src):
                if args.rows and i >= args.rows:
                    break
                dst.write(line)
        rows = sum(1 for _ in open(subset))

        n_fast, t_fast = timed(with_dnactx, FASTA, subset, tmp / "fast")
        n_slow, t_slow = timed(per_row, plain, subset, tmp / "slow.parquet")
        fast, slow = n_fast / t_fast, n_slow / t_slow
        print(f"same {rows:,} calls rows, {WINDOW + 1}-bp windows, coverage >= {MIN_COV}:")
        print(f"  dnactx prepare          {n_fast:>9,} sites in {t_fast:6.2f} s = {fast:>10,.0f} sites/s")
        print(f"  per-row pandas+pyfaidx  {n_slow:>9,} sites in {t_slow:6.2f} s = {slow:>10,.0f} sites/s")
        print(f"  ratio: dnactx is {fast / slow:.1f}x faster")
        if args.rows:
            n_all, t_all = timed(with_dnactx, FASTA, CGMAP, tmp / "all")
            print(f"whole file ({CGMAP.name}): dnactx {n_all:,} sites in {t_all:.2f} s = {n_all / t_all:,.0f} sites/s")


if __name__ == "__main__":
    main()
