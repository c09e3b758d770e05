"""indexes for the supervisors' figures (period scans by window/clerk, upheld appeals)

A case's events are looked up by ``ix_case_events_case_id`` alone: an index
led by (case_id, kind) would hand SQLite's ``WHERE case_id = ?`` the events
in kind order instead of the order written, and one on (kind, created_at)
made SQLite's planner scan ranges for every per-case lookup.

Additive: plain CREATE INDEX, no table is recreated, so the append-only
triggers of the fact tables stay in place.

Revision ID: 0007
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_evaluations_period",
        "evaluations",
        ["created_at", "window_code", "staff_id", "level"],
    )
    op.create_index(
        "ix_follow_up_steps_kind_evaluation_id", "follow_up_steps", ["kind", "evaluation_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_follow_up_steps_kind_evaluation_id", table_name="follow_up_steps")
    op.drop_index("ix_evaluations_period", table_name="evaluations")
