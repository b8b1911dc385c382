"""Follow-up invitations: issuing links, finding one by its token, saving answers, submitting.

A link's token is derived from a per-invitation salt and the site's link key (a file
kept outside the database, see docs/follow-up.md): HMAC-SHA256, 256 bits, URL-safe.
The database holds the salt and the token's SHA-256 only, so neither a copy of the
database nor one of the key alone gives a working link, while the site can print the
same link again for a reminder. SHA-256 (not a slow hash) is right for a random
256-bit secret: there is nothing to guess from.

A submission becomes a visit of the patient, audited with the invitation as actor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from sijreg.domain import dictionary as dd
from sijreg.domain.followup import TimePoint, time_points, window_dates
from sijreg.domain.questionnaire import Instrument, visit_values
from sijreg.domain.schedule import Window
from sijreg.store import accounts, audit, schema
from sijreg.store.scope import set_database_scope

KEY_BYTES = 32


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def token_for(key: bytes, salt: str) -> str:
    """The link token of an invitation: HMAC-SHA256 of its salt under the site's link key."""
    mac = hmac.new(key, salt.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    conn: sa.Connection,
    site_id: int,
    key: bytes,
    today: date,
    windows: Sequence[Window],
    instruments: Sequence[Instrument],
) -> int:
    """An invitation for every fused patient of the site and every window not yet closed.

    Existing invitations are kept (their links stay valid); returns how many were made.
    """
    set_database_scope(conn, site_id)
    f, inv = schema.fusion, schema.invitation
    fused = conn.execute(
        sa.select(f.c.patient_id, f.c.fusion_date).where(f.c.site_id == site_id)
    ).all()
    have = {
        (row.patient_id, row.months)
        for row in conn.execute(
            sa.select(inv.c.patient_id, inv.c.months).where(inv.c.site_id == site_id)
        )
    }
    rows = []
    for patient_id, fusion_date in fused:
        for window in windows:
            _, opens, closes = window_dates(fusion_date, window)
            if closes < today or (patient_id, window.months) in have:
                continue
            salt = secrets.token_hex(16)
            rows.append(
                {
                    "site_id": site_id,
                    "patient_id": patient_id,
                    "months": window.months,
                    "opens": opens,
                    "closes": closes,
                    "salt": salt,
                    "token_hash": token_hash(token_for(key, salt)),
                    "instruments": ",".join(i.id for i in instruments),
                    "created_at": accounts.now(),
                }
            )
    if rows:
        conn.execute(sa.insert(inv), rows)
    return len(rows)


@dataclass(frozen=True)
class Link:
    """An invitation as its link sees it."""

    id: int
    site_id: int
    patient_id: int
    months: int
    opens: date
    closes: date
    answers: dict[str, str]
    site_name: str


def open_link(conn: sa.Connection, token: str, today: date) -> Link | None:
    """The invitation of a live link: known token, window open, not yet submitted.

    None for a wrong, used or expired token alike. On PostgreSQL the lookup itself
    passes row-level security only through the token's hash; the transaction then
    acts for the invitation's site and nothing else.
    """
    if not 20 <= len(token) <= 100:
        return None
    digest = token_hash(token)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT set_config('sijreg.invitation', :h, true)"), {"h": digest})
    inv = schema.invitation
    row = conn.execute(sa.select(inv).where(inv.c.token_hash == digest)).mappings().first()
    if row is None or row["completed_at"] is not None or not row["opens"] <= today <= row["closes"]:
        return None
    set_database_scope(conn, row["site_id"])
    s = schema.site
    site = conn.execute(
        sa.select(s.c.site_name, s.c.site_code).where(s.c.id == row["site_id"])
    ).one()
    if row["opened_at"] is None:
        conn.execute(sa.update(inv).where(inv.c.id == row["id"]).values(opened_at=accounts.now()))
    return Link(
        row["id"],
        row["site_id"],
        row["patient_id"],
        row["months"],
        row["opens"],
        row["closes"],
        dict(row["answers"] or {}),
        site.site_name or site.site_code,
    )


def save_answers(conn: sa.Connection, link: Link, answers: Mapping[str, str]) -> dict[str, str]:
    """Merge a page's answers into those saved so far (an empty one: seen, not answered)."""
    merged = {**link.answers, **answers}
    inv = schema.invitation
    conn.execute(
        sa.update(inv)
        .where(inv.c.id == link.id, inv.c.site_id == link.site_id)
        .values(answers=merged)
    )
    return merged


class PatientLocked(Exception):
    """The patient's records are signed and locked: the site must unlock to take answers."""


def submit(
    conn: sa.Connection,
    site_id: int,
    patient_id: int,
    months: int,
    instruments: Sequence[Instrument],
    answers: Mapping[str, str],
    source: str,
    today: date,
    user_id: int | None = None,
) -> int:
    """The answers as the patient's visit of ``today``; returns the visit id.

    The visit carries its source (patient web, phone, paper); the audit entry names
    the invitation (and the coordinator, for phone or paper answers). A visit already
    recorded that day keeps its values and gains only the ones it lacks. The time
    point's invitation, if any, is completed and its link stops working.
    """
    inv, v = schema.invitation, schema.visit
    invitation_id = conn.execute(
        sa.select(inv.c.id).where(
            inv.c.site_id == site_id, inv.c.patient_id == patient_id, inv.c.months == months
        )
    ).scalar()
    sig = schema.record_signature
    if conn.execute(
        sa.select(sig.c.id).where(sig.c.patient_id == patient_id, sig.c.unlocked_at.is_(None))
    ).first():
        raise PatientLocked
    values = visit_values(instruments, answers)
    values["source"] = dd.field("source").parse(source)
    moment = accounts.now()
    by = f"invitation {invitation_id}" if invitation_id is not None else "no invitation"
    why = f"follow-up at {months} months answered ({source}; {by})"
    old = (
        conn.execute(sa.select(v).where(v.c.patient_id == patient_id, v.c.visit_date == today))
        .mappings()
        .first()
    )
    if old is None:
        visit_id = conn.execute(
            sa.insert(v)
            .values(
                site_id=site_id,
                patient_id=patient_id,
                visit_date=today,
                **values,
                version=1,
                created_at=moment,
                updated_at=moment,
            )
            .returning(v.c.id)
        ).scalar_one()
        action, before = audit.Action.CREATE, None
    else:
        visit_id = old["id"]
        gained = {k: val for k, val in values.items() if old[k] is None}
        conn.execute(
            sa.update(v)
            .where(v.c.id == visit_id)
            .values(**gained, version=old["version"] + 1, updated_at=moment)
        )
        action, before = audit.Action.UPDATE, old
    new = conn.execute(sa.select(v).where(v.c.id == visit_id)).mappings().one()
    audit.append(
        conn,
        audit.Entry(
            action,
            user_id=user_id,
            site_id=site_id,
            table_name="visit",
            record_id=visit_id,
            old_values=audit.record_state(v, before) if before is not None else None,
            new_values=audit.record_state(v, new),
            reason=why,
            record_hash=audit.record_hash(v, new),
        ),
    )
    if invitation_id is not None:
        conn.execute(
            sa.update(inv)
            .where(inv.c.id == invitation_id)
            .values(completed_at=moment, visit_id=visit_id, answers=dict(answers))
        )
    return int(visit_id)


def record_sent(conn: sa.Connection, invitation_id: int, moment: datetime) -> None:
    """That (and when) a message went out: nothing of where it went."""
    inv = schema.invitation
    conn.execute(
        sa.update(inv)
        .where(inv.c.id == invitation_id)
        .values(
            messages_sent=inv.c.messages_sent + 1,
            first_sent_at=sa.func.coalesce(inv.c.first_sent_at, moment),
            last_sent_at=moment,
        )
    )


def invitations(conn: sa.Connection, site_id: int) -> list[sa.RowMapping]:
    """The site's invitations with the patient's study id, by study id and time point."""
    set_database_scope(conn, site_id)
    inv, p = schema.invitation, schema.patient
    return list(
        conn.execute(
            sa.select(inv, p.c.study_id)
            .join(p, p.c.id == inv.c.patient_id)
            .where(inv.c.site_id == site_id)
            .order_by(p.c.study_id, inv.c.months)
        ).mappings()
    )


@dataclass(frozen=True)
class PatientFollowUp:
    patient_id: int
    study_id: str
    time_points: list[TimePoint]


def follow_up(
    conn: sa.Connection,
    site_id: int,
    today: date,
    windows: Sequence[Window],
    reminder_days: Sequence[int],
) -> list[PatientFollowUp]:
    """Every fused patient of the site and the state of each follow-up today."""
    set_database_scope(conn, site_id)
    f, v, p, inv = schema.fusion, schema.visit, schema.patient, schema.invitation
    visits: dict[int, list[date]] = {}
    for pid, when in conn.execute(
        sa.select(v.c.patient_id, v.c.visit_date).where(v.c.site_id == site_id)
    ):
        visits.setdefault(pid, []).append(when)
    sent: dict[int, dict[int, int]] = {}
    for pid, months, count in conn.execute(
        sa.select(inv.c.patient_id, inv.c.months, inv.c.messages_sent).where(
            inv.c.site_id == site_id
        )
    ):
        sent.setdefault(pid, {})[months] = count
    rows = conn.execute(
        sa.select(p.c.id, p.c.study_id, f.c.fusion_date)
        .join(f, f.c.patient_id == p.c.id)
        .where(p.c.site_id == site_id)
        .order_by(p.c.study_id)
    ).all()
    return [
        PatientFollowUp(
            pid,
            study_id,
            time_points(fused, visits.get(pid, []), today, windows, sent.get(pid), reminder_days),
        )
        for pid, study_id, fused in rows
    ]


CALL_OUTCOMES = (
    ("reached_will_answer", "Reached: will answer on the link"),
    ("answered_by_phone", "Reached: answered by phone"),
    ("no_answer", "No answer"),
    ("left_message", "Left a message"),
    ("declined", "Declined follow-up"),
    ("unreachable", "Number not in service"),
)


def record_call(
    conn: sa.Connection, site_id: int, patient_id: int, months: int, outcome: str, user_id: int
) -> None:
    if outcome not in dict(CALL_OUTCOMES):
        raise ValueError("choose the call's outcome")
    conn.execute(
        sa.insert(schema.call_attempt).values(
            site_id=site_id,
            patient_id=patient_id,
            months=months,
            outcome=outcome,
            user_id=user_id,
            at=accounts.now(),
        )
    )


def calls(conn: sa.Connection, site_id: int) -> dict[tuple[int, int], list[Any]]:
    """The site's call attempts by (patient, months), oldest first."""
    c = schema.call_attempt
    found: dict[tuple[int, int], list[Any]] = {}
    for row in conn.execute(sa.select(c).where(c.c.site_id == site_id).order_by(c.c.at)):
        found.setdefault((row.patient_id, row.months), []).append(row)
    return found
