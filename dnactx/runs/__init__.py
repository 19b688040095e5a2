"""Run folders, the source of truth: one folder per run (config, status, metrics, artifacts), standard library only.

A trainer on a node without the registry's packages still writes complete run folders; ``dnactx.registry``
indexes them in SQLite wherever those packages are installed.
"""

from .config import RunConfig, read_run_config, run_config, run_family, run_target
from .folder import ENDED, STATUSES, ReplicaFolder, RunFolder, default_home, folder_for_this_process, iter_run_folders
from .ids import is_run_id, new_run_id
from .liveness import MISSING, STALE, is_stale

__all__ = [
    "ENDED",
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
    "iter_run_folders",
    "new_run_id",
    "read_run_config",
    "run_config",
    "run_family",
    "run_target",
]
