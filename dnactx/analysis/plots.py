"""PNG plots of a diagnosis and a report, drawn with matplotlib's Agg canvas (no display, no pyplot state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from ..atomic import atomic_path
from ..formatting import num, printable
from ..metrics import reliability_curve

_COLOURS = {"val": "tab:blue", "test": "tab:orange"}


def _figure(width: float = 5.0, height: float = 4.0) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def reliability(splits: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, bins: int = 10) -> Path:
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    for name, (y, p) in splits.items():
        curve = reliability_curve(y, p, bins)
        mp, fp = np.asarray(curve["mean_prob"]), np.asarray(curve["frac_pos"])
        keep = ~np.isnan(mp)
        ax.plot(mp[keep], fp[keep], marker="o", color=_COLOURS.get(name), label=name)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability", ylabel="observed positive rate",
           title=f"Reliability ({bins} equal-width bins)")
    ax.legend(loc="upper left")
    return _save(fig, path)


def pr_curve(splits: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> Path:
    fig, ax = _figure()
    for name, (y, p) in splits.items():
        if np.asarray(y).max(initial=0) == 0:
            continue
        precision, recall, _ = precision_recall_curve(y, p)
        ax.step(recall, precision, where="post", color=_COLOURS.get(name), label=name)
        ax.axhline(float(np.mean(y)), color=_COLOURS.get(name), linestyle=":", linewidth=1)
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision",
           title="Precision-recall (dotted: base rate)")
    ax.legend(loc="upper right")
    return _save(fig, path)


def _shown(text: str) -> str:
    """A user's name as a plot label: control characters written out, ``$`` kept from starting matplotlib maths."""
    return printable(text).replace("$", "\\$")


def pr_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, *, title: str) -> Path:
    """Precision-recall of several runs on the same sites (one line each), with the base rate dotted."""
    fig, ax = _figure(6.0, 4.6)
    base = None
    for (name, (y, p)), colour in zip(curves.items(), ("tab:blue", "tab:orange", "tab:green", "tab:red"),
                                      strict=False):
        if np.asarray(y).max(initial=0) == 0:
            continue
        precision, recall, _ = precision_recall_curve(y, p)
        ax.step(recall, precision, where="post", color=colour, label=_shown(name))
        base = float(np.mean(y))
    if base is not None:
        ax.axhline(base, color="grey", linestyle=":", linewidth=1, label=f"base rate {base:.1%}")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=_shown(title))
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


def roc(splits: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> Path:
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    for name, (y, p) in splits.items():
        y = np.asarray(y)
        if y.size == 0 or y.min() == y.max():
            continue
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, color=_COLOURS.get(name), label=name)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend(loc="lower right")
    return _save(fig, path)


def score_hist(splits: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> Path:
    fig = Figure(figsize=(5.0 * max(1, len(splits)), 4.0), dpi=100)
    FigureCanvasAgg(fig)
    edges = np.linspace(0, 1, 51)
    for i, (name, (y, p)) in enumerate(splits.items(), 1):
        ax = fig.add_subplot(1, max(1, len(splits)), i)
        y, p = np.asarray(y).astype(bool), np.asarray(p, dtype=float)
        for mask, label, colour in ((~y, "negatives", "tab:grey"), (y, "positives", "tab:red")):
            if mask.any():
                ax.hist(p[mask], bins=edges, density=True, alpha=0.6, color=colour, label=f"{label} (n {mask.sum()})")
        ax.set(xlim=(0, 1), xlabel="predicted probability", ylabel="density", title=f"Scores by class: {name}")
        ax.legend(loc="upper center")
    return _save(fig, path)


def threshold_sweep(sweeps: dict[str, dict], tuned: float, path: Path) -> Path:
    fig, ax = _figure(6.0, 4.6)
    styles = {"f1": "-", "precision": "--", "recall": ":"}
    for name, sweep in sweeps.items():
        for key, style in styles.items():
            ax.plot(sweep["threshold"], sweep[key], linestyle=style, color=_COLOURS.get(name), label=f"{name} {key}")
    ax.axvline(0.5, color="grey", linewidth=1)
    ax.axvline(tuned, color="black", linewidth=1)
    ax.text(tuned, 1.01, f" tuned {tuned:.3g}", fontsize=8, va="bottom")
    ax.set(xlim=(0, 1), ylim=(0, 1.08), xlabel="threshold", ylabel="value", title="Threshold sweep")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=7, ncol=len(sweeps) * 3 // 2 or 1)
    return _save(fig, path)


def heatmap(values: np.ndarray, rows: list, cols: list, path: Path, *, title: str, row_label: str,
            col_label: str) -> Path:
    """A grid of numbers (NaN = no run) with each cell annotated."""
    values = np.asarray(values, dtype=float)
    fig, ax = _figure(max(1.6 * len(cols) + 2.5, 6.0), 0.6 * len(rows) + 2.0)
    masked = np.ma.masked_invalid(values)
    image = ax.imshow(masked, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [str(c) for c in cols])
    ax.set_yticks(range(len(rows)), [str(r) for r in rows])
    ax.set(xlabel=col_label, ylabel=row_label)
    ax.set_title(title, fontsize=10)
    finite = values[np.isfinite(values)]
    middle = float(finite.mean()) if finite.size else 0.0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            ax.text(j, i, num(v, 3), ha="center", va="center", color="black" if v > middle else "white")
    fig.colorbar(image, ax=ax)
    return _save(fig, path)


DIAGNOSIS_PLOTS = ("reliability.png", "pr.png", "roc.png", "score_hist.png", "threshold_sweep.png")


def diagnosis_plots(splits: dict[str, tuple[np.ndarray, np.ndarray]], sweeps: dict[str, dict], tuned: float,
                    out_dir: Path, bins: int = 10) -> list[Path]:
    """reliability.png, pr.png, roc.png, score_hist.png and threshold_sweep.png in ``out_dir``."""
    out_dir = Path(out_dir)
    return [reliability(splits, out_dir / "reliability.png", bins), pr_curve(splits, out_dir / "pr.png"),
            roc(splits, out_dir / "roc.png"), score_hist(splits, out_dir / "score_hist.png"),
            threshold_sweep(sweeps, tuned, out_dir / "threshold_sweep.png")]
