"""bundles (一件事 / 联合审批): catalog bundles, bundle cases and their sub-cases; 催办

Reference tables ``bundles``, ``bundle_members``, ``bundle_materials`` (the
catalog's bundles, pulled like the catalog) and fact tables ``bundle_cases``
and ``bundle_case_members`` (one intake at a 综合窗口 fanned out to one
sub-case per member department), with their append-only guards. Additive
only: no existing table is recreated.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallapp.migrations.guards import drop_guards, install_guards

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACTS = ("bundle_cases", "bundle_case_members")


def _fact_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("origin_window", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "bundles",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("lead_department_code", sa.String(length=32), nullable=False),
        sa.Column("form_name", sa.String(length=200), nullable=False),
        sa.Column("promised_days", sa.Integer(), nullable=False),
        sa.Column("legal_days", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("procedure", sa.Text(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("fees", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("pinyin", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_department_code"],
            ["departments.code"],
            name=op.f("fk_bundles_lead_department_code_departments"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_bundles")),
    )
    op.create_index(op.f("ix_bundles_lead_department_code"), "bundles", ["lead_department_code"])
    op.create_index(op.f("ix_bundles_pinyin"), "bundles", ["pinyin"])
    op.create_table(
        "bundle_members",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("bundle_code", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("promised_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bundle_code"], ["bundles.code"], name=op.f("fk_bundle_members_bundle_code_bundles")
        ),
        sa.ForeignKeyConstraint(
            ["item_code"],
            ["service_items.code"],
            name=op.f("fk_bundle_members_item_code_service_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bundle_members")),
        sa.UniqueConstraint("bundle_code", "seq", name=op.f("uq_bundle_members_bundle_code")),
        sa.UniqueConstraint("bundle_code", "item_code", name="uq_bundle_members_bundle_item"),
    )
    op.create_index(op.f("ix_bundle_members_bundle_code"), "bundle_members", ["bundle_code"])
    op.create_index(op.f("ix_bundle_members_item_code"), "bundle_members", ["item_code"])
    op.create_table(
        "bundle_materials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("bundle_code", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("form", sa.String(length=20), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("deferrable", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("item_codes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bundle_code"], ["bundles.code"], name=op.f("fk_bundle_materials_bundle_code_bundles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bundle_materials")),
        sa.UniqueConstraint("bundle_code", "seq", name=op.f("uq_bundle_materials_bundle_code")),
    )
    op.create_index(op.f("ix_bundle_materials_bundle_code"), "bundle_materials", ["bundle_code"])
    op.create_table(
        "bundle_cases",
        *_fact_columns(),
        sa.Column("bundle_no", sa.String(length=40), nullable=False),
        sa.Column("bundle_code", sa.String(length=64), nullable=False),
        sa.Column("applicant_id", sa.String(length=36), nullable=False),
        sa.Column("window_code", sa.String(length=8), nullable=False),
        sa.Column("lead_case_id", sa.String(length=36), nullable=False),
        sa.Column("first_responder_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicants.id"],
            name=op.f("fk_bundle_cases_applicant_id_applicants"),
        ),
        sa.ForeignKeyConstraint(
            ["bundle_code"], ["bundles.code"], name=op.f("fk_bundle_cases_bundle_code_bundles")
        ),
        sa.ForeignKeyConstraint(
            ["first_responder_id"],
            ["staff.id"],
            name=op.f("fk_bundle_cases_first_responder_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_case_id"], ["cases.id"], name=op.f("fk_bundle_cases_lead_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bundle_cases")),
        sa.UniqueConstraint("bundle_no", name=op.f("uq_bundle_cases_bundle_no")),
    )
    for col in ("origin_window", "created_at", "bundle_code", "window_code"):
        op.create_index(op.f(f"ix_bundle_cases_{col}"), "bundle_cases", [col])
    op.create_table(
        "bundle_case_members",
        *_fact_columns(),
        sa.Column("bundle_case_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("limit_days", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bundle_case_id"],
            ["bundle_cases.id"],
            name=op.f("fk_bundle_case_members_bundle_case_id_bundle_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_bundle_case_members_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bundle_case_members")),
    )
    for col in ("origin_window", "created_at", "bundle_case_id", "case_id", "department_code"):
        op.create_index(op.f(f"ix_bundle_case_members_{col}"), "bundle_case_members", [col])
    install_guards(op.get_bind(), FACTS)


def downgrade() -> None:
    drop_guards(op.get_bind(), FACTS)
    for table in (
        "bundle_case_members",
        "bundle_cases",
        "bundle_materials",
        "bundle_members",
        "bundles",
    ):
        op.drop_table(table)
