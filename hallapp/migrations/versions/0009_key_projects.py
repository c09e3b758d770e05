"""key projects (重点项目代办, seed 002): register, nodes, 督导代办 steps, hand-over,
代办员满意度测评 and the workflow's documents — append-only facts with guards

Written at the central store by 代办员 and supervisors; the local tables exist
so that the central twins are derived from the models like every other fact.

Revision ID: 0009
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallapp.migrations.guards import PROJECT_FACT_TABLES, drop_guards, install_guards

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_surveys",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("worst_level", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("respondent_name", sa.String(length=50), nullable=False),
        sa.Column("respondent_phone", sa.String(length=40), nullable=False),
        sa.Column("filled_on", sa.Date(), nullable=False),
        sa.Column("entered_by", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("origin_window", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_surveys")),
    )
    op.create_index(op.f("ix_agent_surveys_agent_id"), "agent_surveys", ["agent_id"], unique=False)
    op.create_index(
        op.f("ix_agent_surveys_created_at"), "agent_surveys", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_agent_surveys_origin_window"), "agent_surveys", ["origin_window"], unique=False
    )
    op.create_index(
        op.f("ix_agent_surveys_project_id"), "agent_surveys", ["project_id"], unique=False
    )
    op.create_table(
        "key_projects",
        sa.Column("project_no", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("investor", sa.String(length=200), nullable=False),
        sa.Column("investor_uscc", sa.String(length=18), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("leader_name", sa.String(length=50), nullable=False),
        sa.Column("leader_title", sa.String(length=50), nullable=False),
        sa.Column("lead_unit", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.String(length=36), nullable=False),
        sa.Column("registered_by", sa.String(length=36), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("origin_window", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_projects")),
        sa.UniqueConstraint("project_no", name=op.f("uq_key_projects_project_no")),
    )
    op.create_index(op.f("ix_key_projects_agent_id"), "key_projects", ["agent_id"], unique=False)
    op.create_index(
        op.f("ix_key_projects_created_at"), "key_projects", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_key_projects_origin_window"), "key_projects", ["origin_window"], unique=False
    )
    op.create_table(
        "project_agents",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("assigned_by", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("origin_window", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_agents")),
    )
    op.create_index(
        op.f("ix_project_agents_created_at"), "project_agents", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_project_agents_origin_window"), "project_agents", ["origin_window"], unique=False
    )
    op.create_index(
        op.f("ix_project_agents_project_id"), "project_agents", ["project_id"], unique=False
    )
    op.create_index(
        op.f("ix_project_agents_staff_id"), "project_agents", ["staff_id"], unique=False
    )
    op.create_table(
        "project_documents",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("doc_type", sa.String(length=30), nullable=False),
        sa.Column("doc_no", sa.String(length=60), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("origin_window", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_documents")),
        sa.UniqueConstraint("doc_no", name=op.f("uq_project_documents_doc_no")),
    )
    op.create_index(
        op.f("ix_project_documents_created_at"), "project_documents", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_project_documents_origin_window"),
        "project_documents",
        ["origin_window"],
        unique=False,
    )
    op.create_index(
        op.f("ix_project_documents_project_id"), "project_documents", ["project_id"], unique=False
    )
    op.create_table(
        "project_events",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("origin_window", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_events")),
    )
    op.create_index(
        op.f("ix_project_events_created_at"), "project_events", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_project_events_origin_window"), "project_events", ["origin_window"], unique=False
    )
    op.create_index(
        op.f("ix_project_events_project_id"), "project_events", ["project_id"], unique=False
    )
    op.create_table(
        "project_nodes",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("responsible_name", sa.String(length=50), nullable=False),
        sa.Column("responsible_phone", sa.String(length=40), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("limit_days", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("added_by", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("origin_window", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_nodes")),
    )
    op.create_index(
        op.f("ix_project_nodes_created_at"), "project_nodes", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_project_nodes_department_code"), "project_nodes", ["department_code"], unique=False
    )
    op.create_index(op.f("ix_project_nodes_due_on"), "project_nodes", ["due_on"], unique=False)
    op.create_index(
        op.f("ix_project_nodes_origin_window"), "project_nodes", ["origin_window"], unique=False
    )
    op.create_index(
        op.f("ix_project_nodes_project_id"), "project_nodes", ["project_id"], unique=False
    )
    op.create_table(
        "project_steps",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("node_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("origin_window", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_steps")),
    )
    op.create_index(
        op.f("ix_project_steps_created_at"), "project_steps", ["created_at"], unique=False
    )
    op.create_index(op.f("ix_project_steps_node_id"), "project_steps", ["node_id"], unique=False)
    op.create_index(
        op.f("ix_project_steps_origin_window"), "project_steps", ["origin_window"], unique=False
    )
    op.create_index(
        op.f("ix_project_steps_project_id"), "project_steps", ["project_id"], unique=False
    )
    install_guards(op.get_bind(), PROJECT_FACT_TABLES)


def downgrade() -> None:
    drop_guards(op.get_bind(), PROJECT_FACT_TABLES)
    for table in reversed(PROJECT_FACT_TABLES):
        op.drop_table(table)
