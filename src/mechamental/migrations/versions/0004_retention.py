"""retention: indexes that let finished bucket jobs and webhook deliveries be purged by age

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 18:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_bucket_jobs_finished", "bucket_jobs", ["status", "updated_at"], unique=False
    )
    op.create_index(
        "ix_webhook_deliveries_finished",
        "webhook_deliveries",
        ["status", "updated_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_finished", table_name="webhook_deliveries")
    op.drop_index("ix_bucket_jobs_finished", table_name="bucket_jobs")
