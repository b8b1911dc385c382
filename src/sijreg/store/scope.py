"""Site isolation in one place: every read and write of patient data goes through a SiteScope.

A :class:`SiteScope` is built for one actor on one connection (one transaction) and
adds ``site_id = <the actor's site>`` to every statement it runs; there is no other
way for the server to reach the per-patient tables. A record of another site is
indistinguishable from a missing one (:class:`NotFound`), and the miss is logged
without any identifier. On PostgreSQL the scope also sets ``sijreg.site_id`` for the
transaction, which row-level security checks as a second, independent barrier.

Every change is audited in the same transaction (see :mod:`sijreg.store.audit`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import sqlalchemy as sa

from sijreg.domain import dictionary as dd
from sijreg.domain.entry import Invalid
from sijreg.domain.followup import OPEN_STATES, State, time_points
from sijreg.domain.records import Values
from sijreg.domain.schedule import DueVisit, Window
from sijreg.domain.types import Field, FieldError, Kind
from sijreg.store import accounts, audit, integrity, schema
from sijreg.store.accounts import Actor, Role

log = logging.getLogger("sijreg.access")

RECORD_TABLES = ("patient", "prior_procedure", "fusion", "visit", "adverse_event")
CHILD_TABLES = RECORD_TABLES[1:]
SCOPED_TABLES = (*RECORD_TABLES, "screening")
"""Tables a scope reads and writes; a screening links to a patient only when one was enrolled."""
SIGNATURE_MEANINGS = ("review", "approval", "responsibility")


class NotFound(LookupError):
    """No such record in the actor's scope (it may not exist, or belong to another site)."""


class Forbidden(PermissionError):
    """The actor's role may not do this."""


class Locked(PermissionError):
    """The patient's records are signed and locked."""


class Conflict(Exception):
    """The record changed since the caller read it: nothing was written."""

    def __init__(self, current: Mapping[Any, Any]) -> None:
        super().__init__("the record was changed by someone else")
        self.current = dict(current)


class ReasonRequired(ValueError):
    """Changes after the first save and deletions need a reason."""


def set_database_scope(conn: sa.Connection, site_id: int | None, pooled: bool = False) -> None:
    """Tell PostgreSQL's row-level security whom this transaction acts for."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        _SET_SCOPE, {"s": "" if site_id is None else str(site_id), "p": "on" if pooled else "off"}
    )


_SET_SCOPE = sa.text(
    "SELECT set_config('sijreg.site_id', :s, true), set_config('sijreg.pooled', :p, true)"
)


def reading_engine(engine: sa.Engine, site_id: int | None) -> sa.Engine:
    """An engine for bulk reads (connectorx) of one site, or pooled when ``site_id`` is None.

    On PostgreSQL the scope travels in the connection options, so row-level security
    applies to the connections connectorx opens itself. The caller disposes of it.
    """
    if engine.dialect.name != "postgresql":
        return engine
    setting = f"-c sijreg.site_id={site_id}" if site_id is not None else "-c sijreg.pooled=on"
    return sa.create_engine(engine.url.update_query_dict({"options": setting}))


@cache
def _by_id(t: sa.Table) -> sa.Select[Any]:
    """A row of ``t`` by site and id, built once (building costs more than running it)."""
    return sa.select(t).where(
        t.c.site_id == sa.bindparam("scope_site"), t.c.id == sa.bindparam("scope_id")
    )


@cache
def _inserting(t: sa.Table) -> sa.Insert:
    """An insert into ``t`` that answers the row as stored, built once."""
    return sa.insert(t).returning(*t.c)


def table(name: str) -> sa.Table:
    if name not in SCOPED_TABLES:
        raise NotFound(name)
    return schema.TABLES[name]


@dataclass
class SiteScope:
    """The records of one site, as one actor may see and change them."""

    conn: sa.Connection
    actor: Actor

    def __post_init__(self) -> None:
        if not self.actor.role.at_site or self.actor.site_id is None:
            raise Forbidden("only site roles see patient records")
        self.site_id: int = self.actor.site_id
        set_database_scope(self.conn, self.site_id)

    # Reading ------------------------------------------------------------------------------

    def _select(self, t: sa.Table) -> sa.Select[Any]:
        return sa.select(t).where(t.c.site_id == self.site_id)

    def site_code(self) -> str:
        return str(
            self.conn.execute(
                sa.select(schema.site.c.site_code).where(schema.site.c.id == self.site_id)
            ).scalar_one()
        )

    def get(self, name: str, record_id: int) -> sa.RowMapping:
        query = _by_id(table(name))
        found = self.conn.execute(query, {"scope_site": self.site_id, "scope_id": record_id})
        row = found.mappings().first()
        if row is None:
            log.warning("record not found in scope: table=%s role=%s", name, self.actor.role)
            raise NotFound(name)
        return row

    def patients(self) -> list[sa.RowMapping]:
        p = schema.patient
        return list(self.conn.execute(self._select(p).order_by(p.c.study_id)).mappings())

    def screenings(self) -> list[sa.RowMapping]:
        """The site's screening log, by screening number."""
        s = schema.screening
        return list(self.conn.execute(self._select(s).order_by(s.c.screening_number)).mappings())

    def children(self, name: str, patient_id: int) -> list[sa.RowMapping]:
        t = table(name)
        order = [t.c[f.name] for f in dd.form(name).fields[:1]] + [t.c.id]
        return list(
            self.conn.execute(
                self._select(t).where(t.c.patient_id == patient_id).order_by(*order)
            ).mappings()
        )

    def locked(self, patient_id: int) -> sa.RowMapping | None:
        """The signature that locks the patient's records, if any."""
        s = schema.record_signature
        return (
            self.conn.execute(
                sa.select(s).where(
                    s.c.site_id == self.site_id,
                    s.c.patient_id == patient_id,
                    s.c.unlocked_at.is_(None),
                )
            )
            .mappings()
            .first()
        )

    def history(self, name: str, record_id: int) -> list[sa.RowMapping]:
        """The audit entries of one record of this site (of a deleted one too)."""
        table(name)
        a = schema.audit_log
        rows = list(
            self.conn.execute(
                sa.select(a)
                .where(
                    a.c.site_id == self.site_id, a.c.table_name == name, a.c.record_id == record_id
                )
                .order_by(a.c.id)
            ).mappings()
        )
        if not rows:
            self.get(name, record_id)
        return rows

    # Writing ------------------------------------------------------------------------------

    def _writable(self, patient_id: int) -> None:
        if self.locked(patient_id):
            raise Locked("the patient's records are signed and locked")

    def _unique(self, name: str, values: Values, patient_id: int | None, skip: int | None) -> None:
        """The dictionary's uniqueness rules, checked first so the answer names the field."""
        t = table(name)
        if name == "patient":
            where = t.c.study_id == values.get("study_id")
            field_name, reason = "study_id", "is already used at this site"
        elif name == "fusion":
            where = t.c.patient_id == patient_id
            field_name, reason = "fusion_date", "the patient already has a fusion"
        elif name == "visit":
            where = sa.and_(
                t.c.patient_id == patient_id, t.c.visit_date == values.get("visit_date")
            )
            field_name, reason = "visit_date", "the patient already has a visit on this date"
        elif name == "screening":
            self._unique_link(values.get("patient_id"), skip)
            where = t.c.screening_number == values.get("screening_number")
            field_name, reason = "screening_number", "is already used at this site"
        else:
            return
        query = self._select(t).where(where)
        if skip is not None:
            query = query.where(t.c.id != skip)
        if self.conn.execute(query.limit(1)).first():
            raise Invalid({field_name: reason})

    def _rules(
        self, name: str, patient_id: int | None, record_id: int | None, values: Values
    ) -> None:
        """The dictionary's cross-record rules, on the records as they would be after the change."""
        today = accounts.now().date()
        integrity.refuse_breaches(
            self.conn, self.site_id, name, patient_id, record_id, values, today
        )

    def _unique_link(self, patient_id: object, skip: int | None) -> None:
        """A screening links to an enrolled patient of this site that no other screening holds."""
        if patient_id is None:
            return
        if not isinstance(patient_id, int):
            raise Invalid({"patient_id": "expected a patient id"})
        try:
            self.get("patient", patient_id)
        except NotFound:
            raise Invalid({"patient_id": "no such patient at this site"}) from None
        s = schema.screening
        taken = self._select(s).where(s.c.patient_id == patient_id, s.c.id != (skip or 0))
        if self.conn.execute(taken.limit(1)).first():
            raise Invalid({"patient_id": "the patient is linked to another screening"})

    def create(self, name: str, values: Values, patient_id: int | None = None) -> sa.RowMapping:
        t = table(name)
        self._require_writer()
        keys: dict[str, int] = {"site_id": self.site_id}
        if name not in ("patient", "screening"):
            if patient_id is None:
                raise NotFound(name)
            self.get("patient", patient_id)
            self._writable(patient_id)
            keys["patient_id"] = patient_id
        self._unique(name, values, patient_id, None)
        self._rules(name, patient_id, None, values)
        moment = accounts.now()
        stored = {**keys, **values, "version": 1, "created_at": moment, "updated_at": moment}
        row = self.conn.execute(_inserting(t), stored).mappings().one()  # no read back
        self._audit(audit.Action.CREATE, t, row, None, row, None)
        return row

    def _changeable(
        self, name: str, record_id: int, version: int, reason: str | None
    ) -> tuple[sa.Table, sa.RowMapping, str]:
        """The table, the stored row and the reason of a change the actor may make now."""
        self._require_writer()
        old = self.get(name, record_id)
        if name != "screening":  # the screening log stays open after a patient is signed
            self._writable(old["id"] if name == "patient" else old["patient_id"])
        if old["version"] != version:
            raise Conflict(old)
        return table(name), old, _reason(reason)

    def update(
        self, name: str, record_id: int, values: Values, version: int, reason: str | None
    ) -> sa.RowMapping:
        t, old, why = self._changeable(name, record_id, version, reason)
        self._unique(name, values, old.get("patient_id"), record_id)
        self._rules(
            name, record_id if name == "patient" else old.get("patient_id"), record_id, values
        )
        row = (
            self.conn.execute(
                sa.update(t)
                .where(t.c.id == record_id, t.c.site_id == self.site_id, t.c.version == version)
                .values(**values, version=version + 1, updated_at=accounts.now())
                .returning(*t.c)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise Conflict(self.get(name, record_id))
        self._audit(audit.Action.UPDATE, t, row, old, row, why)
        return row

    def delete(self, name: str, record_id: int, version: int, reason: str | None) -> None:
        t, old, why = self._changeable(name, record_id, version, reason)
        if name == "patient":
            for child in CHILD_TABLES:
                for row in self.children(child, record_id):
                    self._delete_row(schema.TABLES[child], row, why)
            self._unlink_screening(record_id, why)
        self._delete_row(t, old, why)

    def _unlink_screening(self, patient_id: int, why: str) -> None:
        """The deleted patient's screening stays in the log, no longer linked (audited)."""
        s = schema.screening
        linked = self._select(s).where(s.c.patient_id == patient_id)
        for old in self.conn.execute(linked).mappings().all():
            self.conn.execute(
                sa.update(s)
                .where(s.c.id == old["id"])
                .values(patient_id=None, version=old["version"] + 1, updated_at=accounts.now())
            )
            self._audit(audit.Action.UPDATE, s, old, old, self.get("screening", old["id"]), why)

    def _delete_row(self, t: sa.Table, row: sa.RowMapping, why: str) -> None:
        self._delete_dependents(t, row["id"], why)
        self.conn.execute(sa.delete(t).where(t.c.id == row["id"], t.c.site_id == self.site_id))
        self._audit(audit.Action.DELETE, t, row, row, None, why)

    def _audit(
        self,
        action: audit.Action,
        t: sa.Table,
        row: Mapping[Any, Any],
        old: Mapping[Any, Any] | None,
        new: Mapping[Any, Any] | None,
        reason: str | None,
    ) -> None:
        self._log(
            action,
            t.name,
            row["id"],
            old_values=audit.record_state(t, old) if old is not None else None,
            new_values=audit.record_state(t, new) if new is not None else None,
            reason=reason,
            record_hash=audit.record_hash(t, new) if new is not None else None,
        )

    def _log(self, action: audit.Action, table_name: str, record_id: int, **details: Any) -> None:
        """An audit entry by this actor at this site."""
        audit.append(
            self.conn,
            audit.Entry(
                action,
                user_id=self.actor.user_id,
                site_id=self.site_id,
                table_name=table_name,
                record_id=record_id,
                **details,
            ),
        )

    def _require_writer(self) -> None:
        if self.actor.role not in (Role.COORDINATOR, Role.INVESTIGATOR):
            raise Forbidden("this role cannot change records")

    # Signatures ---------------------------------------------------------------------------

    def patient_hash(self, patient_id: int) -> str:
        """One hash over the patient's record and all its child records, as signed."""
        parts = [audit.record_hash(schema.patient, self.get("patient", patient_id))]
        for child in CHILD_TABLES:
            parts += [
                audit.record_hash(schema.TABLES[child], r) for r in self.children(child, patient_id)
            ]
        return accounts.digest("\n".join(parts))

    def sign(self, patient_id: int, password: str, meaning: str) -> None:
        """An investigator's signature (printed name, time, meaning) that also locks the records.

        The password is asked again at every signature (21 CFR 11.200).
        """
        if self.actor.role is not Role.INVESTIGATOR:
            raise Forbidden("only an investigator signs records")
        if meaning not in SIGNATURE_MEANINGS:
            raise Invalid({"meaning": "expected one of " + ", ".join(SIGNATURE_MEANINGS)})
        self.get("patient", patient_id)
        u = schema.app_user
        stored = self.conn.execute(
            sa.select(u.c.password_hash).where(u.c.id == self.actor.user_id)
        ).scalar_one()
        if not accounts.password_matches(stored, password):
            raise Invalid({"password": "the password is not correct"})
        self._writable(patient_id)
        moment = accounts.now()
        signed = {
            "printed_name": self.actor.printed_name,
            "meaning": meaning,
            "signed_at": audit.utc_text(moment),
            "record_hash": self.patient_hash(patient_id),
        }
        signature_id = self.conn.execute(
            sa.insert(schema.record_signature)
            .values(
                site_id=self.site_id,
                patient_id=patient_id,
                user_id=self.actor.user_id,
                printed_name=self.actor.printed_name,
                meaning=meaning,
                signed_at=moment,
                record_hash=signed["record_hash"],
            )
            .returning(schema.record_signature.c.id)
        ).scalar_one()
        self._audit_signature(audit.Action.CREATE, signature_id, None)
        for action in (audit.Action.SIGN, audit.Action.LOCK):
            new = signed if action is audit.Action.SIGN else {"locked": True}
            self._log(action, "patient", patient_id, new_values=new)

    def unlock(self, patient_id: int, reason: str | None) -> None:
        if self.actor.role is not Role.INVESTIGATOR:
            raise Forbidden("only an investigator unlocks records")
        self.get("patient", patient_id)
        why = _reason(reason)
        signature = self.locked(patient_id)
        if signature is None:
            return
        s = schema.record_signature
        self.conn.execute(
            sa.update(s).where(s.c.id == signature["id"]).values(unlocked_at=accounts.now())
        )
        self._audit_signature(audit.Action.UPDATE, signature["id"], why)
        self._log(
            audit.Action.LOCK,
            "patient",
            patient_id,
            old_values={"locked": True},
            new_values={"locked": False},
            reason=why,
        )

    def _audit_signature(self, action: audit.Action, signature_id: int, reason: str | None) -> None:
        """The signature row's own entry, so that verification sees it removed or unlocked."""
        s = schema.record_signature
        self._log(
            action,
            s.name,
            signature_id,
            reason=reason,
            record_hash=audit.stored_hash(self.conn, s, signature_id),
        )

    def _delete_dependents(self, t: sa.Table, record_id: int, why: str) -> None:
        """Deletion entries for the rows the database deletes with a record (ON DELETE CASCADE)."""
        dependents = {
            "patient": ((schema.record_signature, "patient_id"), (schema.data_query, "patient_id")),
            "screening": ((schema.screening_result, "screening_id"),),
        }.get(t.name, ())
        for dependent, column in dependents:
            found = self.conn.execute(
                sa.select(dependent.c.id).where(dependent.c[column] == record_id)
            ).scalars()
            for dependent_id in found.all():
                self._log(audit.Action.DELETE, dependent.name, dependent_id, reason=why)

    # The worklist -------------------------------------------------------------------------

    def worklist(
        self, today: date, windows: tuple[Window, ...], reminder_days: tuple[int, ...]
    ) -> list[tuple[sa.RowMapping, DueVisit]]:
        """Every fused patient's follow-ups whose window is open today without a visit.

        Overdue once past the target date and the last reminder day; a follow-up whose
        window closed is missed and leaves the list (it counts in completeness).
        """
        f, v = schema.fusion, schema.visit
        visits: dict[int, list[date]] = {}
        for patient_id, visit_date in self.conn.execute(
            sa.select(v.c.patient_id, v.c.visit_date).where(v.c.site_id == self.site_id)
        ):
            visits.setdefault(patient_id, []).append(visit_date)
        fusions: dict[int, date] = dict(
            self.conn.execute(
                sa.select(f.c.patient_id, f.c.fusion_date).where(f.c.site_id == self.site_id)
            ).all()
        )
        found = []
        for patient in self.patients():
            fused = fusions.get(patient["id"])
            if fused is None:
                continue
            found += [
                (
                    patient,
                    DueVisit(p.months, p.target, p.opens, p.closes, p.state is State.OVERDUE),
                )
                for p in time_points(
                    fused, visits.get(patient["id"], []), today, windows, None, reminder_days
                )
                if p.state in OPEN_STATES
            ]
        return sorted(found, key=lambda pair: pair[1].target)


REASON = Field(
    "reason",
    "Reason for the change",
    Kind.TEXT,
    required=True,
    max_length=500,
    description="Why a saved record is changed or deleted (audited).",
)


def _reason(reason: str | None) -> str:
    try:
        return str(REASON.parse(reason))
    except FieldError as error:
        raise ReasonRequired(f"reason: {error}") from None
