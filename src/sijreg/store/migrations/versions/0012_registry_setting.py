"""registry_setting: settings of the whole registry (the follow-up visit windows), audited

Revision ID: 0012_registry_setting
Revises: 0011_monitor_sites
Create Date: 2026-11-30 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_registry_setting"
down_revision = "0011_monitor_sites"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_setting")),
        sa.UniqueConstraint("name", name=op.f("uq_registry_setting_name")),
    )


def downgrade() -> None:
    op.drop_table("registry_setting")
