"""Every kind of direct tampering is found by ``audit.verify`` (naming table and id), and a
chain recomputed without the signing key is caught by the checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sijreg.interop.protocol_file import load_protocol
from sijreg.interop.screening_sheet import import_screening_sheet
from sijreg.store import accounts, audit, checkpoints, queries, schema
from sijreg.store.scope import SiteScope
from tests.server.server_support import PASSWORD, People
from tests.server.test_audit import _as_owner_without_guard
from tests.test_screening_store import enrol, sheet, three_of_five

Ids = dict[str, int]


def _registry(engine: sa.Engine, people: People, tmp_path: Path) -> Ids:
    """Records, a signed patient with a data query, an API token and stored screening
    decisions."""
    enrol(engine, "P-9")
    import_screening_sheet(engine, sheet(tmp_path, three_of_five("SCR-1", "P-9")), load_protocol())
    with engine.begin() as conn:
        scope = SiteScope(conn, people.actor(conn, "coord1"))
        patient = scope.create("patient", {"study_id": "P-001", "sex": "F", "age": 61})
        visit = scope.create(
            "visit", {"visit_date": date(2025, 4, 20), "nrs_pain": 3}, patient["id"]
        )
        signed = scope.create("patient", {"study_id": "P-002", "sex": "M", "age": 50})
        investigator = SiteScope(conn, people.actor(conn, "inv1"))
        query = queries.raise_query(investigator, "patient", signed["id"], "age", "Is 50 right?")
        investigator.sign(signed["id"], PASSWORD, "approval")
        token, _ = accounts.issue_token(conn, people.ids["coord1"], 30, "sheet upload")
        return {
            "patient": patient["id"],
            "visit": visit["id"],
            "signed": signed["id"],
            "token": token,
            "signature": conn.execute(sa.select(schema.record_signature.c.id)).scalar_one(),
            "result": conn.execute(sa.select(schema.screening_result.c.id)).scalar_one(),
            "query": query,
        }


def _problems(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        result = audit.verify(conn)
    chain = [f"chain: {result.chain.message}"] if result.chain else []
    return chain + [p.message for p in result.records]


def _entries(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(schema.audit_log)).scalar_one()
        )


Tamper = Callable[[sa.Engine, People, Ids], str]
"""Changes the database directly; returns the text the verification must name."""


def _sql(engine: sa.Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(statement))


def delete_the_whole_trail(engine: sa.Engine, people: People, ids: Ids) -> str:
    _as_owner_without_guard(engine, "DELETE FROM audit_log")
    return f"app_user {people.ids['coord1']}: no audit entry"


def delete_the_newest_entries(engine: sa.Engine, people: People, ids: Ids) -> str:
    newest = _entries(engine)
    _as_owner_without_guard(engine, f"DELETE FROM audit_log WHERE id > {newest - 3}")
    return f"api_token {ids['token']}: no audit entry"


def insert_a_record_without_entry(engine: sa.Engine, people: People, ids: Ids) -> str:
    _sql(
        engine,
        "INSERT INTO visit (site_id, patient_id, visit_date, version, created_at, updated_at) "
        f"VALUES ({people.sites['S01']}, {ids['patient']}, '2025-07-01', 1, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    return f"visit {ids['visit'] + 1}: no audit entry"


def make_a_coordinator_an_admin(engine: sa.Engine, people: People, ids: Ids) -> str:
    _sql(
        engine,
        f"UPDATE app_user SET role = 'admin', site_id = NULL WHERE id = {people.ids['coord1']}",
    )
    return f"app_user {people.ids['coord1']} (audit entry"


def replace_a_password_hash(engine: sa.Engine, people: People, ids: Ids) -> str:
    _sql(engine, f"UPDATE app_user SET password_hash = 'x' WHERE id = {people.ids['admin']}")
    return f"app_user {people.ids['admin']} (audit entry"


def insert_an_admin(engine: sa.Engine, people: People, ids: Ids) -> str:
    _sql(
        engine,
        "INSERT INTO app_user (id, username, printed_name, role, password_hash, disabled, "
        "created_at) VALUES (99, 'mallory', 'M', 'admin', 'x', false, CURRENT_TIMESTAMP)",
    )
    return "app_user 99: no audit entry"


def unlock_a_signed_patient(engine: sa.Engine, people: People, ids: Ids) -> str:
    _sql(engine, "UPDATE record_signature SET unlocked_at = CURRENT_TIMESTAMP")
    return f"record_signature {ids['signature']} (audit entry"


def remove_a_signature(engine: sa.Engine, people: People, ids: Ids) -> str:
    _sql(engine, "DELETE FROM record_signature")
    return f"record_signature {ids['signature']} (audit entry"


def change_a_screening_decision(engine: sa.Engine, people: People, ids: Ids) -> str:
    _sql(engine, "UPDATE screening_result SET decision = 'ineligible'")
    return f"screening_result {ids['result']} (audit entry"


def revive_a_revoked_token(engine: sa.Engine, people: People, ids: Ids) -> str:
    with engine.begin() as conn:
        accounts.revoke_token(conn, ids["token"])
    _sql(engine, "UPDATE api_token SET revoked_at = NULL")
    return f"api_token {ids['token']} (audit entry"


def close_a_data_query(engine: sa.Engine, people: People, ids: Ids) -> str:
    _sql(engine, f"UPDATE data_query SET state = 'closed' WHERE id = {ids['query']}")
    return f"data_query {ids['query']} (audit entry"


def remove_a_data_query(engine: sa.Engine, people: People, ids: Ids) -> str:
    _sql(engine, "DELETE FROM data_query")
    return f"data_query {ids['query']} (audit entry"


def edit_a_record(engine: sa.Engine, people: People, ids: Ids) -> str:
    _sql(engine, f"UPDATE visit SET nrs_pain = 9 WHERE id = {ids['visit']}")
    return f"visit {ids['visit']} (audit entry"


def delete_a_record(engine: sa.Engine, people: People, ids: Ids) -> str:
    _sql(engine, f"DELETE FROM visit WHERE id = {ids['visit']}")
    return f"visit {ids['visit']} (audit entry"


TAMPERING = (
    delete_the_whole_trail,
    delete_the_newest_entries,
    insert_a_record_without_entry,
    make_a_coordinator_an_admin,
    replace_a_password_hash,
    insert_an_admin,
    unlock_a_signed_patient,
    remove_a_signature,
    change_a_screening_decision,
    revive_a_revoked_token,
    close_a_data_query,
    remove_a_data_query,
    edit_a_record,
    delete_a_record,
)


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda t: t.__name__)
def test_each_tampering_is_found_naming_table_and_id(
    engine: sa.Engine, people: People, tmp_path: Path, tamper: Tamper
) -> None:
    ids = _registry(engine, people, tmp_path)
    assert _problems(engine) == []
    named = tamper(engine, people, ids)
    problems = _problems(engine)
    assert any(named in p for p in problems), problems


def test_deleting_a_patient_through_sijreg_leaves_a_verifiable_trail(
    engine: sa.Engine, people: People, tmp_path: Path
) -> None:
    """Rows the database deletes with their parent (a patient's signature and data queries, a
    screening's decisions) get their own deletion entries."""
    ids = _registry(engine, people, tmp_path)
    with engine.begin() as conn:
        inv = SiteScope(conn, people.actor(conn, "inv1"))
        inv.unlock(ids["signed"], "correction")
        version = inv.get("patient", ids["signed"])["version"]
        inv.delete("patient", ids["signed"], version, "entered twice")
        assert conn.execute(sa.select(schema.record_signature)).first() is None
        assert conn.execute(sa.select(schema.data_query)).first() is None
        coord = SiteScope(conn, people.actor(conn, "coord1"))
        screening = conn.execute(sa.select(schema.screening)).mappings().one()
        coord.delete("screening", screening["id"], screening["version"], "screened twice")
        assert conn.execute(sa.select(schema.screening_result)).first() is None
    assert _problems(engine) == []


def _rewrite_chain(engine: sa.Engine, visit_id: int) -> None:
    """An intruder without the key: edit a record, then recompute its entry and the chain."""
    _sql(engine, f"UPDATE visit SET nrs_pain = 9 WHERE id = {visit_id}")
    log = schema.audit_log
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.visit).where(schema.visit.c.id == visit_id)).mappings()
        forged = audit.record_hash(schema.visit, row.one())
        entries = [dict(e) for e in conn.execute(sa.select(log).order_by(log.c.id)).mappings()]
    prev = audit.GENESIS
    statements = []
    for entry in entries:
        if entry["table_name"] == "visit" and entry["record_id"] == visit_id:
            entry["record_hash"] = forged
        digest = audit.entry_hash(prev, entry)
        statements.append(
            f"UPDATE audit_log SET record_hash = {_quoted(entry['record_hash'])}, "
            f"prev_hash = '{prev}', entry_hash = '{digest}' WHERE id = {entry['id']}"
        )
        prev = digest
    _as_owner_without_guard(engine, *statements)


def _quoted(value: str | None) -> str:
    return "NULL" if value is None else f"'{value}'"


def _keys(tmp_path: Path) -> tuple[Ed25519PrivateKey, Ed25519PublicKey]:
    checkpoints.generate_key(tmp_path / "key.pem", tmp_path / "key.pub")
    return (
        checkpoints.load_private_key(tmp_path / "key.pem"),
        checkpoints.load_public_key(tmp_path / "key.pub"),
    )


def _anchored(engine: sa.Engine, path: Path, key: Ed25519PublicKey) -> list[str]:
    with engine.connect() as conn:
        return [p.message for p in checkpoints.check(conn, checkpoints.read_checkpoints(path), key)]


def test_a_recomputed_chain_passes_alone_but_not_the_checkpoints(
    engine: sa.Engine, people: People, tmp_path: Path
) -> None:
    ids = _registry(engine, people, tmp_path)
    private, public = _keys(tmp_path)
    points = tmp_path / "checkpoints.jsonl"
    with engine.connect() as conn:
        first = checkpoints.write_checkpoint(conn, private, points)
    assert _anchored(engine, points, public) == []
    _rewrite_chain(engine, ids["visit"])
    assert _problems(engine) == []  # what the chain alone cannot prove
    assert _anchored(engine, points, public) == [
        f"checkpoint 1 (entry {first.entry_id}, {first.at}): "
        "the entry differs (chain rewritten or recomputed)"
    ]


def test_a_truncated_trail_and_a_forged_checkpoint_are_caught(
    engine: sa.Engine, people: People, tmp_path: Path
) -> None:
    _registry(engine, people, tmp_path)
    private, public = _keys(tmp_path)
    points = tmp_path / "checkpoints.jsonl"
    with engine.connect() as conn:
        point = checkpoints.write_checkpoint(conn, private, points)
    _as_owner_without_guard(engine, f"DELETE FROM audit_log WHERE id = {point.entry_id}")
    assert _anchored(engine, points, public) == [
        f"checkpoint 1 (entry {point.entry_id}, {point.at}): the entry is gone (trail truncated)"
    ]
    points.write_text(points.read_text().replace(point.head, "0" * 64))
    assert _anchored(engine, points, public) == [
        f"checkpoint 1 (entry {point.entry_id}, {point.at}): the signature is not valid"
    ]


def test_adopt_takes_in_rows_without_entries_and_never_changed_ones(
    engine: sa.Engine, people: People, tmp_path: Path
) -> None:
    """After an upgrade, rows an older sijreg saved unaudited are adopted, visibly."""
    ids = _registry(engine, people, tmp_path)
    inserted = insert_a_record_without_entry(engine, people, ids)
    edited = edit_a_record(engine, people, ids)
    with engine.begin() as conn:
        assert audit.adopt(conn, "upgrade to row hashes") == [("visit", ids["visit"] + 1)]
    problems = _problems(engine)
    assert not any(inserted in p for p in problems)
    assert [p for p in problems if edited in p] == problems != []
    with engine.connect() as conn:
        last = (
            conn.execute(
                sa.select(schema.audit_log).order_by(schema.audit_log.c.id.desc()).limit(1)
            )
            .mappings()
            .one()
        )
    assert (last["action"], last["reason"]) == ("adopt", "upgrade to row hashes")
