"""index the newest judgment and item of a project

Revision ID: 5d2e8c1f0a47
Revises: 3f2d9a6c1b7e
Create Date: 2026-12-05 07:40:00.000000

"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "5d2e8c1f0a47"
down_revision: str | Sequence[str] | None = "3f2d9a6c1b7e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("judgments", schema=None) as batch_op:
        batch_op.create_index("ix_judgments_project_newest", ["project_id", "id"], unique=False)

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_project_newest", ["project_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_project_newest")

    with op.batch_alter_table("judgments", schema=None) as batch_op:
        batch_op.drop_index("ix_judgments_project_newest")
