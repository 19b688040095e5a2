"""Datasets table, run provenance columns (cell, window, device, dnactx version), indexes for reports.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("fingerprint", sa.String(), primary_key=True),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("recorded", sa.String()),
    )
    # ADD COLUMN is native in SQLite: no table copy, existing rows get NULL.
    op.add_column("runs", sa.Column("cell", sa.JSON()))
    op.add_column("runs", sa.Column("window", sa.Integer()))
    op.add_column("runs", sa.Column("device", sa.String()))
    op.add_column("runs", sa.Column("dnactx_version", sa.String()))
    # Backfill from the JSON the runs already carry.
    op.execute("UPDATE runs SET dnactx_version = json_extract(versions, '$.dnactx') WHERE versions IS NOT NULL")
    op.execute("UPDATE runs SET window = json_extract(config, '$.window'), device = json_extract(config, '$.device'),"
               " cell = json_extract(config, '$.cell')")
    op.create_index("ix_runs_model", "runs", ["model"])
    op.create_index("ix_runs_dataset_fingerprint", "runs", ["dataset_fingerprint"])
    op.create_index("ix_metrics_split_context_name", "metrics", ["split", "context", "name"])


def downgrade() -> None:
    op.drop_index("ix_metrics_split_context_name", "metrics")
    op.drop_index("ix_runs_dataset_fingerprint", "runs")
    op.drop_index("ix_runs_model", "runs")
    with op.batch_alter_table("runs") as batch:
        for column in ("dnactx_version", "device", "window", "cell"):
            batch.drop_column(column)
    op.drop_table("datasets")
