"""api keys: name, last_used_at, index on revoked_at

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000

`name` is NOT NULL with a server default of '' so that existing rows and the CLI (which
names no key) need nothing; `last_used_at` is written off the request path in batches.
The index on `revoked_at` serves the poll for revocations since a moment.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mechamental.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("last_used_at", mechamental.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_api_tokens_revoked_at", ["revoked_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_api_tokens_revoked_at")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("name")
