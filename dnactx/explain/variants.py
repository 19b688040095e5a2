"""Variant effects: for each SNV, the change in predicted methylation of every cytosine whose model input it touches.

A cytosine at position p on strand s "sees" a variant at v when the variant's offset o = (v − p) · s (5'→3' on the
cytosine's strand) lies in the run's cut (``up``: −size … 0, ``down``: 0 … size, ``both``: −size … size) or, for a
model with site context, at o = 1 or 2, the bases that decide CG/CHG/CHH. Each variant is applied alone to the
reference. Per cytosine:

- ``scored``: a C on both alleles: p_ref and p_alt, Δp = p_alt − p_ref (each with its own context: ``context`` when
  the variant changes it, e.g. CG → CHG when it hits the G);
- ``lost``: the variant replaces the C itself (p_alt NA); ``new``: it creates a C (p_ref NA).

Probabilities are the scorer's ``probs`` (calibrated when the run carries a calibration). Cytosines whose context is
undetermined (an N within 2 bp) are left out, as prepare leaves them out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DnactxError
from ..inference import chromosome_buffer, genome_windows, load_chromosome
from ..io.fasta import FastaGenome
from ..io.vcf import Snvs
from ..prepare.sites import context_codes
from ..sequence import COMPLEMENT, CONTEXT_CODES
from .names import match_chroms

C, G = ord("C"), ord("G")
COLUMNS = ["variant", "chrom", "pos", "ref", "alt", "site_pos", "site_strand", "offset", "context_ref",
           "context_alt", "p_ref", "p_alt", "delta_p", "status"]


def reach(recipe) -> np.ndarray:
    """Offsets (on the cytosine's strand) of the bases a site's score depends on."""
    lo = -recipe.size if recipe.mode in ("up", "both") else 0
    hi = recipe.size if recipe.mode in ("down", "both") else 0
    offsets = set(range(lo, hi + 1)) | ({1, 2} if recipe.site_context else set())
    return np.array(sorted(offsets), dtype=np.int64)


def variant_reach(recipe) -> str:
    """The reach in words, for variants.json."""
    o = reach(recipe)
    extra = " and +1/+2 (site context)" if recipe.site_context and recipe.mode == "up" else ""
    return f"offsets {int(o.min())}..{int(o.max())} on the cytosine's strand{extra}"


def variant_effects(scorer, genome: FastaGenome, snvs: Snvs, aliases: dict[str, str], where: str, *,
                    chunk_rows: int = 1 << 15) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per (variant, cytosine) in reach (``COLUMNS``), and counts of what was skipped and found."""
    names = match_chroms(snvs.chrom, genome.names, aliases, where)
    counts = {"snvs": len(snvs), "unknown_chromosome": 0, "outside_genome": 0, "scored_variants": 0,
              "variants_without_cytosine": 0}
    mapped = np.array([names.get(c) for c in snvs.chrom], dtype=object)
    counts["unknown_chromosome"] = int(sum(m is None for m in mapped))
    frames = []
    used = [n for n in genome.names if n in set(names.values())]
    buffer = chromosome_buffer(genome, scorer.recipe.window, used)
    for name in used:
        idx = np.flatnonzero(mapped == name)
        inside = snvs.pos[idx] <= genome.length(name)
        counts["outside_genome"] += int((~inside).sum())
        idx = idx[inside]
        chrom = load_chromosome(genome, name, scorer.recipe.window, buffer)
        check_ref(chrom, snvs, idx, name, where)
        per_chunk = max(1, chunk_rows // (2 * reach(scorer.recipe).size))
        for start in range(0, idx.size, per_chunk):
            frames.append(_chunk_effects(scorer, chrom, name, snvs, idx[start:start + per_chunk]))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    counts["scored_variants"] = int(table["variant_key"].nunique()) if len(table) else 0
    counts["variants_without_cytosine"] = len(snvs) - counts["unknown_chromosome"] - counts["outside_genome"] - \
        counts["scored_variants"]
    for status in ("scored", "context", "lost", "new"):
        counts[f"sites_{status}"] = int((table["status"] == status).sum()) if len(table) else 0
    return table.drop(columns=["variant_key"], errors="ignore"), counts


def check_ref(chrom, snvs: Snvs, idx: np.ndarray, name: str, where: str) -> None:
    """Every REF must be the genome's base; the first that is not is one DnactxError (a wrong build, mostly)."""
    genome_base = chrom.seq[chrom.index(snvs.pos[idx])]
    ref = np.frombuffer("".join(snvs.ref[idx]).encode("ascii"), dtype=np.uint8) if idx.size else genome_base
    bad = np.flatnonzero(genome_base != ref)
    if bad.size:
        i = idx[bad[0]]
        raise DnactxError(f"{where} line {snvs.line[i]}: {snvs.chrom[i]}:{snvs.pos[i]} has REF {snvs.ref[i]} but the "
                          f"genome has {chr(genome_base[bad[0]])} there ({bad.size} of {idx.size} variants on {name} "
                          "disagree): the VCF is from another genome build, or its chromosome names map to the wrong "
                          "sequence (--chrom-alias)")


def _candidates(chrom, snvs: Snvs, idx: np.ndarray, offsets: np.ndarray):
    """(variant index, site position, strand, offset) of every cytosine on either allele within reach."""
    length = chrom.seq.size - 2 * chrom.pad
    v = np.repeat(idx, 2 * offsets.size)
    strand = np.tile(np.repeat(np.array([1, -1], dtype=np.int8), offsets.size), idx.size)
    o = np.tile(np.tile(offsets, 2), idx.size)
    p = snvs.pos[v] - o * strand
    ok = (p >= 1) & (p <= length)
    v, strand, o, p = v[ok], strand[ok], o[ok], p[ok]
    want = np.where(strand > 0, C, G).astype(np.uint8)
    ref_base = chrom.seq[chrom.index(p)]
    alt_here = np.frombuffer("".join(snvs.alt[v]).encode("ascii"), dtype=np.uint8) if v.size else ref_base
    alt_base = np.where(o == 0, alt_here, ref_base)
    keep = (ref_base == want) | (alt_base == want)
    return v[keep], p[keep], strand[keep], o[keep], ref_base[keep] == want[keep], alt_base[keep] == want[keep]


def _chunk_effects(scorer, chrom, name: str, snvs: Snvs, idx: np.ndarray) -> pd.DataFrame:
    r = scorer.recipe
    v, p, strand, o, is_c_ref, is_c_alt = _candidates(chrom, snvs, idx, reach(r))
    ref_windows = genome_windows(chrom, p, strand, r.window)
    alt_windows = ref_windows.copy()
    c = r.window // 2
    alt = np.frombuffer("".join(snvs.alt[v]).encode("ascii"), dtype=np.uint8) if v.size else np.zeros(0, np.uint8)
    alt_windows[np.arange(v.size), c + o] = np.where(strand > 0, alt, COMPLEMENT[alt])
    ctx_ref = context_codes(ref_windows[:, c:c + 3]).astype(np.int64)
    ctx_alt = context_codes(alt_windows[:, c:c + 3]).astype(np.int64)
    decided = (~is_c_ref | (ctx_ref >= 0)) & (~is_c_alt | (ctx_alt >= 0))
    p_ref, p_alt = np.full(v.size, np.nan), np.full(v.size, np.nan)
    scored_ref, scored_alt = is_c_ref & decided, is_c_alt & decided
    if scored_ref.any():
        p_ref[scored_ref] = scorer.probs(r.cut(ref_windows[scored_ref]), ctx_ref[scored_ref])
    if scored_alt.any():
        p_alt[scored_alt] = scorer.probs(r.cut(alt_windows[scored_alt]), ctx_alt[scored_alt])
    status = np.where(~is_c_alt, "lost", np.where(~is_c_ref, "new", np.where(ctx_ref != ctx_alt, "context",
                                                                                "scored")))
    names = np.array([*CONTEXT_CODES, "NA"], dtype=object)
    unique, inverse = np.unique(v, return_inverse=True)  # one label per variant, not per cytosine
    labels = np.array([snvs.id[i] if snvs.id[i] != "." else f"{name}:{snvs.pos[i]}:{snvs.ref[i]}>{snvs.alt[i]}"
                       for i in unique], dtype=object)
    variant = labels[inverse] if v.size else labels
    frame = pd.DataFrame({
        "variant": variant, "chrom": name, "pos": snvs.pos[v], "ref": snvs.ref[v], "alt": snvs.alt[v],
        "site_pos": p, "site_strand": np.where(strand > 0, "+", "-"), "offset": o,
        "context_ref": names[np.where(is_c_ref, ctx_ref, -1)], "context_alt": names[np.where(is_c_alt, ctx_alt, -1)],
        "p_ref": p_ref, "p_alt": p_alt, "delta_p": p_alt - p_ref, "status": status, "variant_key": v})
    return frame[decided].sort_values(["variant_key", "site_pos", "site_strand"], kind="stable").reset_index(drop=True)


def largest_effects(table: pd.DataFrame, genome_order: list[str]) -> pd.DataFrame:
    """bedGraph rows: per variant position, the Δp of largest magnitude among its cytosines scored on both alleles
    (the alleles of a multi-allelic site pooled: a bedGraph holds one value per base)."""
    both = table[table["status"].isin(["scored", "context"])].copy()
    if both.empty:
        return pd.DataFrame(columns=["chrom", "start", "end", "value"])
    both["magnitude"] = both["delta_p"].abs()
    best = both.sort_values("magnitude", ascending=False, kind="stable").drop_duplicates(["chrom", "pos"])
    rank = {n: i for i, n in enumerate(genome_order)}
    best = best.assign(order=best["chrom"].map(rank)).sort_values(["order", "pos"], kind="stable")
    return pd.DataFrame({"chrom": best["chrom"].to_numpy(), "start": best["pos"].to_numpy() - 1,
                         "end": best["pos"].to_numpy(), "value": best["delta_p"].to_numpy()})


def require_snvs(snvs: Snvs, where: str) -> None:
    if not len(snvs):
        c = snvs.counts
        raise DnactxError(f"{where} holds no SNV ({c.get('records', 0)} records: {c.get('indel', 0)} indels, "
                          f"{c.get('mnp', 0)} MNPs, {c.get('other', 0)} other alleles skipped): nothing to score")
