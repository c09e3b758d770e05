"""一次一评: an evaluation rates one service encounter; a case may carry several

Adds ``evaluations.encounter`` (what was rated: acceptance, one-time notice,
refusal, referral, hand-over...) and ``evaluations.encounter_event_id`` (the
case event it follows), and replaces the unique ``evaluations.case_id`` by a
unique (case_id, encounter_event_id). Existing evaluations are given the
encounter they followed, read from the case's events.

On SQLite the change recreates the table, which drops its append-only
triggers: they are created again here (and a test checks UPDATE and DELETE
are still refused after the upgrade).

Revision ID: 0005
Revises: 0001
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "evaluations"

# CaseEventKind values → Encounter values, as of this revision (kept here, not
# imported, so that the migration stays what it was when later code changes).
_ENCOUNTER_OF_EVENT = {
    "accepted": "acceptance",
    "conditionally_accepted": "conditional_acceptance",
    "supplement_requested": "one_time_notice",
    "rejected": "refusal",
    "referred": "referral",
    "handed_over": "hand_over",
}


def _create_guards(dialect: str) -> None:
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_no_{action.lower()}")
            op.execute(
                f"CREATE TRIGGER trg_{TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, 'append-only table {TABLE}: {action} refused'); END"
            )
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_append_only ON {TABLE}")
        op.execute(
            f"CREATE TRIGGER trg_{TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION hallapp_refuse_change()"
        )


def _drop_guards(dialect: str) -> None:
    if dialect == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_no_{action}")
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_append_only ON {TABLE}")


def _backfill() -> None:
    """The encounter each existing evaluation followed (its case's last service event)."""
    bind = op.get_bind()
    evaluations = sa.table(
        TABLE,
        sa.column("id", sa.String),
        sa.column("case_id", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("encounter", sa.String),
        sa.column("encounter_event_id", sa.String),
    )
    events = sa.table(
        "case_events",
        sa.column("id", sa.String),
        sa.column("case_id", sa.String),
        sa.column("seq", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("data", sa.JSON),
    )
    rows = bind.execute(
        sa.select(evaluations.c.id, evaluations.c.case_id, evaluations.c.created_at)
    ).all()
    for evaluation_id, case_id, created_at in rows:
        found: list[Any] = list(
            bind.execute(
                sa.select(events.c.id, events.c.kind, events.c.data)
                .where(events.c.case_id == case_id, events.c.created_at <= created_at)
                .order_by(events.c.created_at, events.c.seq)
            )
        )
        encounter, event_id = "", evaluation_id
        for ev_id, kind, data in found:
            if kind == "completed":
                instant = isinstance(data, dict) and bool(data.get("instant"))
                # Before 一次一评 the evaluation opened at 办结 too (now it does not).
                encounter, event_id = ("instant_completion" if instant else "completion"), ev_id
            elif kind in _ENCOUNTER_OF_EVENT:
                encounter, event_id = _ENCOUNTER_OF_EVENT[kind], ev_id
        bind.execute(
            sa.update(evaluations)
            .where(evaluations.c.id == evaluation_id)
            .values(encounter=encounter, encounter_event_id=event_id)
        )


def upgrade() -> None:
    # On SQLite the table is recreated (follow-up steps refer to it): env.py
    # turns foreign keys off for the migration and checks them before commit.
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table(TABLE, recreate="auto") as batch:
        batch.add_column(sa.Column("encounter", sa.String(40), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("encounter_event_id", sa.String(36), nullable=False, server_default="")
        )
        batch.drop_constraint("uq_evaluations_case_id", type_="unique")
        batch.create_unique_constraint(
            "uq_evaluations_case_encounter", ["case_id", "encounter_event_id"]
        )
        batch.create_index("ix_evaluations_case_id", ["case_id"], unique=False)
    # The guards go (SQLite lost them with the old table anyway) while the
    # existing rows get their encounter, then come back.
    _drop_guards(dialect)
    _backfill()
    _create_guards(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Back to one evaluation per case: fails (as it must) if a case has several.
    with op.batch_alter_table(TABLE, recreate="auto") as batch:
        batch.drop_index("ix_evaluations_case_id")
        batch.drop_constraint("uq_evaluations_case_encounter", type_="unique")
        batch.create_unique_constraint("uq_evaluations_case_id", ["case_id"])
        batch.drop_column("encounter_event_id")
        batch.drop_column("encounter")
    _create_guards(dialect)
