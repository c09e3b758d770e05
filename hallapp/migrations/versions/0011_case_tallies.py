"""case tallies: the case figures, the overdue candidates and the open follow-ups

``case_tallies``, ``case_deadlines`` and ``open_follow_ups``
(hallapp.reports.caseroll): derived from the facts by AFTER INSERT triggers
in the transaction that writes them, filled here from the facts already
stored. Additive: new tables and triggers; no fact table is recreated, so
the append-only guards stay in place.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As hallapp.models.DEFERRED_WHERE (frozen here: a migration does not change).
DEFERRED_WHERE = "kind = 'conditionally_accepted'"

def group() -> list[sa.Column[str]]:
    return [
        sa.Column("window_code", sa.String(length=8), nullable=False),
        sa.Column("first_responder_id", sa.String(length=36), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
    ]


def upgrade() -> None:
    from hallapp.models import UTCDateTime
    from hallapp.reports import caseroll

    op.create_table(
        "case_tallies",
        sa.Column("day", sa.String(length=10), nullable=False),
        *group(),
        *[sa.Column(n, sa.Integer(), nullable=False) for n in caseroll.COUNTS],
        sa.PrimaryKeyConstraint(
            "day", "window_code", "first_responder_id", "department_code", "item_code",
            name=op.f("pk_case_tallies"),
        ),
    )  # fmt: skip
    op.create_table(
        "case_deadlines",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        *group(),
        sa.Column("accepted_day", sa.String(length=10), nullable=True),
        sa.Column("promised_min", sa.String(length=10), nullable=True),
        sa.Column("done_day", sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_deadlines")),
    )
    op.create_table(
        "open_follow_ups",
        sa.Column("evaluation_id", sa.String(length=36), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("called_back", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("evaluation_id", name=op.f("pk_open_follow_ups")),
    )
    op.create_index(
        "ix_open_follow_ups_due_on_opened_at", "open_follow_ups", ["due_on", "opened_at"]
    )
    op.create_index(
        "ix_case_events_deferred_created_at",
        "case_events",
        ["created_at"],
        postgresql_where=sa.text(DEFERRED_WHERE),
        sqlite_where=sa.text(DEFERRED_WHERE),
    )
    conn = op.get_bind()
    for statement in caseroll.trigger_statements(conn.dialect.name, central=False):
        conn.exec_driver_sql(statement)
    caseroll.rebuild(conn, central=False)


def downgrade() -> None:
    from hallapp.reports import caseroll

    conn = op.get_bind()
    for statement in caseroll.drop_statements(conn.dialect.name):
        conn.exec_driver_sql(statement)
    if conn.dialect.name == "postgresql":
        for fn in ("hallapp_case_tally_cases", "hallapp_case_tally_case_events",
                   "hallapp_open_follow_ups"):  # fmt: skip
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {fn}()")
    op.drop_index("ix_case_events_deferred_created_at", table_name="case_events")
    op.drop_index("ix_open_follow_ups_due_on_opened_at", table_name="open_follow_ups")
    for table in ("open_follow_ups", "case_deadlines", "case_tallies"):
        op.drop_table(table)
