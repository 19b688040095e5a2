"""The explanation's figures: the positional profile and the per-context sequence logos (matplotlib Agg, logomaker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..atomic import atomic_path

_COLOURS = {"all": "black", "CG": "tab:blue", "CHG": "tab:orange", "CHH": "tab:green"}


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def profile_plot(profile: pd.DataFrame, title: str, path: Path, radius: int | None = None) -> Path:
    """Mean |Δlogit| by offset from the C, one line per context (log scale when the peak is > 10× the median), with the
    90%-of-attribution radius shaded."""
    fig = Figure(figsize=(9, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    total = int(profile.loc[profile["context"] == "all", "sites"].iloc[0])
    for name, part in profile.groupby("context", sort=False):
        if name != "all" and int(part["sites"].iloc[0]) == total:
            continue  # one context only: its line is the "all" line
        ax.plot(part["offset"], part["mean_abs_delta"], color=_COLOURS.get(name), linewidth=1.6 if name == "all" else 1,
                label=f"{name} ({int(part['sites'].iloc[0])} sites)")
    if radius is not None:
        ax.axvspan(-radius if profile["offset"].min() < 0 else 0, radius if profile["offset"].max() > 0 else 0,
                   color="grey", alpha=0.12, label=f"90% of attribution: ±{radius} bp")
    values = profile.loc[profile["mean_abs_delta"] > 0, "mean_abs_delta"]
    if len(values) and values.max() / values.median() > 10:  # a peak far above the flanks: show both
        ax.set_yscale("log")
    ax.axvline(0, color="grey", linewidth=0.8, linestyle=":")
    ax.set(xlabel="offset from the C (bp, 5'→3' on its strand; negative = upstream)",
           ylabel="mean |Δ logit| of a substitution", title=title)
    ax.legend(fontsize=8, loc="upper right")
    return _save(fig, path)


def logo_plot(logos: dict[str, pd.DataFrame], title: str, path: Path) -> Path:
    """One sequence logo per context: letter heights = mean attribution of each reference base by offset."""
    import logomaker

    fig = Figure(figsize=(11, 2.4 * max(1, len(logos))), dpi=100)
    FigureCanvasAgg(fig)
    for i, (name, matrix) in enumerate(logos.items(), 1):
        ax = fig.add_subplot(len(logos), 1, i)
        logo = logomaker.Logo(matrix.reset_index(drop=True).astype(float), ax=ax, color_scheme="classic")
        ticks = np.arange(len(matrix))[::5]
        logo.style_spines(visible=False)
        logo.style_spines(spines=["left", "bottom"], visible=True)
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(o) for o in matrix.index.to_numpy()[ticks]])
        ax.set_ylabel(f"{name}\nattribution")
        if i == 1:
            ax.set_title(title)
    ax.set_xlabel("offset from the C (bp, on its strand)")
    return _save(fig, path)
