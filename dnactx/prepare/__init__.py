"""Build the model-ready dataset (dataset.parquet + prepare.json) from a reference FASTA and a call file."""

from .build import SCHEMA
from .labels import LabelRules, parse_aliases
from .options import PrepareOptions, expand_calls
from .pipeline import prepare_dataset

__all__ = ["SCHEMA", "LabelRules", "PrepareOptions", "expand_calls", "parse_aliases", "prepare_dataset"]
