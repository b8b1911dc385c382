"""The screening log in the database: records (enrolled or not) and the decisions made on them.

Records are merged by site and screening number, like patients by study id. A
decision is stored with the protocol id, version and file hash that made it and
the record version it judged; it is never updated, so re-judging under a new
protocol (or after a correction) adds a result and keeps the old ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sijreg.domain.dictionary import SCREENING
from sijreg.domain.protocol import Protocol
from sijreg.domain.records import ScreeningRecord, Values
from sijreg.domain.screening import Decision, evaluate
from sijreg.store import audit, schema
from sijreg.store.writer import SaveSummary, _changed, _insert_all, _site_ids, _update, audited


class LinkError(ValueError):
    """Screening records that name no enrolled patient, or one already linked elsewhere.

    ``problems`` pairs the index of each bad record with the reason.
    """

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(reason for _, reason in problems))


@dataclass(frozen=True)
class StoredScreening:
    """A screening record as stored, with its id, version and linked patient."""

    id: int
    site_code: str
    version: int
    values: Values
    study_id: str | None
    patient_id: int | None

    @property
    def label(self) -> str:
        return f"{self.site_code}/{self.values['screening_number']}"


@dataclass(frozen=True)
class StoredResult:
    """A decision as it was stored."""

    screening_version: int
    protocol_id: str
    protocol_version: str
    protocol_sha256: str
    decision: str
    criteria: list[dict[str, Any]]
    judged_at: datetime


def _patients(conn: sa.Connection, site_id_by_code: dict[str, int]) -> dict[tuple[int, str], int]:
    p = schema.patient
    rows = conn.execute(
        sa.select(p.c.site_id, p.c.study_id, p.c.id).where(
            p.c.site_id.in_(site_id_by_code.values())
        )
    )
    return {(site_id, study_id): patient_id for site_id, study_id, patient_id in rows}


def _links(
    conn: sa.Connection, records: Sequence[ScreeningRecord], ids: dict[str, int]
) -> list[int | None]:
    """The patient id each record links to; LinkError lists every record that cannot link."""
    patients = _patients(conn, ids)
    s = schema.screening
    holders = {
        patient_id: (site_id, number)
        for patient_id, site_id, number in conn.execute(
            sa.select(s.c.patient_id, s.c.site_id, s.c.screening_number).where(
                s.c.patient_id.is_not(None)
            )
        )
    }
    links: list[int | None] = []
    problems: list[tuple[int, str]] = []
    claimed: dict[int, str] = {}
    for index, record in enumerate(records):
        if record.study_id is None:
            links.append(None)
            continue
        patient_id = patients.get((ids[record.site_code], record.study_id))
        links.append(patient_id)
        who = f"{record.site_code}/{record.study_id}"
        if patient_id is None:
            problems.append((index, f"no enrolled patient {who}"))
            continue
        holder = holders.get(patient_id)
        if holder is not None and holder != (ids[record.site_code], record.screening_number):
            problems.append((index, f"patient {who} is linked to screening {holder[1]} already"))
        elif patient_id in claimed:
            problems.append((index, f"patient {who} is also linked by {claimed[patient_id]}"))
        claimed[patient_id] = record.screening_number
    if problems:
        raise LinkError(problems)
    return links


def save_screenings(
    conn: sa.Connection, records: Sequence[ScreeningRecord], reason: str = "screening log saved"
) -> SaveSummary:
    """Create or merge screening records on ``conn`` (the caller owns the transaction), audited.

    A record's values replace the stored ones field by field; fields it does not
    hold are left alone.
    """
    with audited(conn, reason):
        return _save(conn, records)


def _save(conn: sa.Connection, records: Sequence[ScreeningRecord]) -> SaveSummary:
    summary = SaveSummary()
    ids = _site_ids(conn, (r.site_code for r in records), summary)
    links = _links(conn, records, ids)
    s = schema.screening
    stored = {
        (row["site_id"], row["screening_number"]): row
        for row in conn.execute(sa.select(s).where(s.c.site_id.in_(ids.values()))).mappings()
    }
    new: list[dict[str, Any]] = []
    for record, patient_id in zip(records, links, strict=True):
        site_id = ids[record.site_code]
        values = {**record.values, "patient_id": patient_id}
        label = f"{record.site_code}/{record.screening_number}"
        existing = stored.get((site_id, record.screening_number))
        if existing is None:
            new.append({"site_id": site_id, **values})
            summary.created.append(label)
        elif diff := _changed(existing, values):
            _update(conn, s, existing["id"], diff)
            summary.updated.append(label)
        else:
            summary.unchanged.append(label)
    _insert_all(conn, s, new)
    return summary


def load_screenings(
    conn: sa.Connection, site: str | None = None, number: str | None = None
) -> list[StoredScreening]:
    """Stored screening records, all or those of one site (and one screening number)."""
    s, st, p = schema.screening, schema.site, schema.patient
    statement = (
        sa.select(s, st.c.site_code, p.c.study_id)
        .join(st, st.c.id == s.c.site_id)
        .outerjoin(p, p.c.id == s.c.patient_id)
        .order_by(st.c.site_code, s.c.screening_number)
    )
    if site is not None:
        statement = statement.where(st.c.site_code == site)
    if number is not None:
        statement = statement.where(s.c.screening_number == number)
    return [
        StoredScreening(
            id=row["id"],
            site_code=row["site_code"],
            version=row["version"],
            values={f.name: row[f.name] for f in SCREENING.fields},
            study_id=row["study_id"],
            patient_id=row["patient_id"],
        )
        for row in conn.execute(statement).mappings()
    ]


def judge(
    conn: sa.Connection, protocol: Protocol, screenings: Sequence[StoredScreening]
) -> list[Decision]:
    """Judge ``screenings`` under ``protocol`` and store each decision not stored yet."""
    r = schema.screening_result
    decisions = [evaluate(protocol, s.values) for s in screenings]
    done = set(
        conn.execute(
            sa.select(r.c.screening_id, r.c.screening_version).where(
                r.c.protocol_sha256 == protocol.sha256,
                r.c.screening_id.in_([s.id for s in screenings]),
            )
        )
    )
    rows = [
        {
            "screening_id": s.id,
            "screening_version": s.version,
            "protocol_id": protocol.id,
            "protocol_version": protocol.version,
            "protocol_sha256": protocol.sha256,
            "decision": d.verdict.value,
            "criteria": [c.as_dict() for c in d.criteria],
        }
        for s, d in zip(screenings, decisions, strict=True)
        if (s.id, s.version) not in done
    ]
    if rows:
        conn.execute(sa.insert(r), rows)
        _audit_results(
            conn,
            protocol.sha256,
            {(s.id, s.version) for s in screenings if (s.id, s.version) not in done},
        )
    return decisions


def _audit_results(conn: sa.Connection, sha256: str, judged: set[tuple[int, int]]) -> None:
    """A creation entry, with its hash, for every decision just stored."""
    r, s = schema.screening_result, schema.screening
    stored = conn.execute(
        sa.select(r, s.c.site_id)
        .join(s, s.c.id == r.c.screening_id)
        .where(r.c.protocol_sha256 == sha256, r.c.screening_id.in_([i for i, _ in judged]))
        .order_by(r.c.id)
    ).mappings()
    for row in stored.all():
        if (row["screening_id"], row["screening_version"]) in judged:
            audit.append(
                conn,
                audit.Entry(
                    audit.Action.CREATE,
                    site_id=row["site_id"],
                    table_name=r.name,
                    record_id=row["id"],
                    new_values={"screening_id": row["screening_id"], "decision": row["decision"]},
                    record_hash=audit.record_hash(r, row),
                ),
            )


def stored_results(conn: sa.Connection, screening_id: int) -> list[StoredResult]:
    """Every decision stored for one screening record, oldest first."""
    r = schema.screening_result
    rows = conn.execute(
        sa.select(r).where(r.c.screening_id == screening_id).order_by(r.c.id)
    ).mappings()
    return [
        StoredResult(
            row["screening_version"],
            row["protocol_id"],
            row["protocol_version"],
            row["protocol_sha256"],
            row["decision"],
            row["criteria"],
            row["judged_at"],
        )
        for row in rows
    ]
