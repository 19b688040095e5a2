"""One `dnactx predict` invocation in flight: what is scored, by which model, into which folder, and how far it got.

Scoring (run.py), the outputs (outputs.py) and the registry record (record.py) all work on a :class:`Job`; it lives
below them so none of the three imports another to name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..inference import Scorer
from ..io.annotation import Annotation
from ..io.fasta import FastaGenome
from ..progress import Progress
from .calls import CallLabels
from .options import PredictOptions
from .regions import Target
from .state import OutFolder


@dataclass
class Job:
    """``options`` applied with ``scorer`` to ``genome`` over ``plan`` into ``folder``; ``identity`` is what the
    folder's predictions must match to be resumed; ``calls``, ``progress``, ``sites_done`` and ``buffer`` change as
    it runs; ``method`` is how the chromosome is scored."""

    options: PredictOptions
    genome: FastaGenome
    scorer: Scorer
    folder: OutFolder
    plan: list[Target]
    identity: dict
    home: Path | None
    calls: CallLabels | None = None
    annotation: Annotation | None = None
    progress: Progress | None = None
    sites_done: int = 0
    buffer: np.ndarray | None = None
    method: str = "windows"  # sliding | windows: how the scorer goes over a chromosome (PredictOptions.scoring_method)
