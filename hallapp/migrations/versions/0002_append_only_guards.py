"""append-only guards that cannot be bypassed: REPLACE/UPSERT/rowid on SQLite, TRUNCATE and
session_replication_role on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:30:00
"""

from collections.abc import Sequence

from alembic import op

from hallapp.migrations.guards import CORE_FACT_TABLES, drop_guards, install_guards

revision: str = "0002"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The tables that existed then; later facts get theirs in their own migration.
    install_guards(op.get_bind(), CORE_FACT_TABLES)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        drop_guards(bind, CORE_FACT_TABLES, kinds=("replace", "rowid"))
    else:
        drop_guards(bind, CORE_FACT_TABLES, kinds=("truncate",))
        for table in CORE_FACT_TABLES:
            # Back to 0001's row trigger, which session_replication_role can disable.
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER trg_{table}_append_only")
