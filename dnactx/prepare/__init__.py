"""Build the model-ready dataset (dataset.parquet + prepare.json) from a reference FASTA and a call file."""

from .options import PrepareOptions, parse_aliases
from .pipeline import SCHEMA, prepare_dataset

__all__ = ["SCHEMA", "PrepareOptions", "parse_aliases", "prepare_dataset"]
