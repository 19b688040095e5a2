"""The run registry: the SQLite index ``<home>/registry.sqlite`` of the run folders (``dnactx.runs``).

The run folders are the source of truth and need only the standard library; the index needs SQLModel and Alembic,
and ``dnactx runs sync`` rebuilds it from the folders wherever those packages are installed.
"""

try:  # the index needs SQLModel and Alembic; without them `from dnactx.registry import Registry` is an ImportError
    from .rows import rows_from_folder
    from .store import Registry, set_rebuilder
    from .sync import SyncReport, rebuild, record_run, sync

    set_rebuilder(rebuild)  # a damaged registry found on opening is rebuilt from the run folders
except ImportError:  # pragma: no cover - exercised on machines without the registry's packages
    pass

__all__ = [
    "Registry",
    "SyncReport",
    "rebuild",
    "record_run",
    "rows_from_folder",
    "sync",
]
