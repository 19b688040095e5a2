"""Benchmark `dnactx prepare` against a plain per-row pandas + pyfaidx implementation on the real shared data.

Both cut the same 801-bp windows for the same rows (the first --rows calls of the CGmap, lambda included)
and write a parquet; the figure is sites written per second, wall clock. Run from the repository root::

    python bench/prepare.py                 # 100,000 rows for both, then dnactx on the whole file
    python bench/prepare.py --rows 0        # every row for both (the per-row peer takes about a minute)
    python bench/prepare.py --genome-gb 1   # also: a synthetic 1 Gb genome, peak memory of `prepare`

The large-genome run writes, under --tmp (default /tmp), five chromosomes (300, 250, 200, 150, 100 Mb per Gb;
random bases, ~10% soft-masked in runs, 80 columns) and a Bismark coverage file with a call at a random C or G
every --spacing bp on average (the real CGmap has one every 3 bp where it has calls; 20 keeps the file writable
in about a minute per Gb), then runs `dnactx prepare` on them in a child process and reports its wall time and
peak RSS (the child's ru_maxrss). `--fraction` keeps the parquet small; every call is still read and checked.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/ holds scripts named like standard modules (tokenize.py): keep them from shadowing the standard library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from pyfaidx import Fasta  # noqa: E402

from dnactx.prepare import LabelRules, PrepareOptions, prepare_dataset  # noqa: E402

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
    summary = prepare_dataset(PrepareOptions(genome=fasta, calls=calls, out=out, control_chrom="L", window=WINDOW,
                                             labels=LabelRules(min_coverage=MIN_COV, threshold=THRESHOLD),
                                             block_size=10_000))
    return summary["n_sites"]


def timed(fn, *args) -> tuple[int, float]:  # noqa: ANN001
    start = time.perf_counter()
    n = fn(*args)
    return n, time.perf_counter() - start


SHARES = (0.30, 0.25, 0.20, 0.15, 0.10)  # chromosome sizes as shares of the genome
_BASES = np.frombuffer(b"ACGTacgt", dtype=np.uint8)


def write_genome(folder: Path, gb: float, spacing: int, calls_mb: float = 0, seed: int = 0) -> tuple[Path, Path, int]:
    """A synthetic genome and Bismark .cov calls (see the module docstring), the calls only on the first
    ``calls_mb`` Mb of each chromosome when that is not 0; returns the paths and the number of calls."""
    rng = np.random.default_rng(seed)
    fasta, calls = folder / "synthetic.fa", folder / "synthetic.cov"
    rows = 0
    with open(fasta, "wb") as fa, open(calls, "w") as cov:
        for i, share in enumerate(SHARES):
            length = int(gb * 1e9 * share) // 80 * 80
            fa.write(f">chr{i + 1}\n".encode())
            for start in range(0, length, 8_000_000):  # 8 Mb at a time keeps the generator's memory small
                n = min(8_000_000, length - start)
                base = rng.integers(0, 4, n, dtype=np.uint8)
                lower = np.repeat(rng.random(n // 1000) < 0.1, 1000)[:n]  # 1 kb runs, ~10% soft-masked
                seq = _BASES[base + 4 * lower]
                lines = np.hstack([seq.reshape(-1, 80), np.full((n // 80, 1), ord("\n"), np.uint8)])
                fa.write(lines.tobytes())
                cg = np.flatnonzero((base == 1) | (base == 2))
                if calls_mb:
                    cg = cg[start + cg < calls_mb * 1e6]
                pick = np.sort(rng.choice(cg, size=min(cg.size, cg.size * 2 // spacing), replace=False))
                depth = rng.integers(1, 20, pick.size)
                meth = rng.binomial(depth, np.where(rng.random(pick.size) < 0.2, 0.9, 0.05))
                pos = start + pick + 1
                pd.DataFrame({"c": f"chr{i + 1}", "s": pos, "e": pos, "p": np.round(100 * meth / depth, 1),
                              "m": meth, "u": depth - meth}).to_csv(cov, sep="\t", header=False, index=False)
                rows += pick.size
    return fasta, calls, rows


_CHILD = """
import sys, time, resource
from pathlib import Path
from dnactx.io.fasta import FastaGenome
from dnactx.prepare import PrepareOptions, prepare_dataset
genome, calls, out, fraction = sys.argv[1:5]
t = time.perf_counter(); FastaGenome(genome); index_s = time.perf_counter() - t
t = time.perf_counter()
s = prepare_dataset(PrepareOptions(genome=genome, calls=calls, out=out, fraction=float(fraction)))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(index_s, time.perf_counter() - t, s["n_sites"], s["rows_read"], rss)
"""


def large_genome(gb: float, spacing: int, fraction: float, tmp: Path, calls_mb: float = 0) -> None:
    folder = Path(tempfile.mkdtemp(prefix="dnactx-bench-", dir=tmp))
    try:
        start = time.perf_counter()
        fasta, calls, rows = write_genome(folder, gb, spacing, calls_mb)
        made = time.perf_counter() - start
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(fasta), str(calls), str(folder / "out"),
                               str(fraction)], capture_output=True, text=True, check=False)
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        index_s, seconds, sites, read, rss_kb = proc.stdout.split()
        where = f" on the first {calls_mb:g} Mb of each chromosome" if calls_mb else ""
        print(f"synthetic {gb:g} Gb genome (largest chromosome {SHARES[0] * gb * 1000:.0f} Mb), {rows:,} calls{where} "
              f"(written in {made:.0f} s), --fraction {fraction:g}:")
        print(f"  .fai index built in {float(index_s):.1f} s; prepare read {int(read):,} rows and wrote "
              f"{int(sites):,} sites in {float(seconds):.1f} s; peak RSS {int(rss_kb) / 1024**2:.2f} GB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="calls rows for both (0 = all)")
    parser.add_argument("--genome-gb", type=float, default=0.0, help="also run on a synthetic genome this large")
    parser.add_argument("--spacing", type=int, default=20, help="bp per call in the synthetic genome")
    parser.add_argument("--fraction", type=float, default=0.05, help="--fraction of prepare on it")
    parser.add_argument("--tmp", type=Path, default=Path("/tmp"), help="where the synthetic files go")
    parser.add_argument("--calls-mb", type=float, default=0, help="calls only on the first N Mb of each chromosome")
    parser.add_argument("--skip-real", action="store_true", help="only the synthetic genome")
    args = parser.parse_args()
    if args.skip_real:
        large_genome(args.genome_gb, args.spacing, args.fraction, args.tmp, args.calls_mb)
        return
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
    if args.genome_gb:
        large_genome(args.genome_gb, args.spacing, args.fraction, args.tmp, args.calls_mb)


if __name__ == "__main__":
    main()
