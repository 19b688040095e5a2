"""Genome-wide prediction with a trained model (``dnactx predict``): every cytosine of a genome or of BED regions
scored with the run's own recipe, chromosome by chromosome (resumable part files), merged into predictions.parquet,
bedGraph and bigWig tracks per context and predict.json; with ``--calls``, an evaluation against the measured
methylation, labelled exactly as ``prepare`` labels it, recorded in the registry with the run.

Modules: ``regions`` (what to score), ``sites`` (cytosines of a stretch, output rows), ``score`` (sites → P, shared
among launched processes), ``calls`` (prepare's reading and labelling of calls), ``state`` (the --out folder:
parts, identity, lock), ``merge``/``tracks``/``plot``/``evaluate``/``outputs`` (the final files), ``record`` (the
registry), ``run`` (end to end).
"""

from .options import PredictOptions
from .run import predict_genome

__all__ = ["PredictOptions", "predict_genome"]
