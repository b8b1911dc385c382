"""PostgreSQL row-level security: the app role sees and writes its scope's rows only.

These tests connect as the server's restricted role and go around the application's
own scope on purpose, to show that the database refuses on its own.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from sijreg.interop.protocol_file import load_protocol
from sijreg.server.screenings import save
from sijreg.store import schema
from sijreg.store.scope import SiteScope, set_database_scope
from tests.server.server_support import People

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


@pytest.fixture
def two_patients(engine: sa.Engine, people: People) -> dict[str, int]:
    """One patient with a visit at each site, entered through each site's scope."""
    found = {}
    with engine.begin() as conn:
        for user, site in (("coord1", "S01"), ("coord2", "S02")):
            scope = SiteScope(conn, people.actor(conn, user))
            pid = scope.create("patient", {"study_id": f"{site}-1"})["id"]
            scope.create("visit", {"visit_date": date(2025, 5, 1)}, pid)
            save(scope, load_protocol(), {"screening_number": f"{site}-S", "patient_id": pid})
            found[site] = pid
    return found


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_the_app_role_cannot_bypass_row_level_security(app_engine: sa.Engine) -> None:
    with app_engine.connect() as conn:
        role = conn.execute(
            sa.text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        owned = conn.execute(
            sa.text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        ).scalar_one()
    assert (role.rolsuper, role.rolbypassrls, owned) == (False, False, 0)


def test_the_app_role_reads_only_its_sites_rows(
    app_engine: sa.Engine, people: People, two_patients: dict[str, int]
) -> None:
    with app_engine.begin() as conn:
        assert _count(conn, schema.patient) == 0  # no scope, no rows
        set_database_scope(conn, people.sites["S01"])
        rows = conn.execute(sa.select(schema.patient.c.id, schema.patient.c.site_id)).all()
        assert [tuple(r) for r in rows] == [(two_patients["S01"], people.sites["S01"])]
        other = conn.execute(
            sa.select(schema.visit).where(schema.visit.c.patient_id == two_patients["S02"])
        ).all()
        assert other == []
    with app_engine.begin() as conn:
        set_database_scope(conn, None, pooled=True)
        assert _count(conn, schema.patient) == 2


def test_the_app_role_cannot_write_another_sites_rows(
    app_engine: sa.Engine, people: People, two_patients: dict[str, int]
) -> None:
    with app_engine.begin() as conn:
        set_database_scope(conn, people.sites["S01"])
        changed = conn.execute(
            sa.update(schema.patient)
            .where(schema.patient.c.id == two_patients["S02"])
            .values(age=99)
        ).rowcount
        assert changed == 0
        gone = conn.execute(sa.delete(schema.visit).where(schema.visit.c.site_id != 0)).rowcount
        assert gone == 1  # its own visit only
    for site, pooled in ((people.sites["S01"], False), (None, True)):  # pooled is read-only
        with app_engine.begin() as conn:
            set_database_scope(conn, site, pooled)
            insert = sa.insert(schema.patient).values(site_id=people.sites["S02"], study_id="X")
            with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
                conn.execute(insert)


def test_screenings_and_their_decisions_are_isolated_like_patients(
    app_engine: sa.Engine, people: People, two_patients: dict[str, int]
) -> None:
    s, r = schema.screening, schema.screening_result
    with app_engine.begin() as conn:
        assert (_count(conn, s), _count(conn, r)) == (0, 0)  # no scope, no rows
        set_database_scope(conn, people.sites["S01"])
        mine = conn.execute(sa.select(s.c.id, s.c.patient_id)).all()
        assert [row.patient_id for row in mine] == [two_patients["S01"]]
        judged = conn.execute(sa.select(r.c.screening_id)).scalars().all()
        assert judged == [mine[0].id]
        other = conn.execute(
            sa.select(s.c.id).where(s.c.patient_id == two_patients["S02"])
        ).scalar_one_or_none()
        assert other is None
    with app_engine.connect() as conn:
        set_database_scope(conn, people.sites["S01"])
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            conn.execute(sa.update(s).values(site_id=people.sites["S02"]))
    with app_engine.begin() as conn:
        set_database_scope(conn, people.sites["S02"])
        theirs = conn.execute(sa.select(s.c.id)).scalar_one()
        set_database_scope(conn, people.sites["S01"])
        forged = sa.insert(r).values(
            screening_id=theirs,
            screening_version=1,
            protocol_id="x",
            protocol_version="1",
            protocol_sha256="0" * 64,
            decision="eligible",
            criteria=[],
        )
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            conn.execute(forged)
    with app_engine.begin() as conn:
        set_database_scope(conn, None, pooled=True)
        assert (_count(conn, s), _count(conn, r)) == (2, 2)


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log"]
)
def test_the_app_role_may_not_change_the_audit_log(
    app_engine: sa.Engine, people: People, statement: str
) -> None:
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        app_engine.begin() as conn,
    ):
        conn.execute(sa.text(statement))
