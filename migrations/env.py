"""Alembic environment: dnactx hands over an open connection (no alembic.ini, no URL in a file)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("dnactx migrations run through dnactx.registry.migrate, which passes a connection")

# transactional_ddl: SQLite DDL is transactional, so a migration and its version bump commit together or not at all.
context.configure(connection=connection, target_metadata=None, transactional_ddl=True, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
