"""Bench: lr ``--C auto``'s staged search vs the full 16-candidate grid it replaced, on the same features.

Loads a prepared dataset (default: the real data prepared into bench/out/real), cuts both/200, takes lr's training
sites (the 100,000-site cap, or ``--train-fraction``), builds the k-mer features once per side, then times
``models.lr.search_lr`` (scaling and class weights at C 10, then C for the winner) against the peer: every scaling
x class weight x C of the grid, fitted one after another on the same features (phase 1's search). Prints each
side's fits, seconds, chosen candidate, val AUPRC and test AUPRC, and the ratio of their fit times.
Usage: python bench/lr_auto.py [--data bench/out/real/dataset.parquet] [--size 200] [--train-fraction F] [--smoke]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/tokenize.py beside this file would shadow the standard library's ``tokenize`` (pandas imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import itertools  # noqa: E402
import time  # noqa: E402


def _features(ds, split: str):
    from dnactx.models.lr import kmer_features

    s = ds.splits[split]
    return kmer_features(s.bases, s.context_id)


def full_grid(ds, seed: int) -> dict:
    """The peer: the 16 fits of phase 1's grid, keeping the best validation AUPRC (ties: the earlier)."""
    from dnactx.metrics import auprc
    from dnactx.models.lr import C_GRID, CLASS_WEIGHTS, SCALINGS, fit_lr, frequencies_to_l2

    x, x_val = _features(ds, "train"), _features(ds, "val")
    length = ds.splits["train"].bases.shape[1]
    y, y_val = ds.splits["train"].labels, ds.splits["val"].labels
    t0 = time.perf_counter()
    best = None
    for scaling, class_weight, C in itertools.product(SCALINGS, CLASS_WEIGHTS, C_GRID):
        if scaling == "l2" and class_weight == CLASS_WEIGHTS[0] and C == C_GRID[0]:
            frequencies_to_l2(x, length)
            frequencies_to_l2(x_val, length)
        model, _ = fit_lr(x, y, C=C, class_weight=class_weight, seed=seed)
        score = auprc(y_val, model.predict_proba(x_val)[:, 1])
        if best is None or score > best[0]:
            best = (score, model, {"scaling": scaling, "C": C, "class_weight": class_weight})
    return {"seconds": time.perf_counter() - t0, "fits": 16, "model": best[1], "choice": best[2],
            "val_auprc": best[0]}


def staged(ds, seed: int) -> dict:
    from dnactx.models.lr import search_lr

    x, x_val = _features(ds, "train"), _features(ds, "val")
    t0 = time.perf_counter()
    model, choice, _, grid = search_lr(x, ds.splits["train"].labels, x_val, ds.splits["val"].labels,
                                       length=ds.splits["train"].bases.shape[1], seed=seed)
    return {"seconds": time.perf_counter() - t0, "fits": len(grid), "model": model,
            "choice": {k: choice[k] for k in ("scaling", "C", "class_weight")}, "val_auprc": choice["val_auprc"],
            "grid": grid}


def test_auprc(ds, side: dict) -> float:
    from dnactx.metrics import auprc
    from dnactx.models.lr import predict_proba

    s = ds.splits["test"]
    return auprc(s.labels, predict_proba(side["model"], s.bases, s.context_id, scaling=side["choice"]["scaling"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("bench/out/real/dataset.parquet"))
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--train-fraction", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--smoke", action="store_true", help="a tiny synthetic dataset, to check the script runs")
    args = ap.parse_args()
    from dnactx.data.dataset import load_dataset
    from dnactx.train.config import LR_DEFAULT_MAX_TRAIN

    data, size = args.data, args.size
    if args.smoke:
        import tempfile

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from conftest import make_tiny_dataset

        data, size = make_tiny_dataset(Path(tempfile.mkdtemp()) / "d", n=600), 20
    ds = load_dataset(data, size, "both", max_train=LR_DEFAULT_MAX_TRAIN, train_fraction=args.train_fraction,
                      seed=args.seed)
    print(f"{data}: both/{size}, train {len(ds.splits['train']):,} / val {len(ds.splits['val']):,} / test "
          f"{len(ds.splits['test']):,} sites")
    print("| search | fits | fit seconds | choice | val AUPRC | test AUPRC |\n|---|---|---|---|---|---|")
    sides = {}
    for label, run in (("dnactx staged search", staged), ("full grid (phase 1, peer)", full_grid)):
        side = run(ds, args.seed)
        sides[label] = side
        c = side["choice"]
        print(f"| {label} | {side['fits']} | {side['seconds']:.1f} | {c['scaling']}, {c['class_weight']}, C {c['C']:g} "
              f"| {side['val_auprc']:.3f} | {test_auprc(ds, side):.3f} |", flush=True)
    ours, peer = sides["dnactx staged search"], sides["full grid (phase 1, peer)"]
    print(f"ratio (full grid / staged fit time): {peer['seconds'] / ours['seconds']:.1f}x; val AUPRC "
          f"{ours['val_auprc'] - peer['val_auprc']:+.4f} vs the full grid")
    print("staged candidates: " + "; ".join(f"{g['scaling']} {g['class_weight']} C {g['C']:g}: {g['val_auprc']:.3f} "
                                            f"({g['fit_seconds']:.0f} s)" for g in ours["grid"]))


if __name__ == "__main__":
    main()
