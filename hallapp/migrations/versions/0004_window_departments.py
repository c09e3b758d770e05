"""windows serve departments (综合窗口); the document type an applicant presented

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-01 22:30:00

Additive only: a new reference table, filled from each window's own
department, and a column added to ``applicants`` with ALTER TABLE ADD COLUMN
(no table is recreated, so the append-only triggers of the facts stay).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "window_departments",
        sa.Column("window_code", sa.String(length=8), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_window_departments_department_code_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["window_code"],
            ["windows.code"],
            name=op.f("fk_window_departments_window_code_windows"),
        ),
        sa.PrimaryKeyConstraint(
            "window_code", "department_code", name=op.f("pk_window_departments")
        ),
    )
    op.create_index(
        op.f("ix_window_departments_department_code"),
        "window_departments",
        ["department_code"],
        unique=False,
    )
    # Every existing window serves at least its own department.
    op.execute(
        "INSERT INTO window_departments (window_code, department_code) "
        "SELECT code, department_code FROM windows"
    )
    # Plain ADD COLUMN on both backends: recreating ``applicants`` (batch mode)
    # would drop its append-only triggers on SQLite.
    op.add_column(
        "applicants",
        sa.Column("id_type", sa.String(length=20), server_default="resident_id", nullable=False),
    )


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place; the triggers of applicants stay.
    op.drop_column("applicants", "id_type")
    op.drop_index(op.f("ix_window_departments_department_code"), table_name="window_departments")
    op.drop_table("window_departments")
