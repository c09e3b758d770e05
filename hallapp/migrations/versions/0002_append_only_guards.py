"""append-only guards that cannot be bypassed: REPLACE/UPSERT/rowid on SQLite, TRUNCATE and
session_replication_role on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:30:00
"""

from collections.abc import Sequence

from alembic import op

from hallapp.migrations.guards import drop_guards, install_guards

revision: str = "0002"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The fact tables as of this revision (guards.FACT_TABLES grows with later
# migrations, which install their own tables' guards).
FACT_TABLES = (
    "duty_events",
    "applicants",
    "cases",
    "case_events",
    "issued_documents",
    "document_prints",
    "evaluations",
    "follow_up_steps",
    "audit_entries",
)


def upgrade() -> None:
    install_guards(op.get_bind(), FACT_TABLES)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        drop_guards(bind, FACT_TABLES, kinds=("replace", "rowid"))
    else:
        drop_guards(bind, FACT_TABLES, kinds=("truncate",))
        for table in FACT_TABLES:
            # Back to 0001's row trigger, which session_replication_role can disable.
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER trg_{table}_append_only")
