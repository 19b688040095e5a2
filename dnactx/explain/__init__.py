"""What a trained model looks at: in-silico mutagenesis (ISM), positional profiles, sequence logos, k-mers, and the
predicted effect of SNVs on nearby cytosines.

- ``mutagenesis.py``: :func:`ism` — every single-base substitution of each site's model input, scored in batches
  through :meth:`dnactx.inference.Scorer.logits`; a :class:`Mutagenesis` holds Δlogit (n, length, 4).
- ``profile.py``: importance, attribution, the positional profile and its summary, logo matrix, top k-mers (pure).
- ``sites.py`` / ``bed_sites.py``: which sites (top / positives / random of a split, or a BED file).
- ``variants.py``: Δp of every cytosine within reach of each SNV of a VCF (``io/vcf.py``), lost and new sites.
- ``run.py``: :func:`explain_model` and :func:`explain_variants`, what ``dnactx explain`` runs; ``output.py`` writes
  the files, ``artifact.py`` ties an explanation to its run for ``diagnose`` and ``report``.

In Python::

    from dnactx.inference import load_scorer
    from dnactx.explain import ism, importance
    scorer = load_scorer("01m8k", home="runs")
    r = scorer.recipe                  # windows: uint8 (n, r.window + 1) as dataset.parquet's seq
    c = r.window // 2                  # the C; windows[:, c:c + 3] decides the context of mutants that change it
    m = ism(scorer, r.cut(windows), context_id, windows[:, c:c + 3])
    m.delta            # (n, length, 4) logit(mutant) - logit(reference); m.offsets: column - C, on each strand
    importance(m)      # (n, length) mean |Δlogit| per position
"""

from .artifact import EXPLAIN_FILE, PROFILE_FILE, explanation_summary, read_explanation
from .mutagenesis import Mutagenesis, ism, mutants
from .profile import attribution, importance, positional_profile, summarize, top_kmers
from .run import ExplainOptions, explain_model, explain_variants

__all__ = [
    "EXPLAIN_FILE",
    "PROFILE_FILE",
    "ExplainOptions",
    "Mutagenesis",
    "attribution",
    "explain_model",
    "explain_variants",
    "explanation_summary",
    "importance",
    "ism",
    "mutants",
    "positional_profile",
    "read_explanation",
    "summarize",
    "top_kmers",
]
