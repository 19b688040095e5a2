"""Initial registry: runs, metrics, artifacts, matrices.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("name", sa.String()),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("family", sa.String()),
        sa.Column("model", sa.String()),
        sa.Column("size", sa.Integer()),
        sa.Column("mode", sa.String()),
        sa.Column("finetune", sa.String()),
        sa.Column("seed", sa.Integer()),
        sa.Column("data", sa.String()),
        sa.Column("dataset_fingerprint", sa.String()),
        sa.Column("matrix", sa.String()),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("versions", sa.JSON()),
        sa.Column("created", sa.String()),
        sa.Column("started", sa.String()),
        sa.Column("finished", sa.String()),
        sa.Column("host", sa.String()),
        sa.Column("slurm_job_id", sa.String()),
        sa.Column("error", sa.String()),
    )
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_index("ix_runs_matrix", "runs", ["matrix"])
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("split", sa.String(), nullable=False),
        sa.Column("context", sa.String()),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
    )
    op.create_index("ix_metrics_run_id", "metrics", ["run_id"])
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("sha256", sa.String()),
        sa.Column("bytes", sa.Integer()),
    )
    op.create_index("ix_artifacts_run_id", "artifacts", ["run_id"])
    op.create_table(
        "matrices",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False, unique=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created", sa.String()),
    )


def downgrade() -> None:
    for table in ("matrices", "artifacts", "metrics", "runs"):
        op.drop_table(table)
