"""Data queries stored: raised, answered, corrected, closed, re-opened, each step audited.

Every function acts through a :class:`SiteScope`, so a query lives at its record's
site and another site's query is a 404, exactly as a record. A monitor or an
investigator raises, closes and re-opens; a coordinator or an investigator answers,
or corrects the value through :meth:`SiteScope.update` (the same validated, versioned,
audited save as every door, with its reason), which answers the query. Each step is
one audit entry on the ``data_query`` row (the step named in its values), and the
record's history shows its queries' entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from sijreg.domain import dictionary as dd
from sijreg.domain.entry import Invalid
from sijreg.domain.queries import MESSAGE, QueryState, Step, WrongState, next_state
from sijreg.domain.types import Field, FieldError, Value
from sijreg.domain.wording import in_words
from sijreg.store import accounts, audit, schema
from sijreg.store.roles import Role
from sijreg.store.scope import RECORD_TABLES, Forbidden, NotFound, SiteScope

RAISERS = (Role.MONITOR, Role.INVESTIGATOR)
"""Raise, close and re-open queries."""
ANSWERERS = (Role.COORDINATOR, Role.INVESTIGATOR)
"""Answer queries and correct the queried values."""
TABLE = schema.data_query


def queried_field(form: str, field_name: str) -> Field:
    """The dictionary field a query may name (a patient form's field), else Invalid."""
    if form not in RECORD_TABLES:
        raise NotFound(form)
    for f in dd.form(form).fields:
        if f.name == field_name:
            return f
    raise Invalid({"field_name": "choose a field of the record"})


def _message(text: str | None) -> str:
    try:
        return str(MESSAGE.parse(text))
    except FieldError as error:
        raise Invalid({"message": str(error)}) from None


def _may(scope: SiteScope, roles: tuple[Role, ...], what: str) -> None:
    if scope.actor.role not in roles:
        raise Forbidden(f"this role cannot {what} a query")


def raise_query(
    scope: SiteScope, form: str, record_id: int, field_name: str, message: str | None
) -> int:
    """A new open query on one field of one record of the scope's site."""
    _may(scope, RAISERS, "raise")
    queried_field(form, field_name)
    record = scope.get(form, record_id)
    text = _message(message)
    patient_id = record_id if form == "patient" else int(record["patient_id"])
    moment = accounts.now()
    new_id = int(
        scope.conn.execute(
            sa.insert(TABLE)
            .values(
                site_id=scope.site_id,
                patient_id=patient_id,
                form=form,
                record_id=record_id,
                field_name=field_name,
                state=QueryState.OPEN.value,
                message=text,
                raised_by=scope.actor.user_id,
                version=1,
                created_at=moment,
                updated_at=moment,
            )
            .returning(TABLE.c.id)
        ).scalar_one()
    )
    _audit(
        scope,
        audit.Action.CREATE,
        new_id,
        None,
        {
            "step": Step.RAISE.value,
            "state": QueryState.OPEN.value,
            "form": form,
            "record_id": record_id,
            "field_name": field_name,
            "patient_id": patient_id,
            "message": text,
        },
        None,
    )
    return new_id


def get(scope: SiteScope, query_id: int) -> sa.RowMapping:
    """One query of the scope's site (another site's is :class:`NotFound`)."""
    row = (
        scope.conn.execute(
            sa.select(TABLE).where(TABLE.c.id == query_id, TABLE.c.site_id == scope.site_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("data_query")
    return row


def answer(scope: SiteScope, query_id: int, message: str | None) -> None:
    """The site's answer, leaving the value as it is."""
    _may(scope, ANSWERERS, "answer")
    text = _message(message)
    _move(scope, query_id, Step.ANSWER, {"answer": text}, None)


def correct(scope: SiteScope, query_id: int, raw: object, version: int, reason: str | None) -> None:
    """A new value for the queried field, saved as any change is, which answers the query.

    ``raw`` is parsed by the field's own rule and the record saved by
    :meth:`SiteScope.update` (every record and cross-record rule, the version, the
    reason, the audit entry); a refusal there leaves the query as it was.
    """
    _may(scope, ANSWERERS, "answer")
    query = get(scope, query_id)
    next_state(Step.CORRECT, QueryState(query["state"]))
    f = queried_field(query["form"], query["field_name"])
    try:
        value: Value = f.parse(raw)
    except FieldError as error:
        raise Invalid({f.name: str(error)}) from None
    record = scope.get(query["form"], query["record_id"])
    values = {g.name: record[g.name] for g in dd.form(query["form"]).fields}
    values[f.name] = value
    saved = scope.update(query["form"], query["record_id"], values, version, reason)
    text = (
        f"Corrected {f.label}: {in_words(f, record[f.name]) or '(empty)'} → "
        f"{in_words(f, saved[f.name]) or '(empty)'}"
    )
    _move(scope, query_id, Step.CORRECT, {"answer": text}, str(reason).strip())


def close(scope: SiteScope, query_id: int) -> None:
    _may(scope, RAISERS, "close")
    _move(scope, query_id, Step.CLOSE, {}, None)


def reopen(scope: SiteScope, query_id: int, message: str | None) -> None:
    """Open again with a new message (the earlier one stays in the history)."""
    _may(scope, RAISERS, "re-open")
    text = _message(message)
    _move(scope, query_id, Step.REOPEN, {"message": text, "answer": None}, None)


def _move(
    scope: SiteScope, query_id: int, step: Step, changes: dict[str, Any], reason: str | None
) -> None:
    query = get(scope, query_id)
    state = next_state(step, QueryState(query["state"]))
    done = scope.conn.execute(
        sa.update(TABLE)
        .where(TABLE.c.id == query_id, TABLE.c.version == query["version"])
        .values(
            **changes,
            state=state.value,
            version=query["version"] + 1,
            updated_at=accounts.now(),
        )
    ).rowcount
    if done != 1:
        raise WrongState("the query changed meanwhile; open it again")
    old = {"state": query["state"]}
    new = {"step": step.value, "state": state.value, **{k: v for k, v in changes.items() if v}}
    _audit(scope, audit.Action.UPDATE, query_id, old, new, reason)


def _audit(
    scope: SiteScope,
    action: audit.Action,
    query_id: int,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    reason: str | None,
) -> None:
    audit.append(
        scope.conn,
        audit.Entry(
            action,
            user_id=scope.actor.user_id,
            site_id=scope.site_id,
            table_name=TABLE.name,
            record_id=query_id,
            old_values=old,
            new_values=new,
            reason=reason,
            record_hash=audit.stored_hash(scope.conn, TABLE, query_id),
        ),
    )


def listed(
    scope: SiteScope,
    *,
    patient_id: int | None = None,
    state: QueryState | None = None,
) -> list[dict[str, Any]]:
    """The site's queries (of one patient, in one state), newest first, with the study id."""
    p = schema.patient
    query = (
        sa.select(TABLE, p.c.study_id)
        .join(p, p.c.id == TABLE.c.patient_id)
        .where(TABLE.c.site_id == scope.site_id)
        .order_by(TABLE.c.id.desc())
    )
    if patient_id is not None:
        query = query.where(TABLE.c.patient_id == patient_id)
    if state is not None:
        query = query.where(TABLE.c.state == state.value)
    return [described(row) for row in scope.conn.execute(query).mappings()]


def described(row: Any) -> dict[str, Any]:
    """A query with its record, field and state in words."""
    form = dd.form(row["form"])
    f = queried_field(row["form"], row["field_name"])
    return {
        **dict(row),
        "record_label": form.label,
        "field_label": f.label,
        "state_label": QueryState(row["state"]).label,
    }


def trail(scope: SiteScope, query_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The audit entries of these queries of the site, oldest first, each step in words."""
    ids = list(query_ids)
    if not ids:
        return []
    a = schema.audit_log
    rows = scope.conn.execute(
        sa.select(a)
        .where(
            a.c.site_id == scope.site_id,
            a.c.table_name == TABLE.name,
            a.c.record_id.in_(ids),
        )
        .order_by(a.c.id)
    ).mappings()
    found = []
    for row in rows:
        new = json.loads(row["new_values"]) if row["new_values"] else {}
        found.append(
            {
                **dict(row),
                "new": new,
                "step_label": Step(new.get("step", "raise")).label,
                "text": new.get("message") or new.get("answer") or "",
            }
        )
    return found


def on_record(scope: SiteScope, form: str, record_id: int) -> list[int]:
    """The ids of the queries on one record of the site."""
    return list(
        scope.conn.execute(
            sa.select(TABLE.c.id).where(
                TABLE.c.site_id == scope.site_id,
                TABLE.c.form == form,
                TABLE.c.record_id == record_id,
            )
        ).scalars()
    )


def counts(conn: sa.Connection) -> dict[str, dict[str, int]]:
    """Queries by site code and state, of the sites this connection may read.

    Counts of queries, not of patients: a patient may have several, and none
    identifies anybody, so they are published as counted (docs/server.md).
    """
    s = schema.site
    found: dict[str, dict[str, int]] = {}
    for code, state, n in conn.execute(
        sa.select(s.c.site_code, TABLE.c.state, sa.func.count())
        .join(s, s.c.id == TABLE.c.site_id)
        .group_by(s.c.site_code, TABLE.c.state)
    ):
        found.setdefault(code, {q.value: 0 for q in QueryState})[state] = int(n)
    return found
