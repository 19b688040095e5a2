"""Chromosome names across files: how two spellings of one chromosome (``Chr1``, ``chr1``, ``1``, ``chromosome_01``)
are recognised, so a message can suggest the ``--chrom-alias`` that fixes a mismatch."""

from __future__ import annotations

import re


def _norm(name: str) -> str:
    return re.sub(r"^(chromosome|chrom|chr)_?", "", name.lower()).lstrip("0") or "0"


def alias_hint(unknown: list[str], fasta: list[str]) -> str:
    """`` (try --chrom-alias Chr1=chr1 ...)`` when names differ only by case, a chr prefix or zeros."""
    by_norm = {_norm(f): f for f in fasta}
    pairs = [f"--chrom-alias {u}={by_norm[_norm(u)]}" for u in unknown if _norm(u) in by_norm][:4]
    return f" (try {' '.join(pairs)})" if pairs else ""
