"""The audit path as it was before bulk writing (sijreg 71fc07e, src/sijreg/store/writer.py),
kept verbatim below this docstring as the reference the bulk path is compared with: one
audit.append per row, each row read back alone. Only tests import it.
"""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from sijreg.domain.records import PatientRecord, Values
from sijreg.store import audit, schema


@dataclass
class SaveSummary:
    """What a save did, patient by patient."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    sites_created: list[str] = field(default_factory=list)

    def describe(self, records: str = "patients") -> str:
        """One sentence for the user."""
        text = (
            f"{len(self.created)} {records} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged"
        )
        if self.sites_created:
            text += f"; new sites: {', '.join(self.sites_created)}"
        return text


def _site_ids(conn: sa.Connection, codes: Iterable[str], summary: SaveSummary) -> dict[str, int]:
    wanted = sorted(set(codes))
    found = dict(
        conn.execute(
            sa.select(schema.site.c.site_code, schema.site.c.id).where(
                schema.site.c.site_code.in_(wanted)
            )
        ).all()
    )
    for code in wanted:
        if code not in found:
            found[code] = conn.execute(
                sa.insert(schema.site).values(site_code=code).returning(schema.site.c.id)
            ).scalar_one()
            summary.sites_created.append(code)
    return found


def _rows(table: sa.Table, where: sa.ColumnElement[bool], conn: sa.Connection) -> list[Any]:
    return list(conn.execute(sa.select(table).where(where)).mappings())


def _changed(stored: Any, values: Values) -> dict[str, Any]:
    return {k: v for k, v in values.items() if stored[k] != v}


AUDITED = frozenset({"patient", "prior_procedure", "fusion", "visit", "adverse_event", "screening"})
_JOURNAL = "sijreg.save_journal"


@dataclass
class _Journal:
    """What one save did, row by row, to be written to the audit trail at its end."""

    created: list[tuple[sa.Table, int]] = field(default_factory=list)
    updated: list[tuple[sa.Table, int, dict[str, Any]]] = field(default_factory=list)
    deleted: list[tuple[sa.Table, dict[str, Any]]] = field(default_factory=list)


def _journal(conn: sa.Connection, table: sa.Table) -> _Journal | None:
    journal = conn.info.get(_JOURNAL)
    return journal if isinstance(journal, _Journal) and table.name in AUDITED else None


def _state(conn: sa.Connection, table: sa.Table, row_id: int) -> dict[str, Any]:
    return dict(conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one())


def _update(conn: sa.Connection, table: sa.Table, row_id: int, values: dict[str, Any]) -> None:
    if (journal := _journal(conn, table)) is not None:
        journal.updated.append((table, row_id, _state(conn, table, row_id)))
    conn.execute(
        sa.update(table)
        .where(table.c.id == row_id)
        .values(**values, version=table.c.version + 1, updated_at=sa.func.current_timestamp())
    )


def _merge(
    conn: sa.Connection,
    patient_id: int,
    site_id: int,
    record: PatientRecord,
    owned_procedures: frozenset[str],
) -> bool:
    """Merge ``record`` into the stored patient; True when anything changed."""
    changed = False
    stored = _rows(schema.patient, schema.patient.c.id == patient_id, conn)[0]
    if diff := _changed(stored, record.patient):
        _update(conn, schema.patient, patient_id, diff)
        changed = True
    keys = {"site_id": site_id, "patient_id": patient_id}
    if record.fusion is not None:
        fusions = _rows(schema.fusion, schema.fusion.c.patient_id == patient_id, conn)
        if not fusions:
            _insert_all(conn, schema.fusion, [{**keys, **record.fusion}])
            changed = True
        elif diff := _changed(fusions[0], record.fusion):
            _update(conn, schema.fusion, fusions[0]["id"], diff)
            changed = True
    stored_visits = {
        v["visit_date"]: v
        for v in _rows(schema.visit, schema.visit.c.patient_id == patient_id, conn)
    }
    for visit in record.visits:
        existing = stored_visits.get(visit["visit_date"])
        if existing is None:
            _insert_all(conn, schema.visit, [{**keys, **visit}])
            changed = True
        elif diff := _changed(existing, visit):
            _update(conn, schema.visit, existing["id"], diff)
            changed = True
    changed |= _merge_procedures(conn, patient_id, keys, record, owned_procedures)
    return changed


def _merge_procedures(
    conn: sa.Connection,
    patient_id: int,
    keys: dict[str, int],
    record: PatientRecord,
    owned: frozenset[str],
) -> bool:
    table = schema.prior_procedure
    stored = Counter(
        r["procedure"]
        for r in _rows(
            table, sa.and_(table.c.patient_id == patient_id, table.c.procedure.in_(owned)), conn
        )
    )
    wanted = Counter(p["procedure"] for p in record.prior_procedures if p["procedure"] in owned)
    if stored == wanted:
        return False
    if (journal := _journal(conn, table)) is not None:
        journal.deleted += [
            (table, dict(r))
            for r in _rows(
                table, sa.and_(table.c.patient_id == patient_id, table.c.procedure.in_(owned)), conn
            )
        ]
    conn.execute(
        sa.delete(table).where(table.c.patient_id == patient_id, table.c.procedure.in_(owned))
    )
    _insert_all(
        conn, table, [{**keys, **p} for p in record.prior_procedures if p["procedure"] in owned]
    )
    return True


def _insert_all(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows grouped by their set of keys (executemany needs one shape per batch)."""
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_shape.setdefault(tuple(sorted(row)), []).append(row)
    journal = _journal(conn, table)
    for batch in by_shape.values():
        if journal is None:
            conn.execute(sa.insert(table), batch)
        else:
            ids = conn.execute(sa.insert(table).returning(table.c.id), batch).scalars()
            journal.created += [(table, int(i)) for i in ids]


def save_patients(
    conn: sa.Connection,
    records: Sequence[PatientRecord],
    owned_procedures: Iterable[str] = (),
    reason: str = "saved in bulk",
) -> SaveSummary:
    """Create or merge ``records`` on ``conn`` (the caller owns the transaction), audited."""
    with audited(conn, reason):
        return _save(conn, records, frozenset(owned_procedures))


@contextmanager
def audited(conn: sa.Connection, reason: str) -> Iterator[None]:
    """Record every row the block creates, changes or deletes (through this module's
    helpers), and write it to the audit trail when the block ends without an error."""
    journal = conn.info[_JOURNAL] = _Journal()
    try:
        yield
    finally:
        del conn.info[_JOURNAL]
    _write_audit(conn, journal, reason)


def _write_audit(conn: sa.Connection, journal: _Journal, reason: str) -> None:
    def entry(action: audit.Action, table: sa.Table, row: dict[str, Any], **more: Any) -> None:
        audit.append(
            conn,
            audit.Entry(
                action,
                site_id=row["site_id"],
                table_name=table.name,
                record_id=row["id"],
                reason=reason,
                **more,
            ),
        )

    # Deletions first: a deleted row's id can come back (SQLite) for a row created later.
    for table, old in journal.deleted:
        entry(audit.Action.DELETE, table, old, old_values=audit.record_state(table, old))
    for table, row_id in journal.created:
        new = _state(conn, table, row_id)
        state, digest = audit.record_state(table, new), audit.record_hash(table, new)
        entry(audit.Action.CREATE, table, new, new_values=state, record_hash=digest)
    for table, row_id, old in journal.updated:
        new = _state(conn, table, row_id)
        entry(
            audit.Action.UPDATE,
            table,
            new,
            old_values=audit.record_state(table, old),
            new_values=audit.record_state(table, new),
            record_hash=audit.record_hash(table, new),
        )


def _save(
    conn: sa.Connection, records: Sequence[PatientRecord], owned: frozenset[str]
) -> SaveSummary:
    summary = SaveSummary()
    site_ids = _site_ids(conn, (r.site_code for r in records), summary)
    existing = {
        (site_id, study_id): patient_id
        for patient_id, site_id, study_id in conn.execute(
            sa.select(
                schema.patient.c.id, schema.patient.c.site_id, schema.patient.c.study_id
            ).where(schema.patient.c.site_id.in_(site_ids.values()))
        )
    }
    new: list[PatientRecord] = []
    for record in records:
        site_id = site_ids[record.site_code]
        patient_id = existing.get((site_id, record.study_id))
        label = f"{record.site_code}/{record.study_id}"
        if patient_id is None:
            new.append(record)
            summary.created.append(label)
        elif _merge(conn, patient_id, site_id, record, owned):
            summary.updated.append(label)
        else:
            summary.unchanged.append(label)
    _insert_new(conn, new, site_ids)
    return summary


def _insert_new(
    conn: sa.Connection, records: Sequence[PatientRecord], site_ids: dict[str, int]
) -> None:
    if not records:
        return
    _insert_all(
        conn, schema.patient, [{"site_id": site_ids[r.site_code], **r.patient} for r in records]
    )
    ids = {
        (site_id, study_id): patient_id
        for patient_id, site_id, study_id in conn.execute(
            sa.select(
                schema.patient.c.id, schema.patient.c.site_id, schema.patient.c.study_id
            ).where(schema.patient.c.site_id.in_(set(site_ids.values())))
        )
    }
    children: dict[str, list[dict[str, Any]]] = {
        "fusion": [],
        "prior_procedure": [],
        "visit": [],
        "adverse_event": [],
    }
    for r in records:
        site_id = site_ids[r.site_code]
        keys = {"site_id": site_id, "patient_id": ids[(site_id, r.study_id)]}
        if r.fusion is not None:
            children["fusion"].append({**keys, **r.fusion})
        children["prior_procedure"] += [{**keys, **p} for p in r.prior_procedures]
        children["visit"] += [{**keys, **v} for v in r.visits]
        children["adverse_event"] += [{**keys, **a} for a in r.adverse_events]
    for name, rows in children.items():
        if rows:
            _insert_all(conn, schema.TABLES[name], rows)
