"""The run registry: run folders (the source of truth) indexed in ``<home>/registry.sqlite``."""

from .folder import RunFolder, default_home, iter_run_folders
from .ids import is_run_id, new_run_id
from .query import metric_label, metric_value, parse_metric
from .store import Registry
from .sync import SyncReport, rebuild, record_run, rows_from_folder, sync

__all__ = [
    "Registry",
    "RunFolder",
    "SyncReport",
    "default_home",
    "is_run_id",
    "iter_run_folders",
    "metric_label",
    "metric_value",
    "new_run_id",
    "parse_metric",
    "rebuild",
    "record_run",
    "rows_from_folder",
    "sync",
]
