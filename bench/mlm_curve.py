"""Plot a ``dnactx pretrain`` run's MLM curve (held-out masked accuracy and loss vs step) from pretrain_log.jsonl.

Prints the curve as a markdown table and writes a small PNG.
Usage: python bench/mlm_curve.py PRETRAIN_DIR [PRETRAIN_DIR ...] --png bench/mlm_curve.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# bench/tokenize.py would shadow the standard library's ``tokenize`` (imported by matplotlib via inspect).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_log(folder: Path) -> list[dict]:
    """The evaluations of one pretrain, in step order."""
    rows = [json.loads(line) for line in (folder / "pretrain_log.jsonl").read_text().splitlines() if line.strip()]
    return sorted(rows, key=lambda r: r["step"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--png", type=Path, required=True)
    args = ap.parse_args()
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(8, 3), dpi=90)
    for folder in args.folders:
        rows = read_log(folder)
        print(f"\n{folder.name}\n\n| step | tokens | train loss | held-out loss | held-out masked acc | "
              "C/G-centred acc | A/T-centred acc | repeat acc | unique acc |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['step']:,} | {r['tokens']:,} | {r['train_loss']:.3f} | {r['heldout_loss']:.3f} | "
                  f"{r['heldout_accuracy']:.2%} | {r['heldout_accuracy_gc']:.2%} | {r['heldout_accuracy_at']:.2%} | "
                  f"{r['heldout_accuracy_repeat']:.2%} | {r['heldout_accuracy_unique']:.2%} |")
        steps = [r["step"] for r in rows]
        ax_acc.plot(steps, [100 * r["heldout_accuracy"] for r in rows], marker="o", label=folder.name)
        ax_loss.plot(steps, [r["heldout_loss"] for r in rows], marker="o", label=folder.name)
    ax_acc.axhline(100 / 4096, color="grey", ls=":", label="chance (1/4,096)")
    ax_acc.set(xlabel="step", ylabel="held-out masked acc (%)")
    ax_loss.set(xlabel="step", ylabel="held-out loss")
    ax_acc.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.png)
    print(f"\nwrote {args.png} ({args.png.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
