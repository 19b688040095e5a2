"""Metaplots (deepTools computeMatrix scale-regions + plotProfile): mean methylation per context across features
scaled to ``bins`` bins, with ``flank`` bp up- and downstream in ``flank_bins`` bins each, oriented 5'→3' on the
feature's strand (minus-strand features flipped). Observed (the calls' level) vs predicted (the model's score).

Each (site, feature) pair counts once: a site in two features' windows adds to both; a bin's value is the mean
over its pairs (site-weighted, pooled over features). Vectorised per chromosome (searchsorted, repeat)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..atomic import atomic_path
from ..errors import DnactxError
from ..io.annotation import Annotation
from ..io.formats import CONTEXTS

REGIONS = ("upstream", "body", "downstream")
COLUMNS = ("context", "region", "bin", "observed", "predicted", "sites")
TSV, PNG = "metaplot.tsv", "metaplot.png"


@dataclass(frozen=True)
class Layout:
    """The scaled axis: ``flank`` bp in ``flank_bins`` bins each side, the feature body in ``bins`` bins."""

    flank: int = 2000
    bins: int = 40
    flank_bins: int | None = None

    def __post_init__(self) -> None:
        if self.bins < 1:
            raise DnactxError(f"--bins must be at least 1, got {self.bins}")
        if self.flank < 0:
            raise DnactxError(f"--flank must be 0 or more bp, got {self.flank}")
        if self.flank_bins is not None and self.flank_bins < 1:
            raise DnactxError(f"--flank-bins must be at least 1, got {self.flank_bins}")

    @property
    def side(self) -> int:
        """Bins per flank: --flank-bins, else bins/2 (0 without a flank)."""
        if not self.flank:
            return 0
        return self.flank_bins if self.flank_bins is not None else max(1, self.bins // 2)


def pair_bins(pos: np.ndarray, starts: np.ndarray, ends: np.ndarray, strands: np.ndarray,
              layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(site index, region code 0/1/2, bin) of every (site, feature) pair with the site inside the feature's window.

    ``pos`` 1-based sorted positions of one chromosome's sites; features 0-based half-open with strand '+'/'-'
    (any other strand reads as '+')."""
    x = np.asarray(pos, dtype=np.int64) - 1
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    lo = np.searchsorted(x, starts - layout.flank, side="left")
    hi = np.searchsorted(x, ends + layout.flank, side="left")
    count = hi - lo
    feature = np.repeat(np.arange(starts.size), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    site = np.repeat(lo, count) + offset
    s, e, xs = starts[feature], ends[feature], x[site]
    minus = np.asarray(strands)[feature] == "-"
    # on the minus strand, mirror so that 5' is left: x → s + e - 1 - x keeps [s, e) in place
    xs = np.where(minus, s + e - 1 - xs, xs)
    side = layout.side
    region = np.where(xs < s, 0, np.where(xs >= e, 2, 1)).astype(np.int8)
    length = np.maximum(e - s, 1)
    flank = max(layout.flank, 1)
    bins = np.select([region == 0, region == 1],
                     [(xs - (s - layout.flank)) * side // flank, (xs - s) * layout.bins // length],
                     (xs - e) * side // flank)
    limit = np.where(region == 1, layout.bins, side) - 1
    return site, region, np.clip(bins, 0, np.maximum(limit, 0))


def profile(sites: pd.DataFrame, features: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    """The metaplot table (:data:`COLUMNS`) from ``sites`` (chrom, pos, context, predicted, observed — NaN where
    a site has no observed level) and ``features`` (chrom, start, end, strand)."""
    parts = []
    for chrom, here in sites.groupby("chrom", sort=False, observed=True):
        mine = features[features["chrom"] == chrom]
        if mine.empty:
            continue
        here = here.sort_values("pos", kind="stable")
        site, region, bins = pair_bins(here["pos"].to_numpy(), mine["start"].to_numpy(), mine["end"].to_numpy(),
                                       mine["strand"].to_numpy().astype(str), layout)
        parts.append(pd.DataFrame({"context": here["context"].to_numpy()[site], "region": region, "bin": bins,
                                   "observed": here["observed"].to_numpy()[site],
                                   "predicted": here["predicted"].to_numpy()[site]}))
    grid = _grid(layout)
    if not parts:
        return grid
    pairs = pd.concat(parts, ignore_index=True)
    grouped = pairs.groupby(["context", "region", "bin"], observed=True)
    table = grouped.agg(observed=("observed", "mean"), predicted=("predicted", "mean"),
                        sites=("predicted", "size")).reset_index()
    table["region"] = np.array(REGIONS)[table["region"].to_numpy()]
    out = grid.drop(columns=["observed", "predicted", "sites"]).merge(table, on=["context", "region", "bin"],
                                                                      how="left")
    out["sites"] = out["sites"].fillna(0).astype(np.int64)
    return out[list(COLUMNS)]


def _grid(layout: Layout) -> pd.DataFrame:
    """Every (context, region, bin) row in plot order, empty."""
    rows = [(c, r, b) for c in CONTEXTS for r, n in zip(REGIONS, (layout.side, layout.bins, layout.side), strict=True)
            for b in range(n)]
    grid = pd.DataFrame(rows, columns=["context", "region", "bin"])
    grid["observed"], grid["predicted"], grid["sites"] = np.nan, np.nan, 0
    return grid


def predict_sites(folder: Path) -> tuple[pd.DataFrame, bool]:
    """(sites, with_calls) from a predict folder's predictions.parquet: observed is the calls' level where prepare
    would label the site (coverage and filters), NaN elsewhere; predicted the model's score."""
    path = Path(folder) / "predictions.parquet"
    if not path.is_file():
        raise DnactxError(f"{folder} holds no predictions.parquet; give a folder written by `dnactx predict`")
    names = pq.read_schema(path).names
    with_calls = "label" in names
    table = pq.read_table(path, columns=["chrom", "pos", "context", "prob", *(("level", "label") if with_calls
                                                                            else ())]).to_pandas()
    observed = np.full(len(table), np.nan)
    if with_calls:
        keep = table["label"].notna().to_numpy()
        observed[keep] = table["level"].to_numpy(dtype=float, na_value=np.nan)[keep]
        # with calls, predicted is averaged over the same sites as observed, so the two lines compare like for like
        table = table[keep]
        observed = observed[keep]
    sites = pd.DataFrame({"chrom": table["chrom"].astype(str).to_numpy(), "pos": table["pos"].to_numpy(),
                          "context": table["context"].astype(str).to_numpy(),
                          "predicted": table["prob"].to_numpy(dtype=float), "observed": observed})
    return sites, with_calls


def write_metaplot(out: Path, table: pd.DataFrame, layout: Layout, *, title: str, observed: bool) -> None:
    """metaplot.tsv (the exact :data:`COLUMNS`) and metaplot.png (one panel per context) into ``out``, each whole."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DnactxError(f"--out {out} is a file; give a folder for metaplot.png and metaplot.tsv")
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / TSV) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="NA")
    with atomic_path(out / PNG) as tmp:
        _png(tmp, table, layout, title, observed)


def _png(path: Path, table: pd.DataFrame, layout: Layout, title: str, observed: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    side = layout.side
    offset = {"upstream": 0, "body": side, "downstream": side + layout.bins}
    fig, axes = plt.subplots(1, len(CONTEXTS), figsize=(4.2 * len(CONTEXTS), 3.4), sharex=True)
    for ax, context in zip(np.atleast_1d(axes), CONTEXTS, strict=True):
        part = table[table["context"] == context]
        x = np.array([offset[r] + b + 0.5 for r, b in zip(part["region"], part["bin"], strict=True)])
        if observed:
            ax.plot(x, part["observed"], color="black", label="observed (mean level)")
        ax.plot(x, part["predicted"], color="tab:orange", label="predicted (mean score)")
        for edge in (side, side + layout.bins):
            ax.axvline(edge, color="grey", lw=0.6, ls=":")
        ticks = [0, side, side + layout.bins, 2 * side + layout.bins] if side else [0, layout.bins]
        labels = [f"-{layout.flank / 1000:g} kb", "5′ end", "3′ end", f"+{layout.flank / 1000:g} kb"] if side \
            else ["5′ end", "3′ end"]
        ax.set_xticks(ticks, labels)
        ax.set_title(f"{context} ({int(part['sites'].sum()):,} site-feature pairs)", fontsize=9)
        ax.set_ylim(bottom=0)
    np.atleast_1d(axes)[0].set_ylabel("mean methylation")
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def metaplot_folder(folder: Path, annotation: Path, out: Path, *, feature: str = "gene", layout: Layout = Layout(),
                    chrom_alias: dict[str, str] | None = None, parsed: Annotation | None = None,
                    label: str | None = None) -> dict:
    """metaplot.tsv and metaplot.png of a predict folder's sites across ``feature`` spans of ``annotation``; return
    {"out", "features", "sites", "observed"}."""
    from ..io.annotation import read_annotation

    sites, with_calls = predict_sites(folder)
    chroms = list(dict.fromkeys(sites["chrom"].tolist()))
    if not chroms:
        raise DnactxError(f"{folder}'s predictions hold no site{' with a call' if with_calls else ''}: nothing to "
                          "plot")
    parsed = parsed or read_annotation(annotation, chroms, chrom_alias=chrom_alias)
    spans = parsed.spans(feature)
    spans = spans[spans["chrom"].isin(chroms)]
    if spans.empty:
        raise DnactxError(f"--annotation {annotation} has no {feature} on the predicted chromosomes "
                          f"({', '.join(chroms[:5])}); check --chrom-alias or --feature")
    table = profile(sites, spans, layout)
    what = "observed vs predicted" if with_calls else "predicted"
    write_metaplot(out, table, layout, observed=with_calls,
                   title=f"{what} methylation across {len(spans):,} {feature} features (scaled, "
                         f"±{layout.flank:,} bp; {label or Path(folder).name})")
    return {"out": str(out), "features": int(len(spans)), "sites": int(len(sites)), "observed": with_calls}
