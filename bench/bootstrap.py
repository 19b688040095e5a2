"""Bench: dnactx's vectorised block bootstrap vs a loop that calls scikit-learn once per resample.

A realistic test split: 50,000 sites at random positions of a 2 Mb region, ~2.5% positives whose rate varies by
10 kb block (block random effects), an informative score, 10 kb blocks (200). dnactx draws 1,000 stratified block
resamples and computes AUROC, AUPRC and F1 for all of them (``bootstrap_ci``); the peer, for the same draws,
builds each resample's site weights and calls ``roc_auc_score``, ``average_precision_score`` and ``f1_score`` with
``sample_weight``. The loop runs on ``--loop-resamples`` of the draws (it is slow) and its time is scaled to all of
them; its values are checked equal to dnactx's on those draws. Peak memory of the vectorised call is traced.
Usage: python bench/bootstrap.py [--n 50000] [--resamples 1000] [--loop-resamples 100] [--smoke]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/tokenize.py beside this file would shadow the standard library's ``tokenize`` (which tracemalloc
# imports); drop this folder first.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402


def simulate(n: int, region_bp: int, block_bp: int, pos_rate: float, seed: int = 0) -> dict[str, np.ndarray]:
    from dnactx.stats.bootstrap import block_ids

    rng = np.random.default_rng(seed)
    pos = np.sort(rng.choice(np.arange(1, region_bp + 1), size=n, replace=False))
    blocks = block_ids(np.full(n, "chr1"), pos, block_bp)
    effect = rng.normal(0, 1.0, blocks.max() + 1)[blocks]
    signal = rng.normal(0, 1, n)
    logit = np.log(pos_rate / (1 - pos_rate)) - 1.0 + effect + 1.2 * signal
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    p = (1 / (1 + np.exp(-(signal + 0.5 * effect + rng.normal(0, 0.8, n) - 3)))).astype(np.float32)
    context = rng.choice(np.array(["CG", "CHG", "CHH"]), n, p=[0.15, 0.2, 0.65])
    return {"y": y, "p": p, "blocks": blocks, "context": context}


def loop(d: dict[str, np.ndarray], counts: np.ndarray, threshold: float) -> np.ndarray:
    from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

    rows = []
    for c in counts:
        w = c[d["blocks"]]
        rows.append((roc_auc_score(d["y"], d["p"], sample_weight=w),
                     average_precision_score(d["y"], d["p"], sample_weight=w),
                     f1_score(d["y"], d["p"] >= threshold, sample_weight=w)))
    return np.array(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--loop-resamples", type=int, default=100)
    ap.add_argument("--region", type=int, default=2_000_000)
    ap.add_argument("--block", type=int, default=10_000)
    ap.add_argument("--pos-rate", type=float, default=0.025)
    ap.add_argument("--smoke", action="store_true", help="a toy size that runs in a second (for the tests)")
    args = ap.parse_args()
    if args.smoke:
        args.n, args.resamples, args.loop_resamples, args.region = 3000, 50, 5, 300_000

    from dnactx.metrics import best_f1_threshold
    from dnactx.stats.bootstrap import bootstrap_ci, draw_block_counts, resample_metrics

    d = simulate(args.n, args.region, args.block, args.pos_rate)
    threshold = best_f1_threshold(d["y"], d["p"])
    n_blocks = int(d["blocks"].max()) + 1
    print(f"sites {args.n:,} in {n_blocks} blocks of {args.block:,} bp, {d['y'].mean():.2%} positive, "
          f"{args.resamples:,} resamples")

    t_ours, t_ctx = [], []
    for _ in range(3):  # best of 3: the machine is shared
        t0 = time.perf_counter()
        ci = bootstrap_ci(d["y"], d["p"], d["blocks"], threshold=threshold, n_resamples=args.resamples)
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bootstrap_ci(d["y"], d["p"], d["blocks"], threshold=threshold, context=d["context"],
                     n_resamples=args.resamples)
        t_ctx.append(time.perf_counter() - t0)
    t_ours, t_ctx = min(t_ours), min(t_ctx)
    tracemalloc.start()
    bootstrap_ci(d["y"], d["p"], d["blocks"], threshold=threshold, n_resamples=args.resamples)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    has_positive = np.bincount(d["blocks"], weights=d["y"], minlength=n_blocks) > 0
    counts = draw_block_counts(has_positive, args.loop_resamples, np.random.default_rng(1))
    t0 = time.perf_counter()
    ref = loop(d, counts, threshold)
    t_loop = (time.perf_counter() - t0) / args.loop_resamples * args.resamples
    got = resample_metrics(d["y"], d["p"], d["blocks"], counts, threshold=threshold)
    assert np.allclose(ref, np.column_stack([got["auroc"], got["auprc"], got["f1"]]), rtol=0, atol=1e-10), \
        "vectorised metrics differ from scikit-learn's"

    print(f"test AUPRC interval {ci['auprc'][0]:.3f}-{ci['auprc'][1]:.3f}, AUROC {ci['auroc'][0]:.3f}-"
          f"{ci['auroc'][1]:.3f}, F1 {ci['f1'][0]:.3f}-{ci['f1'][1]:.3f}; equal to scikit-learn on "
          f"{args.loop_resamples} draws")
    print(f"dnactx bootstrap_ci            {t_ours:8.2f} s  (AUROC, AUPRC, F1, best of 3; peak traced memory "
          f"{peak / 2**20:.0f} MiB)")
    print(f"dnactx, also per context       {t_ctx:8.2f} s  (+ CG/CHG/CHH and the within-context macro)")
    print(f"scikit-learn loop (scaled)     {t_loop:8.2f} s  (measured on {args.loop_resamples} resamples, "
          f"x{args.resamples / args.loop_resamples:g})")
    print(f"ratio                          {t_loop / t_ours:8.1f}x")


if __name__ == "__main__":
    main()
