"""Run kind: train (a methylation model) or pretrain (a masked DNA language model, ``dnactx pretrain``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN is native in SQLite; every run before this revision trained a methylation model.
    op.add_column("runs", sa.Column("kind", sa.String()))
    op.execute("UPDATE runs SET kind = COALESCE(json_extract(config, '$.kind'), 'train')")
    op.create_index("ix_runs_kind", "runs", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_runs_kind", "runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("kind")
