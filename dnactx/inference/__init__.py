"""A trained model as a function of windows: its Recipe, a Scorer, windows from a genome, export.

The pieces ``predict`` and ``explain`` build on:

- :class:`Recipe` (``recipe.py``): how a site becomes a model input, as the run was trained: the dataset
  ``window`` (windows are window + 1 bp, the C at window // 2), the ``size``/``mode`` cut (``recipe.cut(windows)``
  → inputs of ``recipe.length`` bp with the C at ``recipe.center``), ``site_context``, and per family the lr
  feature scaling, the CNN widths, or the transformer's tokenizer, ``max_tokens`` and truncation rule; plus an
  optional ``calibration`` (the run's calibration.json). ``to_dict``/``from_dict``; a run folder's recipe and
  weights: ``run_model.py`` (``recipe_of_run``, ``run_weights``).
- :func:`load_scorer` (``load.py``): a run id / unique prefix / run folder / exported folder → :class:`Scorer`
  with ``logits(bases, context_id)`` and ``probs(bases, context_id)`` (float64, batched internally, any number
  of rows; device and ``precision`` no|bf16|fp16 for cnn/transformers). A run without weights is one clear error.
- ``windows.py``: ``chromosome_buffer``, ``load_chromosome``, ``genome_windows`` (prepare's own window cutting:
  N padding at chromosome ends, upper case, reverse complement) and ``genome_contexts``.
- ``export.py``: ``export_model`` writes a folder that loads without dnactx's training code, with a model card.

Scoring sites of a genome (predict), one chromosome at a time::

    from dnactx.inference import load_scorer, chromosome_buffer, load_chromosome, genome_windows, genome_contexts
    scorer = load_scorer("01m8k", home="runs")            # or an exported folder
    r = scorer.recipe
    buffer = chromosome_buffer(genome, r.window)          # genome: dnactx.io.fasta.FastaGenome
    chrom = load_chromosome(genome, "chr1", r.window, buffer)
    windows = genome_windows(chrom, pos, strand, r.window)          # pos 1-based, strand +1/-1
    p = scorer.probs(r.cut(windows), genome_contexts(chrom, pos, strand))

In-silico mutagenesis (explain): mutate the window (or the cut) before scoring; the scorer tokenises what it is
given, so any A/C/G/T rows of ``r.length`` bp score, and the C sits at ``r.center`` of each. One site, every
position × every base, in one call (rows are scored independently, in batches of ``scorer.batch_size``)::

    x = r.cut(windows[:1])[0]                                    # (L,) uint8
    L = r.length
    mutants = np.repeat(x[None], 4 * L, axis=0)
    mutants[np.arange(4 * L), np.repeat(np.arange(L), 4)] = np.tile(np.frombuffer(b"ACGT", np.uint8), L)
    ctx = np.full(4 * L, context_id[0])
    delta = (scorer.logits(mutants, ctx) - scorer.logits(x[None], ctx[:1])).reshape(L, 4)  # 0 at the reference

``recipe.calibration`` (a run's calibration.json, see ``calibration.py``) is applied by ``probs`` only.
"""

from .calibration import CALIBRATION_FILE, Calibration, read_calibration
from .load import ModelRef, load_scorer, locate_model
from .manifest import MANIFEST
from .recipe import Recipe
from .run_model import recipe_of_run, run_weights
from .scorer import LrScorer, Scorer, TorchScorer
from .windows import chromosome_buffer, genome_contexts, genome_windows, load_chromosome

__all__ = [
    "CALIBRATION_FILE",
    "Calibration",
    "LrScorer",
    "MANIFEST",
    "ModelRef",
    "Recipe",
    "Scorer",
    "TorchScorer",
    "chromosome_buffer",
    "genome_contexts",
    "genome_windows",
    "load_chromosome",
    "recipe_of_run",
    "run_weights",
    "load_scorer",
    "locate_model",
    "read_calibration",
]
