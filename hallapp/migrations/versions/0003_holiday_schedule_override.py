"""holiday schedules record what a load overrode (built-in year or an earlier load) and why

Revision ID: 0003
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # holiday_schedules is reference data, not a fact table: it has no
    # append-only triggers that a batch recreate could drop.
    with op.batch_alter_table("holiday_schedules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("override_of", sa.String(length=10), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("override_reason", sa.Text(), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("holiday_schedules", schema=None) as batch_op:
        batch_op.drop_column("override_reason")
        batch_op.drop_column("override_of")
