"""count live judgments per item for the next-item index

Revision ID: 8616431df584
Revises: 357a3b1cba21
Create Date: 2026-12-01 00:25:02.792851

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "8616431df584"
down_revision: str | Sequence[str] | None = "357a3b1cba21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("n_judgments", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.create_index("ix_items_next", ["project_id", "is_gold", "n_judgments", "id"], unique=False)
    op.execute(
        "UPDATE items SET n_judgments = (SELECT count(*) FROM judgments "
        "WHERE judgments.item_id = items.id AND judgments.superseded_by_id IS NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_next")
        batch_op.drop_column("n_judgments")
