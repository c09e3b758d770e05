"""sync: the evaluations' hash chain, this window's sync state, pulled hall settings

Revision ID: 0006
Revises: 0001

Additive only: plain ALTER TABLE ADD COLUMN (no batch recreate), so the
append-only triggers of evaluations stay in place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("evaluations", sa.Column("chain_seq", sa.Integer(), nullable=True))
    op.add_column("evaluations", sa.Column("chain_prev", sa.String(length=64), nullable=True))
    op.add_column("evaluations", sa.Column("chain_hash", sa.String(length=64), nullable=True))
    op.create_index("ix_evaluations_chain", "evaluations", ["origin_window", "chain_seq"])
    op.create_table(
        "hall_settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_hall_settings")),
    )
    op.create_table(
        "sync_state",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sync_state")),
    )


def downgrade() -> None:
    op.drop_table("sync_state")
    op.drop_table("hall_settings")
    op.drop_index("ix_evaluations_chain", "evaluations")
    with op.batch_alter_table("evaluations") as batch_op:
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("chain_prev")
        batch_op.drop_column("chain_seq")
