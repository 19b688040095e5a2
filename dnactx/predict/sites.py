"""The cytosines of a chromosome stretch (a C on +, a G on −) in the wanted contexts, and the rows predict writes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..choices import CONTEXTS
from ..inference import genome_contexts
from ..io.annotation import FEATURES
from ..prepare.windows import Stranded
from .regions import Target

SEGMENT_BP = 1 << 20  # bases of a chromosome turned into sites at a time: ~400k sites, bounded memory
C, G = ord("C"), ord("G")
_STRANDS = pa.array(["-", "+"])
_CONTEXTS = pa.array(list(CONTEXTS))
_FEATURES = pa.array(list(FEATURES))
LABEL_COLUMNS = ("mc", "cov", "level", "label")


def schema(with_calls: bool, annotated: bool = False) -> pa.Schema:
    """predictions.parquet: chrom, pos (1-based), strand, context, prob; with --calls also mc, cov, level, label
    (null where the site has no call with coverage; label null where prepare would make no dataset row); with
    --annotation also feature (the site's genomic feature class, as prepare --annotation)."""
    fields = [("chrom", pa.string()), ("pos", pa.int64()), ("strand", pa.string()), ("context", pa.string()),
              ("prob", pa.float32())]
    if with_calls:
        fields += [("mc", pa.int32()), ("cov", pa.int32()), ("level", pa.float32()), ("label", pa.int8())]
    if annotated:
        fields.append(("feature", pa.string()))
    return pa.schema(fields)


def segments(target: Target, size: int = SEGMENT_BP) -> Iterator[tuple[int, int]]:
    """(start, end), 0-based half-open, covering the target's intervals in order, each at most ``size`` bp."""
    for start, end in target.intervals.tolist():
        for s in range(start, end, size):
            yield s, min(s + size, end)


def cytosines(chrom: Stranded, start: int, end: int, contexts: Sequence[str]) -> tuple[np.ndarray, ...]:
    """(pos 1-based int64, strand int8 +1/-1, context int8 0 CG/1 CHG/2 CHH) of every site in [start, end):
    a C on + or a G on − whose context the genome decides (prepare skips the others) and is in ``contexts``;
    sorted by position (a position holds at most one site)."""
    seq = chrom.seq[chrom.pad + start:chrom.pad + end]
    hit = np.flatnonzero((seq == C) | (seq == G))
    pos = hit.astype(np.int64) + start + 1
    strand = np.where(seq[hit] == C, 1, -1).astype(np.int8)
    ctx = genome_contexts(chrom, pos, strand)
    wanted = np.array([c in contexts for c in CONTEXTS] + [False])  # index -1: undetermined
    keep = wanted[ctx]
    return pos[keep], strand[keep], ctx[keep]


def site_table(name: str, pos: np.ndarray, strand: np.ndarray, ctx: np.ndarray, prob: np.ndarray,
               calls: dict[str, np.ndarray] | None, feature: np.ndarray | None = None) -> pa.Table:
    """One stretch's rows with :func:`schema`'s columns; ``calls`` holds mc, cov, level, label and ``found``
    (the site has a call with coverage) and ``labelled`` (prepare keeps it) masks."""
    n = pos.size
    columns = [pc.take(pa.array([name]), pa.array(np.zeros(n, dtype=np.int64))), pa.array(pos, pa.int64()),
               pc.take(_STRANDS, pa.array((strand > 0).astype(np.int64))),
               pc.take(_CONTEXTS, pa.array(ctx.astype(np.int64))), pa.array(prob.astype(np.float32))]
    if calls is not None:
        found, labelled = ~calls["found"], ~calls["labelled"]
        columns += [pa.array(calls["mc"].astype(np.int32), mask=found),
                    pa.array(calls["cov"].astype(np.int32), mask=found),
                    pa.array(calls["level"].astype(np.float32), mask=found),
                    pa.array(calls["label"].astype(np.int8), mask=labelled)]
    if feature is not None:  # codes into FEATURES
        columns.append(pc.take(_FEATURES, pa.array(feature.astype(np.int64))))
    return pa.Table.from_arrays(columns, schema=schema(calls is not None, feature is not None))
