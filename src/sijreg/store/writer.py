"""Saving patient records: insert new patients, merge into existing ones, in one transaction.

Every row it creates, changes or deletes is written to the audit trail, in the same
transaction, with the reason the caller gives (for example the sheet it imported).
Records are saved in chunks, each with a few bulk statements per table (never a
statement per patient): the stored rows a chunk touches are read at once, compared
in memory, and written back with ``executemany``; the audit entries are serialised
from the rows the inserts return and appended with :func:`audit.append_many`.

The merge rule, shared by sheet imports and the demo, is that a record is the
source's whole truth about what it covers: its patient and fusion values replace
the stored ones, its visits are matched by date, and the prior procedures it
*owns* (for the study sheet: SCS, ISS, IDDS, MILD) are made equal to its list.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from sijreg.domain.records import PatientRecord, Values
from sijreg.store import audit, integrity, schema


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


@dataclass(frozen=True)
class RuleCheck:
    """Check each merged patient against the rules as of ``today``; ``refused`` hears of
    every record whose merge the rules refuse (the caller then abandons the save)."""

    today: date
    refused: Callable[[PatientRecord, list[integrity.Refusal]], None]


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


def _changed(stored: Any, values: Values) -> dict[str, Any]:
    return {k: v for k, v in values.items() if stored[k] != v}


AUDITED = frozenset({"patient", "prior_procedure", "fusion", "visit", "adverse_event", "screening"})
_JOURNAL = "sijreg.save_journal"
CHUNK = 5_000
"""Records saved per round of bulk statements: memory stays bounded by it, not by the input."""


@dataclass
class _Journal:
    """What one save did, row by row, to be written to the audit trail.

    Entries are serialised as rows are written (``deleted``, ``created``), except an
    update's new state, read back in bulk when the journal is flushed.
    """

    reason: str
    deleted: list[audit.Staged] = field(default_factory=list)
    created: list[audit.Staged] = field(default_factory=list)
    updated: list[tuple[sa.Table, int, Any]] = field(default_factory=list)
    held: list[audit.Staged] = field(default_factory=list)
    spilled: bool = False

    def collect(self, conn: sa.Connection) -> None:
        """Serialise what the journal holds, in the order the trail gets it: deletions
        first (a deleted row's id can come back on SQLite for a row created later),
        then creations, then updates."""
        self.held += self.deleted + self.created
        by_table: dict[sa.Table, list[int]] = {}
        for table, row_id, _ in self.updated:
            by_table.setdefault(table, []).append(row_id)
        new = {
            (table, row["id"]): row
            for table, ids in by_table.items()
            for row in _rows_by_id(conn, table, ids)
        }
        self.held += [
            audit.stage_change(audit.Action.UPDATE, t, old, new[(t, i)], self.reason)
            for t, i, old in self.updated
        ]
        self.deleted, self.created, self.updated = [], [], []


def _among(
    conn: sa.Connection, column: sa.ColumnElement[Any], values: Iterable[Any]
) -> sa.ColumnElement[bool]:
    """``column IN values`` for thousands of values, sent as one parameter: a list of
    bind parameters costs SQLAlchemy more than the query itself."""
    listed = sorted(set(values))
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, listed, type_=postgresql.ARRAY(column.type)))
    each = sa.func.json_each(sa.bindparam(None, json.dumps(listed), type_=sa.String))
    return column.in_(sa.select(sa.literal_column("value")).select_from(each))


def _rows_by_id(conn: sa.Connection, table: sa.Table, ids: Sequence[int]) -> list[Any]:
    return list(conn.execute(sa.select(table).where(_among(conn, table.c.id, ids))).mappings())


def _journal(conn: sa.Connection, table: sa.Table) -> _Journal | None:
    journal = conn.info.get(_JOURNAL)
    return journal if isinstance(journal, _Journal) and table.name in AUDITED else None


def _update(conn: sa.Connection, table: sa.Table, row_id: int, values: dict[str, Any]) -> None:
    (old,) = _rows_by_id(conn, table, [row_id])
    _update_all(conn, table, [(old, values)])


def _update_all(
    conn: sa.Connection, table: sa.Table, changes: Sequence[tuple[Any, dict[str, Any]]]
) -> None:
    """Apply each (stored row, changed values), grouped by the columns they change."""
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for old, values in changes:
        by_shape.setdefault(tuple(sorted(values)), []).append({"_id": old["id"], **values})
    for shape, batch in by_shape.items():
        conn.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("_id"))
            .values(
                {
                    **{c: sa.bindparam(c) for c in shape},
                    "version": table.c.version + 1,
                    "updated_at": sa.func.current_timestamp(),
                }
            ),
            batch,
        )
    if (journal := _journal(conn, table)) is not None:
        journal.updated += [(table, old["id"], old) for old, _ in changes]


def _delete_all(conn: sa.Connection, table: sa.Table, rows: Sequence[Any]) -> None:
    if rows:
        conn.execute(sa.delete(table).where(_among(conn, table.c.id, (r["id"] for r in rows))))
    if (journal := _journal(conn, table)) is not None:
        journal.deleted += [
            audit.stage_change(audit.Action.DELETE, table, r, None, journal.reason) for r in rows
        ]


def _insert_all(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows grouped by their set of keys (executemany needs one shape per batch)."""
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_shape.setdefault(tuple(sorted(row)), []).append(row)
    journal = _journal(conn, table)
    for batch in by_shape.values():
        if journal is None:
            conn.execute(sa.insert(table), batch)
            continue
        created = conn.execute(sa.insert(table).returning(*table.c), batch).mappings().all()
        journal.created += [
            audit.stage_change(audit.Action.CREATE, table, None, new, journal.reason)
            for new in sorted(created, key=lambda r: int(r["id"]))
        ]


def save_patients(
    conn: sa.Connection,
    records: Iterable[PatientRecord],
    owned_procedures: Iterable[str] = (),
    reason: str = "saved in bulk",
    chunk: int = CHUNK,
    check: RuleCheck | None = None,
) -> SaveSummary:
    """Create or merge ``records`` on ``conn`` (the caller owns the transaction), audited.

    ``records`` may be a stream: they are read and saved ``chunk`` at a time. With
    ``check``, a record merged into a stored patient is checked against the rules as
    the patient will be, stored records and incoming together
    (:func:`integrity.change_refusals`, the check a form's save makes too).
    """
    summary = SaveSummary()
    owned = frozenset(owned_procedures)
    with audited(conn, reason) as journal:
        iterator = iter(records)
        while batch := list(islice(iterator, chunk)):
            _save(conn, batch, owned, summary, check)
            journal.collect(conn)
            _publish(conn, journal, final=False)
    return summary


@contextmanager
def audited(conn: sa.Connection, reason: str) -> Iterator[_Journal]:
    """Record every row the block creates, changes or deletes (through this module's
    helpers), and write it to the audit trail when the block ends without an error."""
    journal = conn.info[_JOURNAL] = _Journal(reason)
    try:
        yield journal
    finally:
        del conn.info[_JOURNAL]
    journal.collect(conn)
    _publish(conn, journal, final=True)


HOLD_IN_MEMORY = 200_000
"""Entries a save on PostgreSQL keeps in memory before it moves them to the database."""


def _publish(conn: sa.Connection, journal: _Journal, *, final: bool) -> None:
    """Append what the journal holds to the chain, or keep it for the end.

    SQLite has one writer: the save holds its write lock from its first row, so
    entries go out chunk by chunk and memory stays bounded. On PostgreSQL rows are
    written side by side with other transactions and only the chain is serialised,
    so the entries wait for the end (in memory, past :data:`HOLD_IN_MEMORY` in a
    temporary table): the chain lock is then held for their writing and the commit
    alone, never for the whole save.

    Why not chunk by chunk on PostgreSQL too, letting go of the chain in between?
    An entry chains to the one before it, so the next save's entry would chain to
    this save's, which are not committed (and would vanish with a rollback): every
    other save would have to wait for this one's commit anyway. Meanwhile other
    saves are told "busy, retry" at once (``bulk``) instead of waiting.
    """
    if conn.dialect.name == "sqlite" or (final and not journal.spilled):
        audit.append_many(conn, journal.held, bulk=True)
    elif final or len(journal.held) >= HOLD_IN_MEMORY:
        audit.hold(conn, journal.held)
        journal.spilled = True
        if final:
            audit.append_held(conn)
    else:
        return
    journal.held = []


def _save(
    conn: sa.Connection,
    records: Sequence[PatientRecord],
    owned: frozenset[str],
    summary: SaveSummary,
    check: RuleCheck | None,
) -> None:
    site_ids = _site_ids(conn, (r.site_code for r in records), summary)
    stored = _stored(conn, records, site_ids, owned)
    new: list[PatientRecord] = []
    merge = _Merge(owned)
    for record in records:
        site_id = site_ids[record.site_code]
        patient = stored.patients.get((site_id, record.study_id))
        label = f"{record.site_code}/{record.study_id}"
        if patient is None:
            new.append(record)
            summary.created.append(label)
        elif merge.add(patient, record, stored):
            summary.updated.append(label)
        else:
            summary.unchanged.append(label)
    if check is not None and merge.changes:
        _check_merges(conn, merge.changes, check)
    merge.apply(conn)
    _insert_new(conn, new, site_ids)


def _check_merges(
    conn: sa.Connection,
    changes: Sequence[tuple[PatientRecord, int, list[integrity.Change]]],
    check: RuleCheck,
) -> None:
    """Each changed patient as the merge leaves it, against the rules."""
    stored = {s.patient_id: s for s in integrity.load(conn, None, [pid for _, pid, _ in changes])}
    for record, pid, changed in changes:
        if refusals := integrity.change_refusals(stored[pid], changed, check.today):
            check.refused(record, refusals)


@dataclass
class _Stored:
    """The stored rows of the patients a chunk names, read in one statement per table."""

    patients: dict[tuple[int, str], Any] = field(default_factory=dict)
    fusions: dict[int, list[Any]] = field(default_factory=dict)
    visits: dict[int, list[Any]] = field(default_factory=dict)
    procedures: dict[int, list[Any]] = field(default_factory=dict)


def _stored(
    conn: sa.Connection,
    records: Sequence[PatientRecord],
    site_ids: dict[str, int],
    owned: frozenset[str],
) -> _Stored:
    p = schema.patient
    wanted = {(site_ids[r.site_code], r.study_id) for r in records}
    found = _Stored()
    candidates = (
        conn.execute(
            sa.select(p).where(
                p.c.site_id.in_(sorted({s for s, _ in wanted})),
                p.c.study_id.in_(sorted({i for _, i in wanted})),
            )
        )
        .mappings()
        .all()
    )
    found.patients = {
        key: row for row in candidates if (key := (row["site_id"], row["study_id"])) in wanted
    }
    ids = sorted(row["id"] for row in found.patients.values())
    if not ids:
        return found
    for table, into, extra in (
        (schema.fusion, found.fusions, None),
        (schema.visit, found.visits, None),
        (schema.prior_procedure, found.procedures, schema.prior_procedure.c.procedure.in_(owned)),
    ):
        where = _among(conn, table.c.patient_id, ids)
        query = sa.select(table).where(where if extra is None else sa.and_(where, extra))
        for row in conn.execute(query.order_by(table.c.id)).mappings():
            into.setdefault(row["patient_id"], []).append(row)
    return found


@dataclass
class _Merge:
    """The changes that merging a chunk's known patients makes, written table by table.

    Every change is numbered in record order, and the journal's entries are put back in
    that order: rows get the ids, and the trail the order, a patient-by-patient merge
    gives (the test against the per-row audit path relies on it).
    """

    owned: frozenset[str]
    updates: dict[str, list[tuple[Any, dict[str, Any], int]]] = field(default_factory=dict)
    inserts: dict[str, list[tuple[dict[str, Any], int]]] = field(default_factory=dict)
    deletes: list[Any] = field(default_factory=list)
    step: int = 0
    changes: list[tuple[PatientRecord, int, list[integrity.Change]]] = field(default_factory=list)
    """Per changed patient: its record and stored id, and the changes as the rules see them."""

    def add(self, patient: Any, record: PatientRecord, stored: _Stored) -> bool:
        """Queue what merging ``record`` into ``patient`` changes; True when anything does."""
        pid = patient["id"]
        keys = {"site_id": patient["site_id"], "patient_id": pid}
        changes: list[integrity.Change] = []
        changed = self._update("patient", patient, record.patient, changes)
        if record.fusion is not None:
            fusions = stored.fusions.get(pid, [])
            if not fusions:
                changed = self._insert("fusion", [{**keys, **record.fusion}], changes)
            else:
                changed |= self._update("fusion", fusions[0], record.fusion, changes)
        by_date = {v["visit_date"]: v for v in stored.visits.get(pid, [])}
        for visit in record.visits:
            existing = by_date.get(visit["visit_date"])
            if existing is None:
                changed = self._insert("visit", [{**keys, **visit}], changes)
            else:
                changed |= self._update("visit", existing, visit, changes)
        procedures = stored.procedures.get(pid, [])
        wanted = [p for p in record.prior_procedures if p["procedure"] in self.owned]
        if Counter(r["procedure"] for r in procedures) != Counter(p["procedure"] for p in wanted):
            self.deletes += procedures
            changes += [("prior_procedure", p["id"], None) for p in procedures]
            changed = self._insert("prior_procedure", [{**keys, **p} for p in wanted], changes)
        if changes:
            self.changes.append((record, pid, changes))
        return changed

    def _update(
        self, name: str, stored: Any, values: Values, changes: list[integrity.Change]
    ) -> bool:
        if diff := _changed(stored, values):
            self.step += 1
            self.updates.setdefault(name, []).append((stored, diff, self.step))
            changes.append((name, stored["id"], diff))
        return bool(diff)

    def _insert(
        self, name: str, rows: list[dict[str, Any]], changes: list[integrity.Change]
    ) -> bool:
        for row in rows:
            self.step += 1
            self.inserts.setdefault(name, []).append((row, self.step))
            changes.append((name, None, {k: v for k, v in row.items() if k not in _KEYS}))
        return True

    def apply(self, conn: sa.Connection) -> None:
        journal = conn.info.get(_JOURNAL)
        created = len(journal.created) if isinstance(journal, _Journal) else 0
        updated = len(journal.updated) if isinstance(journal, _Journal) else 0
        _delete_all(conn, schema.prior_procedure, self.deletes)
        update_steps: list[int] = []
        for name, changes in self.updates.items():
            _update_all(conn, schema.TABLES[name], [(old, diff) for old, diff, _ in changes])
            update_steps += [step for _, _, step in changes]
        insert_steps: list[int] = []
        for name, queued in self.inserts.items():
            columns = sorted({c for row, _ in queued for c in row})
            rows = [{c: row.get(c) for c in columns} for row, _ in queued]
            _insert_all(conn, schema.TABLES[name], rows)  # one shape: ids in queued order
            insert_steps += [step for _, step in queued]
        if isinstance(journal, _Journal):
            journal.created[created:] = _in_order(journal.created[created:], insert_steps)
            journal.updated[updated:] = _in_order(journal.updated[updated:], update_steps)


_KEYS = ("site_id", "patient_id")


def _in_order(items: list[Any], steps: list[int]) -> list[Any]:
    return [item for _, item in sorted(zip(steps, items, strict=True), key=lambda p: p[0])]


def _insert_new(
    conn: sa.Connection, records: Sequence[PatientRecord], site_ids: dict[str, int]
) -> None:
    if not records:
        return
    _insert_all(
        conn, schema.patient, [{"site_id": site_ids[r.site_code], **r.patient} for r in records]
    )
    p = schema.patient
    wanted = {(site_ids[r.site_code], r.study_id) for r in records}
    ids = {
        (site_id, study_id): patient_id
        for patient_id, site_id, study_id in conn.execute(
            sa.select(p.c.id, p.c.site_id, p.c.study_id).where(
                _among(conn, p.c.site_id, (s for s, _ in wanted)),
                _among(conn, p.c.study_id, (i for _, i in wanted)),
            )
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
