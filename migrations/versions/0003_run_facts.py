"""Run facts apart from metrics: their rows move from split ``run`` to ``facts``; finetune only for transformers.

Revision ID: 0003
Revises: 0002
Create Date: 2025-02-01
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Before metrics.json had a "facts" object, the threshold was the only run-level metric; every other row of
    # split "run" (train_seconds, best_epoch, ...) was a fact.
    op.execute("UPDATE metrics SET split = 'facts' WHERE split = 'run' AND name != 'threshold'")
    # lr and cnn have no --finetune; their rows carried TrainConfig's default ("frozen").
    op.execute("UPDATE runs SET finetune = NULL WHERE family IS NULL OR family != 'transformer'")


def downgrade() -> None:
    op.execute("UPDATE metrics SET split = 'run' WHERE split = 'facts'")
    op.execute("UPDATE runs SET finetune = json_extract(config, '$.finetune') WHERE finetune IS NULL")
