"""visit.baseline: a visit marked baseline (on or before the fusion), set for stored visits

Revision ID: 0010_visit_baseline
Revises: 0009_idempotency
Create Date: 2026-11-30 07:10:00

Stored visits on or before their patient's fusion date, or of a patient not fused yet,
were baseline visits by their date alone: they are marked Yes, every other visit No.
Each visit the trail knows gets an update entry (the new field, from nothing), so that
``sijreg audit verify`` still finds every visit equal to its newest entry.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010_visit_baseline"
down_revision = "0009_idempotency"
branch_labels = None
depends_on = None

REASON = "schema 0010: the new field 'Baseline visit' set from the visit and fusion dates"


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("baseline", sa.Boolean(), nullable=True, comment="Baseline visit")
        )
    op.execute(
        "UPDATE visit SET baseline = NOT EXISTS (SELECT 1 FROM fusion "
        "WHERE fusion.patient_id = visit.patient_id AND fusion.fusion_date < visit.visit_date)"
    )
    _audit(op.get_bind())


def _audit(conn: sa.Connection) -> None:
    """An update entry for every visit with an audit entry (unaudited rows stay for
    ``sijreg audit adopt``)."""
    from sijreg.store import audit, schema

    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT set_config('sijreg.pooled', 'on', true)"))
    log, visit = schema.audit_log, sa.Table("visit", sa.MetaData(), autoload_with=conn)
    known = set(
        conn.execute(
            sa.select(log.c.record_id).where(log.c.table_name == "visit").distinct()
        ).scalars()
    )
    if not known:
        return
    later = {c.name: None for c in schema.visit.columns}  # fields a later schema adds
    entries = []
    for row in conn.execute(sa.select(*visit.c).order_by(visit.c.id)).mappings():
        if row["id"] in known:
            new: dict[str, Any] = {**later, **row}
            old = {**new, "baseline": None}
            entries.append(audit.stage_change(audit.Action.UPDATE, schema.visit, old, new, REASON))
    audit.append_many(conn, entries)


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_column("baseline")
