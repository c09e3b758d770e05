"""the counts' triggers again: the hall's day of a time by its seconds, pg_temp last

The triggers of 0010 and 0011 are installed once more from
hallapp.reports.caseroll.install_all: on SQLite the hall's day of a time is
taken from its seconds (SQLite rounded a fraction to the millisecond, which
put an evaluation at 23:59:59.9995 hall time on the next day and month); on
PostgreSQL the SECURITY DEFINER functions search public before pg_temp.
The counts already made are kept (an affected row needs a time within half
a millisecond of midnight).

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from hallapp.reports import caseroll

    caseroll.install_all(op.get_bind(), central=False)


def downgrade() -> None:
    # The triggers of 0011 count the same but for that half millisecond.
    pass
