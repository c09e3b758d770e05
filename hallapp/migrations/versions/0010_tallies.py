"""tallies: the counts the supervisors' figures read, kept by triggers

``evaluation_tallies`` and ``completion_tallies`` (hallapp.reports.rollup):
derived from the facts by AFTER INSERT triggers in the transaction that
writes them, filled here from the facts already stored; and an index on evaluations
(level, created_at) for a period's 差评.

Additive: new tables and triggers; no fact table is recreated, so the
append-only guards stay in place.

Revision ID: 0010
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from hallapp.reports.rollup import install_triggers, rebuild

    op.create_table(
        "evaluation_tallies",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("window_code", sa.String(length=8), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "window_code", "staff_id", "department_code", "item_code", "level",
            name=op.f("pk_evaluation_tallies"),
        ),
    )  # fmt: skip
    op.create_table(
        "completion_tallies",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("window_code", sa.String(length=8), nullable=False),
        sa.Column("first_responder_id", sa.String(length=36), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("evaluated", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "window_code", "first_responder_id", "department_code", "item_code",
            name=op.f("pk_completion_tallies"),
        ),
    )  # fmt: skip
    op.create_index("ix_evaluations_level_created_at", "evaluations", ["level", "created_at"])
    conn = op.get_bind()
    install_triggers(conn, central=False)
    rebuild(conn, central=False)


def downgrade() -> None:
    conn = op.get_bind()
    for table in ("evaluations", "case_events", "follow_up_steps"):
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS trg_{table}_tally ON {table}")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS hallapp_tally_{table}()")
        else:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS trg_{table}_tally")
    op.drop_table("completion_tallies")
    op.drop_table("evaluation_tallies")
    op.drop_index("ix_evaluations_level_created_at", table_name="evaluations")
