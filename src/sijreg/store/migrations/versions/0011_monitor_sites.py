"""monitor_site: the sites a monitor of several (or all) sites covers

Revision ID: 0011_monitor_sites
Revises: 0010_visit_baseline
Create Date: 2026-11-30 07:30:00

No row-level security policy changes: a monitor's pages read one covered site at a
time under the same ``sijreg.site_id`` setting as everyone else. The application role
may only read this table (``store/app_role.py``), so the server cannot widen a
monitor's sites; ``sijreg user add`` (as the owner) writes them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_monitor_sites"
down_revision = "0010_visit_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_monitor_site_site_id_site")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_monitor_site_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_site")),
        sa.UniqueConstraint("user_id", "site_id", name=op.f("uq_monitor_site_user_id")),
    )


def downgrade() -> None:
    op.drop_table("monitor_site")
