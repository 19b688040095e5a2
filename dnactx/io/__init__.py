"""Input readers: reference FASTA into memory and methylation call files streamed in chunks."""

from .calls import CallChunk, iter_calls
from .detect import detect_format
from .fasta import Genome, read_fasta
from .formats import FORMATS

__all__ = ["FORMATS", "CallChunk", "Genome", "detect_format", "iter_calls", "read_fasta"]
