"""Bring a registry file to the newest schema with Alembic, safely when many processes open it at once.

Alembic is configured in code (no alembic.ini): the scripts are the package ``dnactx.migrations``. An
exclusive ``flock`` on ``<home>/.registry.lock`` serialises upgraders; inside it the revision is read again,
and the upgrade itself runs in one ``BEGIN IMMEDIATE`` transaction, so even without flock (some network
filesystems) two upgraders cannot both add the same column.
"""

from __future__ import annotations

import contextlib
import importlib.resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine

from ..errors import DnactxError
from ..filelock import file_lock
from .db import set_journal_mode, with_retries

LOCK_FILE = ".registry.lock"


def _script_location() -> str:
    return str(importlib.resources.files("dnactx.migrations"))


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _script_location())
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _known(rev: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(rev) is not None
    except CommandError:
        return False


def home_lock(home: Path) -> contextlib.AbstractContextManager[None]:
    """Exclusive lock on ``<home>/.registry.lock``; where flock is unavailable, carry on without it."""
    return file_lock(Path(home) / LOCK_FILE)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in one write transaction (no-op if already there)."""

    def run() -> None:
        with engine.connect().execution_options(write=True) as conn:
            with conn.begin():
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)

    with_retries(run)


def ensure_schema(engine: Engine, home: Path, path: Path) -> None:
    """Upgrade the registry to head if needed; stop with a clear message if it is newer than this code."""
    head = head_revision()
    if current_revision(engine) == head:
        return
    with home_lock(home):
        rev = current_revision(engine)
        if rev == head:
            return
        if rev is not None and not _known(rev):
            raise DnactxError(f"registry at {path} is schema {rev}, newer than this dnactx ({head}); upgrade dnactx")
        set_journal_mode(engine, home)  # before the upgrade: others are only reading the revision now
        upgrade(engine, "head")
