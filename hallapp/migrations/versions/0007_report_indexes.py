"""indexes for the supervisors' figures (period scans, a case's events by kind, upheld appeals)

Additive: plain CREATE INDEX, no table is recreated, so the append-only
triggers of the fact tables stay in place.

Revision ID: 0007
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_evaluations_period",
        "evaluations",
        ["created_at", "window_code", "staff_id", "level"],
    )
    op.create_index("ix_case_events_case_id_kind", "case_events", ["case_id", "kind"])
    op.create_index(
        "ix_follow_up_steps_kind_evaluation_id", "follow_up_steps", ["kind", "evaluation_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_follow_up_steps_kind_evaluation_id", table_name="follow_up_steps")
    op.drop_index("ix_case_events_case_id_kind", table_name="case_events")
    op.drop_index("ix_evaluations_period", table_name="evaluations")
