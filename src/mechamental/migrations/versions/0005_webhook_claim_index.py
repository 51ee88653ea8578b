"""webhook claims: each endpoint's due deliveries by an index range, not a scan of all due

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 14:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_endpoint_due",
        "webhook_deliveries",
        ["webhook_id", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_endpoint_due", table_name="webhook_deliveries")
