"""The audit trail: append-only in the database, and verification catches direct edits."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from sijreg.store import audit, schema
from sijreg.store.scope import SiteScope
from tests.server.server_support import People


def _fill(engine: sa.Engine, people: People) -> dict[str, int]:
    """A patient with a fusion and a visit, the visit corrected once: audit entries 1..N."""
    with engine.begin() as conn:
        scope = SiteScope(conn, people.actor(conn, "coord1"))
        patient = scope.create("patient", {"study_id": "P-001", "sex": "F", "age": 61})
        fusion = scope.create("fusion", {"fusion_date": date(2025, 1, 10)}, patient["id"])
        visit = scope.create(
            "visit", {"visit_date": date(2025, 4, 20), "nrs_pain": 3}, patient["id"]
        )
        scope.update("visit", visit["id"], {"nrs_pain": 2}, visit["version"], "typo")
    return {"patient": patient["id"], "fusion": fusion["id"], "visit": visit["id"]}


def _as_owner_without_guard(engine: sa.Engine, *statements: str) -> None:
    """What an intruder with database access can do: lift the guard, edit, restore it."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            for statement in statements:
                conn.execute(sa.text(statement))
            conn.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
            for statement in statements:
                conn.execute(sa.text(statement))


def _verify(engine: sa.Engine) -> audit.Verification:
    with engine.connect() as conn:
        return audit.verify(conn)


def test_an_intact_trail_verifies_and_records_every_change(
    engine: sa.Engine, people: People
) -> None:
    ids = _fill(engine, people)
    result = _verify(engine)
    assert result.ok, (result.chain, result.records)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.audit_log).order_by("id")).mappings().all()
    # 5 user creations + patient, fusion, visit created, visit updated
    assert [r["action"] for r in rows] == ["permission_change"] * 5 + [
        "create",
        "create",
        "create",
        "update",
    ]
    update = rows[-1]
    assert update["record_id"] == ids["visit"]
    assert update["reason"] == "typo"
    assert json.loads(update["old_values"])["nrs_pain"] == 3
    assert json.loads(update["new_values"])["nrs_pain"] == 2
    assert update["site_id"] == people.sites["S01"]
    assert update["user_id"] == people.ids["coord1"]
    assert result.entries == len(rows)
    assert result.head == rows[-1]["entry_hash"]


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log"]
)
def test_the_database_refuses_to_change_the_audit_log(
    engine: sa.Engine, people: People, statement: str
) -> None:
    _fill(engine, people)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text(statement))
    assert _verify(engine).ok


def test_an_altered_entry_is_named(engine: sa.Engine, people: People) -> None:
    _fill(engine, people)
    _as_owner_without_guard(engine, "UPDATE audit_log SET reason = 'no reason' WHERE id = 9")
    result = _verify(engine)
    assert result.chain is not None
    assert result.chain.entry_id == 9
    assert "altered" in result.chain.message


def test_a_removed_entry_is_named(engine: sa.Engine, people: People) -> None:
    _fill(engine, people)
    _as_owner_without_guard(engine, "DELETE FROM audit_log WHERE id = 7")
    result = _verify(engine)
    assert result.chain is not None
    assert result.chain.entry_id == 8
    assert "7 to 7 are missing" in result.chain.message


def test_reordered_entries_are_named(engine: sa.Engine, people: People) -> None:
    _fill(engine, people)
    _as_owner_without_guard(
        engine,
        "UPDATE audit_log SET id = 1000 WHERE id = 6",
        "UPDATE audit_log SET id = 6 WHERE id = 7",
        "UPDATE audit_log SET id = 7 WHERE id = 1000",
    )
    result = _verify(engine)
    assert result.chain is not None
    assert result.chain.entry_id == 6
    assert result.chain.message == "entry 6 does not follow entry 5: removed or reordered"


def test_a_record_edited_outside_the_app_is_reported(engine: sa.Engine, people: People) -> None:
    ids = _fill(engine, people)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE visit SET nrs_pain = 9 WHERE id = {ids['visit']}"))
        conn.execute(sa.text(f"DELETE FROM fusion WHERE id = {ids['fusion']}"))
    result = _verify(engine)
    assert result.chain is None
    messages = [p.message for p in result.records]
    assert messages == [
        f"fusion {ids['fusion']} (audit entry 7): removed outside sijreg",
        f"visit {ids['visit']} (audit entry 9): changed outside sijreg",
    ]


def test_entries_chained_by_the_database_hash_as_the_verifier_does(engine: sa.Engine) -> None:
    # On PostgreSQL the database stamps, chains and hashes an entry (sijreg_audit_append);
    # on SQLite sijreg does. Either way each stored hash is entry_hash of the row before.
    texts = ["Größe – “typo”", 'quote " backslash \\ tab \t', "line\nbreak", "日本"]
    with engine.begin() as conn:
        for i, text in enumerate(texts, start=1):
            audit.append(
                conn,
                audit.Entry(
                    audit.Action.UPDATE,
                    table_name="visit",
                    record_id=i,
                    old_values={"note": text},
                    new_values={"note": text[::-1], "n": i},
                    reason=text,
                    record_hash="ab" * 32,
                ),
            )
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.audit_log).order_by(schema.audit_log.c.id)).mappings()
        prev = audit.GENESIS
        stamps = []
        for row in rows:
            assert row["prev_hash"] == prev
            assert row["entry_hash"] == audit.entry_hash(prev, row)
            prev = row["entry_hash"]
            stamps.append(row["at"])
            assert json.loads(row["new_values"])["note"] == texts[row["id"] - 1][::-1]
        assert len(stamps) == len(texts)
        assert stamps == sorted(stamps)
        assert audit.verify(conn).chain is None
