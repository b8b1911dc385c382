"""screening: row-level security on PostgreSQL, like the other per-site tables

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 09:05:00

No table changes (the metadata is unchanged): on PostgreSQL the screening log gets
the policies of migration 0003, and its results, which have no site of their own,
are visible and writable exactly when their screening is.
"""

from __future__ import annotations

from alembic import op

from sijreg.store import rls

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OWN_SCREENING = "screening_id IN (SELECT id FROM screening)"
"""Evaluated under the screening table's own policies: the site's rows, or all when pooled."""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in rls.site_policies("screening"):
        op.execute(statement)
    op.execute(rls.enable("screening_result"))
    op.execute(
        f"CREATE POLICY screening_rows ON screening_result USING ({OWN_SCREENING}) "
        f"WITH CHECK ({OWN_SCREENING})"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP POLICY screening_rows ON screening_result")
    op.execute("ALTER TABLE screening_result DISABLE ROW LEVEL SECURITY")
    for statement in rls.drop_policies("screening"):
        op.execute(statement)
