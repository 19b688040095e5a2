"""Run owner: the process id and its start time (``boot_id:ticks``) of the process that runs a run, so a run whose
process is gone reads ``stale`` rather than ``running``; status may also be ``interrupted`` (Ctrl-C, or a stale run
with a checkpoint settled by ``runs sync``). Existing rows get NULL: their owner is unknown.

Revision ID: 0005
Revises: 0004
Create Date: 2025-03-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("pid", sa.Integer()))
    op.add_column("runs", sa.Column("pid_start", sa.String()))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("pid_start")
        batch.drop_column("pid")
