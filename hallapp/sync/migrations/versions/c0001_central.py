"""central store: the mirrored tables (local tables plus hall_code) and the centre's own

Revision ID: c0001
Revises:
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from hallapp.sync.centre import reconcile_on

    reconcile_on(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("a central store is never downgraded")
