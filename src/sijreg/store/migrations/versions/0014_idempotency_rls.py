"""idempotency_key: the user's site, and row-level security on PostgreSQL

Revision ID: 0014_idempotency_rls
Revises: 0013_audit_take_head
Create Date: 2026-11-30 07:00:00

A stored first answer can hold patient data (the record a write returned), so the
table gets the per-site policies of the records themselves (store/rls.py); rows of
site-less roles (admin, analyst: their writes return no patient data) are seen only
by a transaction acting for no site. Existing keys get their user's site.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sijreg.store import rls

revision = "0014_idempotency_rls"
down_revision = "0013_audit_take_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_idempotency_key_site_id_site"), "site", ["site_id"], ["id"]
        )
    op.execute(
        "UPDATE idempotency_key SET site_id = "
        "(SELECT site_id FROM app_user WHERE app_user.id = idempotency_key.user_id)"
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in rls.site_policies("idempotency_key"):
            op.execute(statement)
        op.execute(rls.siteless_rows("idempotency_key"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        policies = ("siteless_rows", "pooled_read", "site_rows")
        for statement in rls.drop_policies("idempotency_key", policies):
            op.execute(statement)
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_idempotency_key_site_id_site"), type_="foreignkey")
        batch_op.drop_column("site_id")
