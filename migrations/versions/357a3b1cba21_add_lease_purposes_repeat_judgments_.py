"""add lease purposes, repeat judgments, item flags and gold feedback settings

Revision ID: 357a3b1cba21
Revises: 2624ee227bdc
Create Date: 2026-11-30 23:53:24.821676

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "357a3b1cba21"
down_revision: str | Sequence[str] | None = "2624ee227bdc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("lease_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("skip", "broken", name="flag_kind", native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_flags_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["lease_id"], ["leases.id"], name=op.f("fk_item_flags_lease_id_leases"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_item_flags_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["rater_id"], ["users.id"], name=op.f("fk_item_flags_rater_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_flags")),
        sa.UniqueConstraint("lease_id", name=op.f("uq_item_flags_lease_id")),
    )
    with op.batch_alter_table("item_flags", schema=None) as batch_op:
        batch_op.create_index("ix_item_flags_project_kind", ["project_id", "kind"], unique=False)

    op.create_table(
        "repeat_judgments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("original_id", sa.Integer(), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), nullable=False),
        sa.Column("lease_id", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("display_order", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_repeat_judgments_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["lease_id"], ["leases.id"], name=op.f("fk_repeat_judgments_lease_id_leases"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["original_id"],
            ["judgments.id"],
            name=op.f("fk_repeat_judgments_original_id_judgments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_repeat_judgments_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["rater_id"], ["users.id"], name=op.f("fk_repeat_judgments_rater_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"],
            ["rubric_versions.id"],
            name=op.f("fk_repeat_judgments_rubric_version_id_rubric_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repeat_judgments")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_repeat_judgments_idempotency_key")),
        sa.UniqueConstraint("original_id", name=op.f("uq_repeat_judgments_original_id")),
    )
    with op.batch_alter_table("repeat_judgments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repeat_judgments_rater_id"), ["rater_id"], unique=False)

    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "purpose",
                sa.Enum(
                    "live",
                    "gold",
                    "qualification",
                    "repeat",
                    name="lease_purpose",
                    native_enum=False,
                    create_constraint=True,
                    length=16,
                ),
                server_default="live",
                nullable=False,
            )
        )
        batch_op.drop_constraint(batch_op.f("uq_leases_item_id_rater_id"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_leases_item_id_rater_id_purpose"), ["item_id", "rater_id", "purpose"]
        )

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gold_feedback", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("repeat_rate", sa.Float(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("repeat_rate")
        batch_op.drop_column("gold_feedback")

    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_leases_item_id_rater_id_purpose"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_leases_item_id_rater_id"), ["item_id", "rater_id"])
        batch_op.drop_constraint(batch_op.f("ck_leases_lease_purpose"), type_="check")
        batch_op.drop_column("purpose")

    with op.batch_alter_table("repeat_judgments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repeat_judgments_rater_id"))

    op.drop_table("repeat_judgments")
    with op.batch_alter_table("item_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_item_flags_project_kind")

    op.drop_table("item_flags")
