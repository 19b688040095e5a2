"""Input readers: a reference FASTA one chromosome at a time and methylation call files streamed in chunks."""

from .calls import CallChunk, iter_calls
from .detect import detect_format
from .fasta import FastaGenome
from .formats import FORMATS

__all__ = ["FORMATS", "CallChunk", "FastaGenome", "detect_format", "iter_calls"]
