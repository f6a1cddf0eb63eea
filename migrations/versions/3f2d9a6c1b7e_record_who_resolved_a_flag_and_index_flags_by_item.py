"""record who resolved a flag and when; index flags by item

Revision ID: 3f2d9a6c1b7e
Revises: 8e17e8bd88af
Create Date: 2026-12-05 07:20:00.000000

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "3f2d9a6c1b7e"
down_revision: str | Sequence[str] | None = "8e17e8bd88af"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item_flags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_item_flags_resolved_by_id_users"), "users", ["resolved_by_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(batch_op.f("ix_item_flags_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_flags_item_id"))
        batch_op.drop_constraint(batch_op.f("fk_item_flags_resolved_by_id_users"), type_="foreignkey")
        batch_op.drop_column("resolved_by_id")
        batch_op.drop_column("resolved_at")
