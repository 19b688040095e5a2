"""Bench: batched in-silico mutagenesis (dnactx.explain.ism) vs a loop that scores one mutant per call.

Trains lr, cnn and dnabert6-tiny (frozen) on the synthetic tiny dataset of the tests (seconds each), then per model:
ISM of --sites sites batched (sites/s, mutants/s), and the same mutants of the first --loop-sites sites scored one
per ``Scorer.logits`` call (the named peer); the deltas are checked equal (lr to 1e-12, torch to 1e-5) and the ratio
of mutants/s printed. Where the family has ``--method fast`` (lr, cnn; issue 21) the same sites are also run with
``method="plain"`` (every mutant scored) in the same run, the two alternating, best of 3 each (the machine is
shared), the deltas checked equal (lr 1e-9, cnn 1e-5) and the ratio fast / plain printed, with the process's peak
resident memory; lr is measured with its trained scaling and again with l2 scaling on the same coefficients (the
norm update is the costly part of its fast path).
Usage: OMP_NUM_THREADS=1 python bench/explain.py [--size 100] [--sites 20] [--loop-sites 1] [--smoke]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# bench/tokenize.py would shadow the standard library's ``tokenize`` (pandas imports it): drop this folder
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
# this checkout's dnactx, not the one an editable install points at (another worktree's)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

MODELS = {"lr": dict(model="lr", C=10), "cnn": dict(model="cnn", epochs=1),
          "dnabert6-tiny": dict(model="dnabert6-tiny", finetune="frozen", epochs=1)}


def train(root: Path, size: int) -> tuple[Path, Path, dict[str, str]]:
    from conftest import make_tiny_dataset

    from dnactx.train.config import TrainConfig
    from dnactx.train.run import train_run

    dataset = make_tiny_dataset(root / "data", window=max(200, 2 * size))
    runs = {}
    for name, options in MODELS.items():
        result = train_run(TrainConfig(data=str(dataset), size=size, mode="both", name=name, **options),
                           root / "runs", quiet=True)
        runs[name] = result["run_id"]
    return root / "runs", dataset, runs


def one_at_a_time(scorer, inputs: np.ndarray, context_id: np.ndarray, trinuc: np.ndarray) -> np.ndarray:
    """The peer: every mutant of every site scored in its own Scorer.logits call."""
    from dnactx.explain.mutagenesis import BASES, mutant_contexts

    n, length = inputs.shape
    delta = np.zeros((n, length, 4))
    center = scorer.recipe.center
    for i in range(n):
        before = scorer.logits(inputs[i:i + 1], context_id[i:i + 1])[0]
        for j in range(length):
            for b in range(4):
                if inputs[i, j] == BASES[b]:
                    continue
                row = inputs[i:i + 1].copy()
                row[0, j] = BASES[b]
                ctx = mutant_contexts(context_id[i:i + 1], trinuc[i:i + 1], np.array([0]), np.array([j - center]),
                                      np.array([b]))
                delta[i, j, b] = scorer.logits(row, ctx)[0] - before
    return delta


def peak_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux: ru_maxrss in KB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name: str, scorer, sites, loop_sites: int) -> dict:
    from dnactx.explain import ism
    from dnactx.explain.mutagenesis import fast_family

    inputs = scorer.recipe.cut(sites.windows)
    for method in ("fast", "plain"):  # one-off costs (folded tables, fused copies) out of the timings
        ism(scorer, inputs[:1], sites.context_id[:1], sites.trinuc()[:1], method=method)
    fast_s = None
    repeats = 3 if fast_family(scorer) else 1  # fast and plain alternate, best of 3 each: the machine is shared
    plain_times, fast_times = [], []
    for _ in range(repeats):
        if fast_family(scorer):
            t0 = time.perf_counter()
            fast = ism(scorer, inputs, sites.context_id, sites.trinuc(), method="fast")
            fast_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        m = ism(scorer, inputs, sites.context_id, sites.trinuc(), method="plain")
        plain_times.append(time.perf_counter() - t0)
    batched = min(plain_times)
    fast_s = min(fast_times) if fast_times else None
    if fast_s is not None:
        tolerance = 1e-9 if name.startswith("lr") else 1e-5
        assert np.abs(fast.delta - m.delta).max() <= tolerance, f"{name}: fast and plain deltas differ"
    k = min(loop_sites, len(sites))
    t0 = time.perf_counter()
    loop = one_at_a_time(scorer, inputs[:k], sites.context_id[:k], sites.trinuc()[:k])
    looped = time.perf_counter() - t0
    tolerance = 1e-12 if name.startswith("lr") else 1e-5
    assert np.abs(loop - m.delta[:k]).max() <= tolerance, f"{name}: batched and one-at-a-time deltas differ"
    mutants = int(m.alternative.sum())
    loop_mutants = int(m.alternative[:k].sum())
    return {"model": name, "sites": len(sites), "length": inputs.shape[1], "sites_s": len(sites) / batched,
            "mutants_s": mutants / batched, "loop_mutants_s": loop_mutants / looped,
            "ratio": (mutants / batched) / (loop_mutants / looped),
            "fast_sites_s": None if fast_s is None else len(sites) / fast_s,
            "fast_ratio": None if fast_s is None else batched / fast_s, "peak_mb": peak_mb()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--sites", type=int, default=20)
    ap.add_argument("--loop-sites", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="size 10, 3 sites: checks the bench runs")
    args = ap.parse_args()
    if args.smoke:
        args.size, args.sites = 10, 3
    from dnactx.explain.sites import select_sites
    from dnactx.inference import load_scorer

    with tempfile.TemporaryDirectory() as tmp:
        home, dataset, runs = train(Path(tmp), args.size)
        rows = []
        for name, run_id in runs.items():
            scorer = load_scorer(run_id, home, device="cpu")
            sites = select_sites(scorer, dataset, "test", "random", args.sites, 0)
            rows.append(measure(name, scorer, sites, args.loop_sites))
            if name == "lr" and scorer.recipe.lr_scaling != "l2":
                from dataclasses import replace

                from dnactx.inference import LrScorer

                l2 = LrScorer(replace(scorer.recipe, lr_scaling="l2"), scorer.coef, scorer.intercept)
                rows.append(measure("lr (l2 scaling)", l2, sites, args.loop_sites))
    print(f"ISM, both/{args.size} ({2 * args.size + 1} bp inputs), CPU, deltas checked equal to the loop's")
    print("| model | sites | plain sites/s | plain mutants/s | one-at-a-time mutants/s | plain / loop | "
          "fast sites/s | fast / plain | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        fast = ("—", "—") if r["fast_sites_s"] is None else (f"{r['fast_sites_s']:.1f}", f"{r['fast_ratio']:.1f}x")
        print(f"| {r['model']} | {r['sites']} | {r['sites_s']:.2f} | {r['mutants_s']:,.0f} | "
              f"{r['loop_mutants_s']:,.0f} | {r['ratio']:.1f}x | {fast[0]} | {fast[1]} | {r['peak_mb']:,.0f} MB |")


if __name__ == "__main__":
    main()
