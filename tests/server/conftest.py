"""Fixtures for the server: two sites, one user of every role, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient

from sijreg.server.app import create_app
from sijreg.store import accounts, schema
from sijreg.store.app_role import grant_app_role
from sijreg.store.database import create_engine
from tests.server.server_support import PASSWORD, USERS, People


@pytest.fixture
def people(engine: sa.Engine) -> People:
    """Sites S01 and S02 and the users of :data:`USERS`, all with :data:`PASSWORD`."""
    found = People()
    with engine.begin() as conn:
        for code in ("S01", "S02"):
            found.sites[code] = conn.execute(
                sa.insert(schema.site).values(site_code=code).returning(schema.site.c.id)
            ).scalar_one()
        for username, role, site in USERS:
            found.ids[username] = accounts.add_user(
                conn, username, f"Dr {username.title()}", role, PASSWORD, site
            )
    return found


@pytest.fixture(scope="session")
def app_role(postgres_server: sa.URL) -> Iterator[str]:
    """A cluster-wide role name for the server, dropped at the end of the session."""
    name = f"sijreg_app_{uuid.uuid4().hex[:8]}"
    yield name
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}).first():
            conn.execute(sa.text(f"DROP OWNED BY {name}"))
            conn.execute(sa.text(f"DROP ROLE {name}"))
    admin.dispose()


@pytest.fixture
def app_engine(engine: sa.Engine, request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """What the server connects with: on PostgreSQL the restricted app role, never the owner."""
    if engine.dialect.name != "postgresql":
        yield engine
        return
    role: str = request.getfixturevalue("app_role")
    with engine.begin() as conn:
        grant_app_role(conn, role)
    restricted = create_engine(engine.url.set(username=role, password=None))
    yield restricted
    restricted.dispose()


@pytest.fixture
def server(app_engine: sa.Engine, people: People) -> Iterator[TestClient]:
    """An HTTPS test client of the app (cookies are Secure), people in place."""
    with TestClient(create_app(app_engine), base_url="https://testserver") as client:
        yield client


@pytest.fixture
def tokens(engine: sa.Engine, people: People) -> dict[str, str]:
    """A 30-day API token for every user, as Authorization headers by user name."""
    found = {}
    with engine.begin() as conn:
        for username, user_id in people.ids.items():
            found[username] = accounts.issue_token(conn, user_id, 30, "test")[1]
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(app_engine: sa.Engine, people: People) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free localhost port; yields its base URL."""
    config = uvicorn.Config(
        create_app(app_engine),
        host="127.0.0.1",
        port=_free_port(),
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{config.port}"
    server.should_exit = True
    thread.join(timeout=10)
