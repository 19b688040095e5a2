"""Run folders, the source of truth: one folder per run (config, status, metrics, artifacts), standard library only.

A trainer on a node without the registry's packages still writes complete run folders; ``dnactx.registry``
indexes them in SQLite wherever those packages are installed.
"""

from .config import KINDS, RunConfig, read_run_config, run_config, run_family, run_kind, run_target
from .folder import ENDED, STATUSES, ReplicaFolder, RunFolder, default_home, folder_for_this_process, iter_run_folders
from .ids import is_run_id, new_run_id
from .lineage import lineage_line, pretrain_lineage
from .liveness import MISSING, STALE, is_stale

__all__ = [
    "ENDED",
    "KINDS",
    "MISSING",
    "STALE",
    "STATUSES",
    "is_stale",
    "ReplicaFolder",
    "RunConfig",
    "RunFolder",
    "default_home",
    "folder_for_this_process",
    "is_run_id",
    "lineage_line",
    "pretrain_lineage",
    "iter_run_folders",
    "new_run_id",
    "read_run_config",
    "run_config",
    "run_family",
    "run_kind",
    "run_target",
]
