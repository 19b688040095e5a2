"""A level run and a label run of one family on the same sites: how well each one's score tracks the measured
methylation level (Pearson and Spearman r per context, paired block bootstrap), as a Markdown table.

A label run has no level metrics of its own (``dnactx compare`` refuses to rank it on one); here its P(methylated)
is read as a level prediction on purpose, to show what training on the reads adds. AUROC/AUPRC per context come
from ``dnactx compare LEVEL LABEL --by-context``.

    python -m bench.levels --home HOME LEVEL_RUN_ID LABEL_RUN_ID [--split test] [--bootstrap 1000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dnactx.runs import RunFolder
from dnactx.stats.bootstrap import block_ids, percentile_interval
from dnactx.stats.compare import p_value, verdict
from dnactx.stats.levels import level_metrics, paired_level_draws


def _load(home: Path, run_id: str, split: str) -> dict[str, np.ndarray]:
    folder = next(p for p in home.iterdir() if p.name.startswith(run_id))
    with np.load(folder / "predictions_val_test.npz", allow_pickle=False) as npz:
        arrays = {k.removeprefix(f"{split}_"): np.asarray(npz[k]) for k in npz.files if k.startswith(f"{split}_")}
    arrays["name"] = np.asarray(RunFolder(folder).config.get("name") or folder.name)
    arrays["raw"] = arrays.get("prob_raw", arrays["prob"])
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("level_run")
    parser.add_argument("label_run")
    parser.add_argument("--split", default="test")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--block", type=int, default=10_000)
    args = parser.parse_args()
    a, b = _load(args.home, args.level_run, args.split), _load(args.home, args.label_run, args.split)
    if not np.array_equal(a["index"], b["index"]):
        raise SystemExit("the runs scored different sites")
    level, cov, context = a["mc"] / np.maximum(a["cov"], 1), a["cov"], a["context"].astype(str)
    blocks = block_ids(a["chrom"], a["pos"], args.block)
    draws = paired_level_draws(level, cov, [a["raw"], b["raw"]], blocks, context, n_resamples=args.bootstrap, seed=0)
    print(f"A = {a['name']} (level), B = {b['name']} (label); {args.split}: {level.size:,} sites, "
          f"{np.unique(blocks).size} blocks of {args.block:,} bp, {args.bootstrap} paired resamples\n")
    print("| context | metric | A | A 95% | B | B 95% | A − B [95%] | p | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in [None, *sorted(k for k in draws if k is not None)]:
        mask = np.ones(level.size, dtype=bool) if key is None else context == key
        for metric in ("pearson", "spearman"):
            va = level_metrics(level[mask], a["raw"][mask], cov[mask])[metric]
            vb = level_metrics(level[mask], b["raw"][mask], cov[mask])[metric]
            ra, rb = draws[key][0][metric], draws[key][1][metric]
            ci_a, ci_b, ci_d = (percentile_interval(x) for x in (ra, rb, ra - rb))
            print(f"| {key or 'all'} | {metric} | {va:.3f} | [{ci_a[0]:.3f}, {ci_a[1]:.3f}] | {vb:.3f} | "
                  f"[{ci_b[0]:.3f}, {ci_b[1]:.3f}] | {va - vb:+.3f} [{ci_d[0]:+.3f}, {ci_d[1]:+.3f}] | "
                  f"{p_value(ra - rb):.3f} | {verdict(ci_d)} |")


if __name__ == "__main__":
    main()
