"""Bench: a cnn's sliding features (``models.sliding.Slider``, one convolution of each stretch) vs ``CNN.encode`` of
every site's own input (the per-window path), on one device, without a registry (the GPU image lacks SQLModel).

The sites are every C of a stretch of real TAIR10 chr1 (../shared/data; random sequence without it) as
one-strand inputs of each ``--sizes`` (both modes: 2·size+1 bp); a random cnn (32/48 channels, BatchNorm folded,
as predict scores it). The two sides alternate ``--repeats`` times (best of each, synchronised on a GPU), their
features are checked equal (max |difference| printed; 1e-4 is float32 rounding of these magnitudes), and the ratio of
sites/s printed with the peak GPU memory where there is one. Usage: python bench/sliding.py [--device cuda]
[--bp 65536] [--sizes 100,200] [--repeats 5] [--smoke]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's dnactx, not an installed one

import numpy as np  # noqa: E402
import torch  # noqa: E402

FASTA = Path(__file__).resolve().parents[2] / "shared" / "data" / "athaliana_tair10_chr1_2mb.fa.gz"


def sequence(bp: int, smoke: bool) -> np.ndarray:
    """uint8 base codes (A0 C1 G2 T3 N4) of ``bp`` bases: real chr1 from 1 Mb, or random."""
    from dnactx.sequence import base_codes

    if FASTA.is_file() and not smoke:
        from dnactx.io.fasta import FastaGenome

        return base_codes(np.asarray(FastaGenome(FASTA).chromosome("chr1")[1_000_000:1_000_000 + bp]))
    return np.random.default_rng(0).integers(0, 4, bp).astype(np.uint8)


def timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--bp", type=int, default=65_536, help="bases of the stretch (the predict path's SLIDE_BP)")
    ap.add_argument("--sizes", default="100,200", help="context sizes, both modes (201- and 401-bp inputs)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=None, help="per-window batch (default: the scorer's for the device)")
    ap.add_argument("--smoke", action="store_true", help="random sequence, 4 kb, 2 repeats (for the tests)")
    args = ap.parse_args()
    if args.smoke:
        args.bp, args.repeats, args.sizes = 4_096, 2, "32"
    from dnactx.heap import reuse_freed_memory
    from dnactx.inference.scorer import CPU_CNN_BATCH

    reuse_freed_memory()
    device = torch.device(args.device)
    batch = args.batch or (CPU_CNN_BATCH if device.type == "cpu" else 4096)
    codes_np = sequence(args.bp, args.smoke)
    print(f"device {device}; {args.bp:,} bp ({'real chr1' if FASTA.is_file() and not args.smoke else 'random'}); "
          f"torch threads {torch.get_num_threads()}; per-window batch {batch}")
    print("| input | sites | encode (per window) | sliding | ratio | max abs difference | peak GPU memory |")
    print("|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        print(one_size(size, codes_np, device, batch, args.repeats))


def one_size(size: int, codes_np: np.ndarray, device: torch.device, batch: int, repeats: int) -> str:
    """The table row of inputs of 2·size+1 bp (raises SystemExit when the features differ)."""
    from dnactx.models.cnn import CNN
    from dnactx.models.sliding import Slider

    length = 2 * size + 1
    torch.manual_seed(0)
    cnn = CNN(center=size, site_context=False).eval()
    for m in cnn.modules():
        if isinstance(m, torch.nn.BatchNorm1d):  # far from the identity, as after training
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    cnn = cnn.fused().to(device)
    centres = np.flatnonzero(codes_np == 1)  # every C of this strand, as predict's sites of one strand
    starts_np = centres - size
    starts_np = starts_np[(starts_np >= 0) & (starts_np + length <= codes_np.size)]
    codes, starts = torch.from_numpy(codes_np).to(device), torch.from_numpy(starts_np).to(device)
    windows = torch.from_numpy(np.lib.stride_tricks.sliding_window_view(codes_np, length)[starts_np].copy())
    with torch.inference_mode():
        slider = Slider(cnn, length)

        def sliding():
            return slider.features(codes, starts)

        def per_window():
            return torch.cat([cnn.encode(windows[i:i + batch].to(device, non_blocking=True))
                              for i in range(0, len(windows), batch)])

        diff = (sliding() - per_window()).abs().max().item()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        best = {"windows": np.inf, "sliding": np.inf}
        for _ in range(repeats):
            best["windows"] = min(best["windows"], timed(per_window, device))
            best["sliding"] = min(best["sliding"], timed(sliding, device))
    if diff > 1e-4:
        raise SystemExit(f"sliding features differ from encode by {diff:.2e} (> 1e-4)")
    n = starts_np.size
    peak = f"{torch.cuda.max_memory_allocated(device) / 2**20:,.0f} MiB" if device.type == "cuda" else "—"
    return (f"| {length} bp | {n:,} | {n / best['windows']:,.0f} sites/s | {n / best['sliding']:,.0f} sites/s | "
            f"{best['windows'] / best['sliding']:.1f}x | {diff:.1e} | {peak} |")


if __name__ == "__main__":
    main()
