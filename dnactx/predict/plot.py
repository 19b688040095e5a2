"""A PNG of observed and predicted methylation along the first stretch of the scored region, one panel per context."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..atomic import atomic_path
from ..choices import CONTEXTS
from .evaluate import binned

PLOT_BP = 100_000
PLOT_BIN_BP = 1_000
_COLOURS = {"CG": "tab:red", "CHG": "tab:blue", "CHH": "tab:green"}


def tracks_png(path: Path, chrom: str, sites: dict[str, np.ndarray], title: str) -> Path:
    """Observed mean methylation level (black) and mean predicted P(methylated) (colour) of the labelled sites in
    1 kb bins, over the predictions of every site (dots), along ``chrom`` for each context present.

    ``sites``: pos (1-based), context (0/1/2), prob, level and labelled (bool) of the sites shown."""
    present = [i for i in range(len(CONTEXTS)) if (sites["context"] == i).any()]
    fig = Figure(figsize=(11, 1.0 + 1.9 * max(len(present), 1)), dpi=100)
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(max(len(present), 1), 1, k + 1) for k in range(max(len(present), 1))]
    for ax, i in zip(axes, present, strict=False):
        _panel(ax, CONTEXTS[i], {k: v[sites["context"] == i] for k, v in sites.items()})
    if sites["pos"].size:
        lo, hi = int(sites["pos"].min()), int(sites["pos"].max())
        axes[-1].set_xlabel(f"{chrom} position (kb), {lo:,}–{hi:,}")
    axes[0].set_title(title, fontsize=10, loc="left")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def _panel(ax, context: str, s: dict[str, np.ndarray]) -> None:
    colour = _COLOURS[context]
    ax.scatter(s["pos"] / 1000, s["prob"], s=2, color=colour, alpha=0.3, linewidths=0, label="predicted, each site")
    labelled = s["labelled"]
    if labelled.any():
        zeros = np.zeros(int(labelled.sum()), dtype=np.int64)
        bins, _, observed, predicted = binned(zeros, s["pos"][labelled], [s["level"][labelled], s["prob"][labelled]],
                                              PLOT_BIN_BP)
        x = (bins * PLOT_BIN_BP + PLOT_BIN_BP / 2) / 1000
        ax.plot(x, observed, color="black", linewidth=1.2, marker=".", markersize=3,
                label=f"observed mean level ({PLOT_BIN_BP // 1000} kb)")
        ax.plot(x, predicted, color=colour, linewidth=1.2, marker=".", markersize=3,
                label=f"predicted mean ({PLOT_BIN_BP // 1000} kb, same sites)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel(context)
    ax.legend(loc="upper right", fontsize=7, ncol=3, frameon=False)
