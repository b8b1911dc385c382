"""data_query: a monitor's query on one field of one record, and its state

Revision ID: 0008_queries
Revises: 0007_audit_rls
Create Date: 2026-11-30 05:20:00

On PostgreSQL the table gets the site policies of migration 0003 (the pooled
read too, so an analyst's report can count queries per site).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sijreg.store import rls

revision = "0008_queries"
down_revision = "0007_audit_rls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_query",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column(
            "form", sa.String(length=40), nullable=False, comment="The queried record's form"
        ),
        sa.Column("record_id", sa.Integer(), nullable=False, comment="The queried record"),
        sa.Column("field_name", sa.String(length=40), nullable=False, comment="The queried field"),
        sa.Column(
            "state", sa.String(length=10), nullable=False, comment="open, answered or closed"
        ),
        sa.Column("message", sa.Text(), nullable=False, comment="The monitor's latest message"),
        sa.Column("answer", sa.Text(), nullable=True, comment="The site's latest answer"),
        sa.Column("raised_by", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_data_query_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["raised_by"], ["app_user.id"], name=op.f("fk_data_query_raised_by_app_user")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_data_query_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_query")),
    )
    with op.batch_alter_table("data_query", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_query_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_data_query_site_id"), ["site_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for statement in rls.site_policies("data_query"):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in rls.drop_policies("data_query", disable=False):
            op.execute(statement)
    with op.batch_alter_table("data_query", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_query_site_id"))
        batch_op.drop_index(batch_op.f("ix_data_query_patient_id"))
    op.drop_table("data_query")
