"""Build the model-ready dataset (dataset.parquet + prepare.json) from a reference FASTA and a call file."""

from .build import SCHEMA
from .options import PrepareOptions, expand_calls, parse_aliases
from .pipeline import prepare_dataset

__all__ = ["SCHEMA", "PrepareOptions", "expand_calls", "parse_aliases", "prepare_dataset"]
