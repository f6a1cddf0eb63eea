"""index judgments by rater and item

The next-item walk asks, for each item it visits, whether the rater judged it. With only
``rater_id`` indexed, PostgreSQL sometimes answered that by scanning all of the rater's
judgments per visited item (when fresh statistics made ``rater_id`` look selective), which
grows with the square of the rater's history. Indexing (rater_id, item_id) makes that probe
an exact lookup on either index the planner may choose, and still serves queries by rater.

Revision ID: 5b1e0c7d9a24
Revises: c3910b67c453
Create Date: 2026-12-01 07:10:00.000000

"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


# revision identifiers, used by Alembic.
revision: str = "5b1e0c7d9a24"
down_revision: str | Sequence[str] | None = "c3910b67c453"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("judgments", schema=None) as batch_op:
        batch_op.create_index("ix_judgments_rater_item", ["rater_id", "item_id"], unique=False)
        batch_op.drop_index("ix_judgments_rater_id")


def downgrade() -> None:
    with op.batch_alter_table("judgments", schema=None) as batch_op:
        batch_op.create_index("ix_judgments_rater_id", ["rater_id"], unique=False)
        batch_op.drop_index("ix_judgments_rater_item")
