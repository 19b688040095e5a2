"""Evaluations table: a run's model applied to new data by ``dnactx predict --calls``.

Revision ID: 0004
Revises: 0003
Create Date: 2025-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("run_id", sa.String(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created", sa.String()),
        sa.Column("out", sa.String(), nullable=False),
        sa.Column("genome", sa.String()),
        sa.Column("genome_sha256", sa.String()),
        sa.Column("regions", sa.String()),
        sa.Column("n_sites", sa.Integer()),
        sa.Column("n_labelled", sa.Integer()),
        sa.Column("auroc", sa.Float()),
        sa.Column("auprc", sa.Float()),
        sa.Column("pearson_10kb", sa.Float()),
        sa.Column("summary", sa.JSON(), nullable=False),
    )
    op.create_index("ix_evaluations_run_id", "evaluations", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_evaluations_run_id", "evaluations")
    op.drop_table("evaluations")
