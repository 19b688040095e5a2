"""What a mutagenesis says, as pure functions of its arrays: positional profile, its summary, logo matrix, k-mers.

Definitions (every figure of ``explain.json`` is one of these):

- **importance** of a position of a site: the mean |Δlogit| over the bases that differ from the reference there.
- **attribution** of a position: minus the mean Δlogit of mutating away from the reference, i.e. logit(reference) −
  mean logit(mutants). Positive: the reference base raises the score (methylation); negative: it lowers it. This is
  the ISM counterpart of gradient × input.
- **profile**: the mean importance over sites by offset from the C (5'→3' on each site's strand; negative =
  upstream), per context (CG/CHG/CHH) and for all sites.
- **shares**: the part of the profile's total (offsets ≠ 0) within ±N bp; the **radius** is the smallest N holding
  90% of it. A model that weighs every position alike (lr's k-mer counts do) has a radius near 0.9 × size, so the
  summary also gives the **flank level** (the median profile beyond half the cut), the part of the total **above**
  it, and the **local span**: the contiguous offsets around the C whose profile is at least twice the flank level.
  Offset 0, the C itself, is in the profile but left out of the shares, the peak and the k-mers: every training
  input has a C there, so what a model does without one is not something it learned.
- **logo**: per context, for offsets within ±20 bp, the mean over sites of one-hot(reference base) × attribution, so
  a column's letters sum to the mean attribution there and each letter's height is what that base contributes
  where it is present.
- **k-mers**: for every k-mer (default 6) of every site's input, the sum of its positions' importance; per distinct
  k-mer, the mean of that sum over its occurrences (``count``; k-mers seen fewer than ``min_count`` times, or than
  the mean count per k-mer when the sites hold fewer k-mers than that, are not ranked) and its mean signed
  attribution.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .mutagenesis import Mutagenesis

CONTEXT_NAMES = ("CG", "CHG", "CHH")
SHARE_RADII = (2, 10, 50)
LOGO_FLANK = 20


def importance(m: Mutagenesis) -> np.ndarray:
    """float64 (n, length): mean |Δlogit| over the alternative bases of each position."""
    return (np.abs(m.delta) * m.alternative).sum(-1) / m.alternative.sum(-1)


def attribution(m: Mutagenesis) -> np.ndarray:
    """float64 (n, length): logit(reference) − mean logit over the alternative bases of each position."""
    return -(m.delta * m.alternative).sum(-1) / m.alternative.sum(-1)


def groups(context_id: np.ndarray | None, n: int) -> dict[str, np.ndarray]:
    """Row masks: ``all`` and each context present among the sites."""
    out = {"all": np.ones(n, dtype=bool)}
    if context_id is not None:
        ctx = np.asarray(context_id)
        out.update({name: ctx == code for code, name in enumerate(CONTEXT_NAMES) if (ctx == code).any()})
    return out


def positional_profile(values: np.ndarray, offsets: np.ndarray, context_id: np.ndarray | None) -> pd.DataFrame:
    """Long table: ``context`` (all, CG, CHG, CHH), ``offset``, ``mean_abs_delta`` (mean of ``values`` (n, length)
    over the context's sites) and ``sites``."""
    frames = []
    for name, rows in groups(context_id, values.shape[0]).items():
        frames.append(pd.DataFrame({"context": name, "offset": offsets, "mean_abs_delta": values[rows].mean(0),
                                    "sites": int(rows.sum())}))
    return pd.concat(frames, ignore_index=True)


def summarize(profile: np.ndarray, offsets: np.ndarray, radii: tuple[int, ...] = SHARE_RADII,
              quantile: float = 0.9) -> dict:
    """Shares within ±N bp, the radius holding ``quantile`` of the total, and the peak (offset 0 left out).

    Returns {"share_within": {"2": …, "10": …, "50": …}, "radius_90": N, "peak_offset": o, "peak": value,
    "total": sum, "at_c": value at offset 0 (None when the cut has no offset 0)}.
    """
    profile, offsets = np.asarray(profile, dtype=np.float64), np.asarray(offsets)
    away = offsets != 0
    weights, distance = profile[away], np.abs(offsets[away])
    total = float(weights.sum())
    at_c = profile[~away]
    out = {"share_within": {}, "radius_90": None, "peak_offset": None, "peak": None, "total": total,
           "at_c": float(at_c[0]) if at_c.size else None}
    if not weights.size or total <= 0:
        return out
    for r in radii:
        if r < distance.max():  # a radius the cut does not exceed would say 100% of nothing
            out["share_within"][str(r)] = float(weights[distance <= r].sum() / total)
    order = np.argsort(distance, kind="stable")
    cumulative = np.cumsum(weights[order]) / total
    out["radius_90"] = int(distance[order][np.searchsorted(cumulative, quantile - 1e-12)])
    peak = int(np.argmax(weights))
    out["peak_offset"], out["peak"] = int(offsets[away][peak]), float(weights[peak])
    out.update(local_span(profile, offsets))
    return out


def local_span(profile: np.ndarray, offsets: np.ndarray, factor: float = 2.0) -> dict:
    """How far the attribution stands out from the flanks: ``flank_level`` (the median profile at |offset| beyond
    half the cut), ``above_flank`` (the part of the total above that level) and ``local_span`` [lo, hi], the
    contiguous offsets around the C whose profile is at least ``factor`` × the flank level (the C itself counts as
    inside). None where the cut is too short to have flanks (< 8 bp a side)."""
    reach = int(np.abs(offsets).max()) if offsets.size else 0
    out = {"flank_level": None, "above_flank": None, "local_span": None}
    far = np.abs(offsets) > reach / 2
    if reach < 8 or not far.any():
        return out
    level = float(np.median(profile[far]))
    away = offsets != 0
    total = profile[away].sum()
    out["flank_level"] = level
    out["above_flank"] = float(np.clip(profile[away] - level, 0, None).sum() / total) if total > 0 else None
    high = (profile >= factor * level) | ~away
    centre = int(np.flatnonzero(~away)[0]) if (~away).any() else int(np.argmin(np.abs(offsets)))
    lo = hi = centre
    while lo > 0 and high[lo - 1]:
        lo -= 1
    while hi < offsets.size - 1 and high[hi + 1]:
        hi += 1
    out["local_span"] = [int(offsets[lo]), int(offsets[hi])]
    return out


def logo_matrix(m: Mutagenesis, attributions: np.ndarray, rows: np.ndarray, flank: int = LOGO_FLANK) -> pd.DataFrame:
    """(offsets within ±flank) × A/C/G/T: mean over ``rows`` of one-hot(reference) × attribution."""
    offsets = m.offsets
    cols = np.flatnonzero(np.abs(offsets) <= flank)
    onehot = m.inputs[rows][:, cols, None] == np.frombuffer(b"ACGT", np.uint8)[None, None, :]
    values = (onehot * attributions[rows][:, cols, None]).mean(0) if rows.any() else np.zeros((cols.size, 4))
    return pd.DataFrame(values, index=pd.Index(offsets[cols], name="offset"), columns=list("ACGT"))


def top_kmers(m: Mutagenesis, importances: np.ndarray, attributions: np.ndarray, *, k: int = 6, top: int = 20,
              min_count: int = 5) -> pd.DataFrame:
    """The k-mers whose mutation moves the score most (see the module docstring), most first.

    Columns: ``kmer``, ``count`` (occurrences), ``sites`` (sites holding it), ``mean_effect`` (mean summed
    importance), ``mean_attribution`` (mean summed attribution) and ``mean_offset`` (mean offset of its centre).
    """
    n, length = m.inputs.shape
    columns = ["kmer", "count", "sites", "mean_effect", "mean_attribution", "mean_offset"]
    if length < k or n == 0:
        return pd.DataFrame(columns=columns)
    codes = np.full(256, 4, dtype=np.int64)
    codes[np.frombuffer(b"ACGT", np.uint8)] = np.arange(4)
    c = codes[m.inputs]
    at_c = m.offsets == 0
    imp = np.where(at_c, 0.0, importances)
    att = np.where(at_c, 0.0, attributions)
    nk = length - k + 1
    ids, bad = np.zeros((n, nk), dtype=np.int64), np.zeros((n, nk), dtype=bool)
    effect, signed = np.zeros((n, nk)), np.zeros((n, nk))
    for j in range(k):
        ids = ids * 4 + (c[:, j:j + nk] & 3)
        bad |= c[:, j:j + nk] > 3
        effect += imp[:, j:j + nk]
        signed += att[:, j:j + nk]
    good = ~bad
    flat = ids[good]
    count = np.bincount(flat, minlength=4**k)
    sums = np.bincount(flat, weights=effect[good], minlength=4**k)
    signed_sums = np.bincount(flat, weights=signed[good], minlength=4**k)
    centre = np.broadcast_to(m.offsets[:nk] + (k - 1) / 2, (n, nk))
    offset_sums = np.bincount(flat, weights=centre[good], minlength=4**k)
    site_ids = np.broadcast_to(np.arange(n)[:, None], (n, nk))[good]
    sites = np.bincount(np.unique(flat * n + site_ids) // n, minlength=4**k)
    floor = max(1, min(min_count, int(count.sum()) // 4**k))  # few sites: fewer occurrences each
    ranked = np.flatnonzero(count >= floor)
    mean = sums[ranked] / count[ranked]
    ranked = ranked[np.argsort(-mean, kind="stable")][:top]
    letters = np.array(list("ACGT"))
    kmers = ["".join(letters[(i // 4 ** np.arange(k - 1, -1, -1)) % 4]) for i in ranked]
    return pd.DataFrame({"kmer": kmers, "count": count[ranked], "sites": sites[ranked],
                         "mean_effect": sums[ranked] / count[ranked],
                         "mean_attribution": signed_sums[ranked] / count[ranked],
                         "mean_offset": offset_sums[ranked] / count[ranked]}, columns=columns)
