"""SQLAlchemy tables derived from the data dictionary.

Each form becomes a table whose data columns are the form's fields. Every
per-patient table also carries ``site_id``, so that site isolation is one column
test on any table, and ``version`` for optimistic concurrency.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from sijreg.domain.dictionary import (
    ADVERSE_EVENT,
    FUSION,
    PATIENT,
    PRIOR_PROCEDURE,
    SCREENING,
    SITE,
    VISIT,
)
from sijreg.domain.types import Field, Form, Kind

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def column_type(f: Field) -> sa.types.TypeEngine[Any]:
    """The SQL type that holds a field's values exactly."""
    if f.kind is Kind.INTEGER:
        return sa.Integer()
    if f.kind is Kind.DECIMAL:
        # SQLite has no decimal type; a double holds our few decimals exactly enough
        # to round back, and its declared type lets Arrow readers type the column.
        return sa.Numeric(precision=12, scale=f.decimals, asdecimal=True).with_variant(
            sa.Float(asdecimal=True, decimal_return_scale=f.decimals), "sqlite"
        )
    if f.kind is Kind.BOOLEAN:
        return sa.Boolean()
    if f.kind is Kind.DATE:
        return sa.Date()
    if f.kind is Kind.CHOICE:
        return sa.String(max(len(code) for code in f.codes))
    return sa.String(f.max_length or 200)


def _data_columns(form: Form) -> list[sa.Column[Any]]:
    return [
        sa.Column(f.name, column_type(f), nullable=not f.required, comment=f.label)
        for f in form.fields
    ]


def _bookkeeping() -> list[sa.Column[Any]]:
    return [
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
    ]


site = sa.Table(
    SITE.name,
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *_data_columns(SITE),
    sa.UniqueConstraint("site_code"),
)

patient = sa.Table(
    PATIENT.name,
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("site_id", sa.ForeignKey("site.id"), nullable=False, index=True),
    *_data_columns(PATIENT),
    *_bookkeeping(),
    sa.UniqueConstraint("site_id", "study_id", name="uq_patient_site_study_id"),
)


def _child(form: Form, *extra: sa.schema.SchemaItem) -> sa.Table:
    return sa.Table(
        form.name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.ForeignKey("site.id"), nullable=False, index=True),
        sa.Column(
            "patient_id",
            sa.ForeignKey("patient.id", ondelete="CASCADE"),
            nullable=False,
            index=not form.repeating or None,
        ),
        *_data_columns(form),
        *_bookkeeping(),
        *extra,
    )


prior_procedure = _child(
    PRIOR_PROCEDURE,
    sa.Index("ix_prior_procedure_patient_procedure", "patient_id", "procedure"),
)
fusion = _child(FUSION, sa.UniqueConstraint("patient_id", name="uq_fusion_patient_id"))
visit = _child(VISIT, sa.UniqueConstraint("patient_id", "visit_date", name="uq_visit_patient_date"))
adverse_event = _child(
    ADVERSE_EVENT, sa.Index("ix_adverse_event_patient_date", "patient_id", "event_date")
)

screening = sa.Table(
    SCREENING.name,
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("site_id", sa.ForeignKey("site.id"), nullable=False, index=True),
    sa.Column(
        "patient_id",
        sa.ForeignKey("patient.id", ondelete="SET NULL"),
        nullable=True,
        comment="The enrolled patient, when the candidate was enrolled",
    ),
    *_data_columns(SCREENING),
    *_bookkeeping(),
    sa.UniqueConstraint("site_id", "screening_number", name="uq_screening_site_number"),
    sa.UniqueConstraint("patient_id", name="uq_screening_patient_id"),
)
"""The screening log: one row per screening, enrolled or not (``patient_id`` is then NULL)."""

screening_result = sa.Table(
    "screening_result",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("screening_id", sa.ForeignKey("screening.id", ondelete="CASCADE"), nullable=False),
    sa.Column("screening_version", sa.Integer, nullable=False, comment="The record version judged"),
    sa.Column("protocol_id", sa.String(80), nullable=False),
    sa.Column("protocol_version", sa.String(40), nullable=False),
    sa.Column(
        "protocol_sha256", sa.String(64), nullable=False, comment="Hash of the protocol file"
    ),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("criteria", sa.JSON, nullable=False, comment="Every criterion's result and reason"),
    sa.Column(
        "judged_at",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.current_timestamp(),
    ),
    sa.UniqueConstraint(
        "screening_id",
        "screening_version",
        "protocol_sha256",
        name="uq_screening_result_judgement",
    ),
)
"""Decisions as they were made: never updated, one per record version and protocol file."""

TABLES: dict[str, sa.Table] = {
    t.name: t
    for t in (
        site,
        patient,
        prior_procedure,
        fusion,
        visit,
        adverse_event,
        screening,
        screening_result,
    )
}

PER_PATIENT: tuple[sa.Table, ...] = (patient, prior_procedure, fusion, visit, adverse_event)
"""The tables of patient data: site isolation (and PostgreSQL row-level security) covers them."""


def _utc(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


# The server's own tables: accounts, sessions, tokens, sign-in throttling, signatures, audit.
app_user = sa.Table(
    "app_user",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("printed_name", sa.String(120), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("site_id", sa.ForeignKey("site.id"), nullable=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    _utc("created_at"),
    sa.UniqueConstraint("username"),
)

monitor_site = sa.Table(
    "monitor_site",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False),
    sa.Column("site_id", sa.ForeignKey("site.id"), nullable=True),
    sa.UniqueConstraint("user_id", "site_id"),
)
"""The sites a monitor of several sites covers (the user has no ``site_id``); a row
without a site covers every site, those added later too."""

app_session = sa.Table(
    "app_session",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("app_user.id", ondelete="CASCADE"), nullable=True),
    _utc("created_at"),
    _utc("last_seen_at"),
)

kept_form = sa.Table(
    "kept_form",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("app_user.id", ondelete="CASCADE"), nullable=True),
    sa.Column("path", sa.String(200), nullable=False),
    sa.Column("values_json", sa.Text, nullable=False),
    _utc("created_at"),
)
"""A form posted after its session ended, kept until its user signs in again."""

idempotency_key = sa.Table(
    "idempotency_key",
    metadata,
    sa.Column("user_id", sa.ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("site_id", sa.ForeignKey("site.id"), nullable=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("body", sa.Text, nullable=True),
    _utc("created_at"),
)
"""An API write's Idempotency-Key and its first answer (status NULL while it runs). The
answer can hold patient data, so on PostgreSQL the row is under its site's row-level
security (``site_id``: the user's site; none for site-less roles, whose writes hold none)."""

registry_setting = sa.Table(
    "registry_setting",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    _utc("updated_at"),
    sa.UniqueConstraint("name"),
)
"""A setting of the whole registry that every door reads (store/registry_settings.py);
every change is audited."""

api_token = sa.Table(
    "api_token",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("user_id", sa.ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False),
    sa.Column("site_id", sa.ForeignKey("site.id"), nullable=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("label", sa.String(80), nullable=False),
    _utc("created_at"),
    _utc("expires_at"),
    _utc("revoked_at", nullable=True),
    sa.UniqueConstraint("token_hash"),
)

sign_in_throttle = sa.Table(
    "sign_in_throttle",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    _utc("last_failure_at"),
)

record_signature = sa.Table(
    "record_signature",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("site_id", sa.ForeignKey("site.id"), nullable=False, index=True),
    sa.Column(
        "patient_id", sa.ForeignKey("patient.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("user_id", sa.ForeignKey("app_user.id"), nullable=False),
    sa.Column("printed_name", sa.String(120), nullable=False),
    sa.Column("meaning", sa.String(40), nullable=False),
    _utc("signed_at"),
    sa.Column("record_hash", sa.String(64), nullable=False),
    _utc("unlocked_at", nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _utc("at"),
    sa.Column("user_id", sa.Integer, nullable=True),
    sa.Column("site_id", sa.Integer, nullable=True, index=True),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("table_name", sa.String(40), nullable=True),
    sa.Column("record_id", sa.Integer, nullable=True),
    sa.Column("old_values", sa.Text, nullable=True),
    sa.Column("new_values", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("record_hash", sa.String(64), nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_log_record", "table_name", "record_id"),
)


# Follow-up collection: invitations to answer, and the site's calls (see docs/follow-up.md).
invitation = sa.Table(
    "invitation",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("site_id", sa.ForeignKey("site.id"), nullable=False, index=True),
    sa.Column("patient_id", sa.ForeignKey("patient.id", ondelete="CASCADE"), nullable=False),
    sa.Column("months", sa.Integer, nullable=False, comment="The follow-up time point"),
    sa.Column("opens", sa.Date, nullable=False, comment="First day the link works"),
    sa.Column("closes", sa.Date, nullable=False, comment="Last day the link works"),
    sa.Column("token_hash", sa.String(64), nullable=False, comment="SHA-256 of the link token"),
    sa.Column("salt", sa.String(32), nullable=False, comment="Derives the token with the link key"),
    sa.Column("instruments", sa.String(200), nullable=False, comment="Questionnaire ids, comma"),
    sa.Column("answers", sa.JSON, nullable=True, comment="Answers saved so far, by item"),
    sa.Column("messages_sent", sa.Integer, nullable=False, server_default="0"),
    _utc("created_at"),
    _utc("first_sent_at", nullable=True),
    _utc("last_sent_at", nullable=True),
    _utc("opened_at", nullable=True),
    _utc("completed_at", nullable=True),
    sa.Column("visit_id", sa.ForeignKey("visit.id", ondelete="SET NULL"), nullable=True),
    sa.UniqueConstraint("token_hash", name="uq_invitation_token_hash"),
    sa.UniqueConstraint("patient_id", "months", name="uq_invitation_patient_months"),
)
"""One patient's link for one follow-up time point; the token itself is never stored."""

call_attempt = sa.Table(
    "call_attempt",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("site_id", sa.ForeignKey("site.id"), nullable=False, index=True),
    sa.Column(
        "patient_id", sa.ForeignKey("patient.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("months", sa.Integer, nullable=False),
    sa.Column("user_id", sa.ForeignKey("app_user.id"), nullable=True),
    sa.Column("outcome", sa.String(20), nullable=False),
    _utc("at"),
)
"""A coordinator's call to an overdue patient and its outcome (no free text: no identifiers)."""

FOLLOW_UP: tuple[sa.Table, ...] = (invitation, call_attempt)
"""Per-patient follow-up tables: site-isolated like the records."""

data_query = sa.Table(
    "data_query",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("site_id", sa.ForeignKey("site.id"), nullable=False, index=True),
    sa.Column(
        "patient_id", sa.ForeignKey("patient.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("form", sa.String(40), nullable=False, comment="The queried record's form"),
    sa.Column("record_id", sa.Integer, nullable=False, comment="The queried record"),
    sa.Column("field_name", sa.String(40), nullable=False, comment="The queried field"),
    sa.Column("state", sa.String(10), nullable=False, comment="open, answered or closed"),
    sa.Column("message", sa.Text, nullable=False, comment="The monitor's latest message"),
    sa.Column("answer", sa.Text, nullable=True, comment="The site's latest answer"),
    sa.Column("raised_by", sa.ForeignKey("app_user.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    _utc("created_at"),
    _utc("updated_at"),
)
"""A data query on one field of one record (docs/server.md); every step is audited."""
