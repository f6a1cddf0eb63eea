"""walk the next-item index fullest first

The next-item query orders by ``n_judgments DESC, id``; with the judgment count descending
in the index it is one ordered index walk instead of one query per judgment count.

Revision ID: c3910b67c453
Revises: 29598a6ce57c
Create Date: 2026-12-01 02:43:47.909421

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "c3910b67c453"
down_revision: str | Sequence[str] | None = "29598a6ce57c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_next")
        batch_op.create_index(
            "ix_items_next", ["project_id", "is_gold", sa.text("n_judgments DESC"), "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_next")
        batch_op.create_index("ix_items_next", ["project_id", "is_gold", "n_judgments", "id"], unique=False)
