"""In-silico mutagenesis: every position of each site's model input changed to every other base, scored in batches.

Each site's cut input (``recipe.cut(windows)``, 5'→3' on the site's strand, the C at ``recipe.center``) gives one
mutant per position and base that differs from the reference there (3 per A/C/G/T position, 4 at an N: a 401-bp
input is 1,203 rows with its reference). All mutants of a chunk of sites go through ``Scorer.logits`` at once, so
there is no Python loop per mutant; sites are chunked so that at most ``chunk_rows`` mutants are in memory.

The site context is a separate model input (an ``up`` cut does not contain the bases that decide it). A mutant is
scored with the context the model would see for its sequence: where the mutation hits the base 1 or 2 bp after the C
and the cut contains that base (``both``/``down`` cuts), the context is decided again from the mutated trinucleotide
(CG → CHG when the G after a CG changes; prepare's own rule, ``prepare.sites.context_codes``); everywhere else, and
wherever the new trinucleotide is undetermined, the site keeps its own context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..prepare.sites import context_codes

BASES = np.frombuffer(b"ACGT", dtype=np.uint8)  # the columns of every (…, 4) array here


@dataclass
class Mutagenesis:
    """ISM of n sites.

    Attributes
    ----------
    delta : float64 (n, length, 4)
        logit(mutant) − logit(reference) for the base A/C/G/T (columns in that order) at each position of the cut
        input; 0 where the base is the reference's own.
    alternative : bool (n, length, 4)
        True where ``delta`` is a mutant (the base differs from the reference).
    reference : float64 (n,), the logit of each unmutated input.
    inputs : uint8 (n, length), the cut inputs (ASCII).
    center : int, the column of the C in ``inputs``; offsets are ``column - center`` on the site's strand.
    """

    delta: np.ndarray
    alternative: np.ndarray
    reference: np.ndarray
    inputs: np.ndarray
    center: int

    @property
    def offsets(self) -> np.ndarray:
        """int64 (length,): each column's offset from the C, 5'→3' on the site's strand (negative = upstream)."""
        return np.arange(self.inputs.shape[1], dtype=np.int64) - self.center

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


def mutants(inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every single-base substitution of each row of ``inputs`` (uint8 (n, length) ASCII).

    Returns (rows, site, column, base): uint8 (m, length) mutated inputs and, per mutant, its row in ``inputs``,
    the column changed and the new base (0..3 for A/C/G/T). Site-major, then column, then base.
    """
    site, column, base = mutant_index(inputs)
    rows = inputs[site]
    rows[np.arange(site.size), column] = BASES[base]
    return rows, site, column, base


def mutant_index(inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(site, column, base) of every single-base substitution of ``inputs``, in :func:`mutants`' order."""
    n, length = inputs.shape
    site = np.repeat(np.arange(n), 4 * length)
    column = np.tile(np.repeat(np.arange(length), 4), n)
    base = np.tile(np.arange(4), n * length)
    keep = inputs[site, column] != BASES[base]
    return site[keep], column[keep], base[keep]


def mutant_contexts(context_id: np.ndarray, trinuc: np.ndarray | None, site: np.ndarray, offset: np.ndarray,
                    base: np.ndarray) -> np.ndarray:
    """The site context of each mutant (see the module docstring).

    ``context_id`` (n,) and ``trinuc`` (n, 3) ASCII (the C and the 2 bases after it, on the site's strand) per site,
    or ``trinuc`` None to keep every site's context; ``site``, ``offset`` (from the C) and ``base`` per mutant.
    """
    out = np.asarray(context_id, dtype=np.int64)[site]
    if trinuc is None:
        return out
    hit = (offset == 1) | (offset == 2)
    if not hit.any():
        return out
    tri = np.array(trinuc[site[hit]], dtype=np.uint8)
    tri[np.arange(tri.shape[0]), offset[hit]] = BASES[base[hit]]
    decided = context_codes(tri).astype(np.int64)
    out[hit] = np.where(decided >= 0, decided, out[hit])
    return out


METHODS = ("fast", "plain")


def fast_family(scorer) -> bool:
    """True where ``ism(method="fast")`` computes mutants by difference (lr, cnn); others score every mutant."""
    from ..inference.scorer import LrScorer, TorchScorer
    from ..models.cnn import CNN

    return isinstance(scorer, LrScorer) or (isinstance(scorer, TorchScorer) and isinstance(scorer.model, CNN))


def ism(scorer, inputs: np.ndarray, context_id: np.ndarray | None, trinuc: np.ndarray | None = None, *,
        chunk_rows: int = 1 << 16, progress: Callable[[int, int], None] | None = None,
        method: str = "fast") -> Mutagenesis:
    """Mutagenesis of every site: ``Scorer.logits`` of all mutants, chunk by chunk of sites.

    Parameters
    ----------
    scorer : dnactx.inference.Scorer
    inputs : uint8 (n, recipe.length), cut inputs (``recipe.cut(windows)``)
    context_id : int (n,), 0 CG / 1 CHG / 2 CHH (None for a model without site context)
    trinuc : uint8 (n, 3) or None, each site's C and the two bases after it (``windows[:, c:c + 3]``), to decide
        the context of mutants that change them; None keeps each site's context for all its mutants
    chunk_rows : mutants scored per call (sites are chunked to about this many rows)
    progress : called with (sites done, sites) after each chunk
    method : ``fast``: where :func:`fast_family`, each mutant by difference from its site (lr: explain/fast_lr.py,
        equal to ``plain`` to ~1e-12; cnn: explain/fast_cnn.py, only the receptive field of the changed base
        recomputed, float32, equal to ~1e-5); ``plain``: every mutant scored through the scorer
    """
    inputs = np.ascontiguousarray(inputs, dtype=np.uint8)
    n, length = inputs.shape
    center = scorer.recipe.center
    ctx = None if context_id is None or not scorer.recipe.site_context else np.asarray(context_id, dtype=np.int64)
    delta = np.zeros((n, length, 4), dtype=np.float64)
    reference = scorer.logits(inputs, ctx)
    per_chunk = max(1, chunk_rows // (3 * length))
    fast = method == "fast" and fast_family(scorer)
    if fast and scorer.recipe.family == "cnn":
        from ..tokenize import base_codes
        from .fast_cnn import CnnDeltas

        deltas = CnnDeltas(scorer.model, scorer.device)
    if fast and scorer.recipe.family == "lr":
        _fast_lr(scorer, inputs, ctx, trinuc, delta, max(1, per_chunk // 8), progress)
        alternative = inputs[:, :, None] != BASES[None, None, :]
        delta[~alternative] = 0.0
        return Mutagenesis(delta=delta, alternative=alternative, reference=reference, inputs=inputs, center=center)
    for start in range(0, n, per_chunk):
        stop = min(n, start + per_chunk)
        if fast:
            site, column, base = mutant_index(inputs[start:stop])
        else:
            rows, site, column, base = mutants(inputs[start:stop])
        mutant_ctx = None
        if ctx is not None:
            tri = None if trinuc is None else trinuc[start:stop]
            mutant_ctx = mutant_contexts(ctx[start:stop], tri, site, column - center, base)
        if fast:
            delta[start + site, column, base] = deltas.deltas(base_codes(inputs[start:stop]), site, column, base,
                                                              None if ctx is None else ctx[start:stop], mutant_ctx)
        else:
            delta[start + site, column, base] = scorer.logits(rows, mutant_ctx) - reference[start + site]
        if progress is not None:
            progress(stop, n)
    alternative = inputs[:, :, None] != BASES[None, None, :]
    return Mutagenesis(delta=delta, alternative=alternative, reference=reference, inputs=inputs, center=center)


def _fast_lr(scorer, inputs: np.ndarray, ctx: np.ndarray | None, trinuc: np.ndarray | None, delta: np.ndarray,
             per_chunk: int, progress: Callable[[int, int], None] | None) -> None:
    from .fast_lr import lr_deltas

    n, length = inputs.shape
    center = scorer.recipe.center
    for start in range(0, n, per_chunk):
        stop = min(n, start + per_chunk)
        mutant_ctx, site_ctx = None, None
        if ctx is not None:
            m = stop - start
            site = np.repeat(np.arange(m), 4 * length)
            column = np.tile(np.repeat(np.arange(length), 4), m)
            base = np.tile(np.arange(4), m * length)
            tri = None if trinuc is None else trinuc[start:stop]
            site_ctx = ctx[start:stop]
            mutant_ctx = mutant_contexts(site_ctx, tri, site, column - center, base).reshape(m, length, 4)
        delta[start:stop] = lr_deltas(scorer, inputs[start:stop], site_ctx, mutant_ctx)
        if progress is not None:
            progress(stop, n)
