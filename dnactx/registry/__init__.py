"""The run registry: run folders (the source of truth) indexed in ``<home>/registry.sqlite``.

Run folders need only the standard library: on a node without SQLModel and Alembic a trainer still writes complete
run folders, and ``dnactx runs sync`` indexes them wherever those packages are installed.
"""

from .folder import RunFolder, default_home, iter_run_folders
from .ids import is_run_id, new_run_id

try:  # the index needs SQLModel and Alembic; without them `from dnactx.registry import Registry` is an ImportError
    from .store import Registry
    from .sync import SyncReport, rebuild, record_run, rows_from_folder, sync
except ImportError:  # pragma: no cover - exercised on machines without the registry's packages
    pass

__all__ = [
    "Registry",
    "RunFolder",
    "SyncReport",
    "default_home",
    "is_run_id",
    "iter_run_folders",
    "new_run_id",
    "rebuild",
    "record_run",
    "rows_from_folder",
    "sync",
]
