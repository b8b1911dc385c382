"""follow-up: visit answers (NRS week, PGIC, opioid use, source), invitations, call attempts

Revision ID: 0005_followup
Revises: 0004
Create Date: 2026-11-30 04:00:00

On PostgreSQL both new tables get the site policies of migration 0003. An invitation
is also readable by the one request that presents its token: the patient's link
sets ``sijreg.invitation`` to the token's hash, and nothing else matches it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sijreg.store import rls

revision = "0005_followup"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("invitation", "call_attempt")


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "nrs_pain_week",
                sa.Integer(),
                nullable=True,
                comment="Average pain over the last week (NRS)",
            )
        )
        batch_op.add_column(
            sa.Column(
                "pgic",
                sa.String(length=18),
                nullable=True,
                comment="Patient Global Impression of Change",
            )
        )
        batch_op.add_column(
            sa.Column(
                "opioid_use", sa.Boolean(), nullable=True, comment="Takes opioid pain medicine"
            )
        )
        batch_op.add_column(
            sa.Column("source", sa.String(length=11), nullable=True, comment="Answered by")
        )
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False, comment="The follow-up time point"),
        sa.Column("opens", sa.Date(), nullable=False, comment="First day the link works"),
        sa.Column("closes", sa.Date(), nullable=False, comment="Last day the link works"),
        sa.Column(
            "token_hash", sa.String(length=64), nullable=False, comment="SHA-256 of the link token"
        ),
        sa.Column(
            "salt",
            sa.String(length=32),
            nullable=False,
            comment="Derives the token with the link key",
        ),
        sa.Column(
            "instruments", sa.String(length=200), nullable=False, comment="Questionnaire ids, comma"
        ),
        sa.Column("answers", sa.JSON(), nullable=True, comment="Answers saved so far, by item"),
        sa.Column("messages_sent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_invitation_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_invitation_site_id_site")),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visit.id"],
            name=op.f("fk_invitation_visit_id_visit"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("patient_id", "months", name="uq_invitation_patient_months"),
        sa.UniqueConstraint("token_hash", name="uq_invitation_token_hash"),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_site_id"), ["site_id"], unique=False)
    op.create_table(
        "call_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_call_attempt_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_call_attempt_site_id_site")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_call_attempt_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_attempt")),
    )
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_attempt_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_call_attempt_site_id"), ["site_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.site_policies(table):
                op.execute(statement)
        op.execute(
            "CREATE POLICY token_row ON invitation FOR SELECT "
            "USING (token_hash = current_setting('sijreg.invitation', true))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY token_row ON invitation")
        for table in TABLES:
            for statement in rls.drop_policies(table, disable=False):
                op.execute(statement)
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_attempt_site_id"))
        batch_op.drop_index(batch_op.f("ix_call_attempt_patient_id"))
    op.drop_table("call_attempt")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_site_id"))
    op.drop_table("invitation")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_column("source")
        batch_op.drop_column("opioid_use")
        batch_op.drop_column("pgic")
        batch_op.drop_column("nrs_pain_week")
