"""Shared fixtures: a fresh registry database on SQLite and on a real PostgreSQL server.

PostgreSQL tests use ``$SIJREG_TEST_POSTGRES_URL`` (default: the local server with
trust auth). When it cannot be reached they are skipped on a developer's machine
and fail under CI (``CI=true``): CI must never pass without them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from hypothesis import settings

from sijreg.store.database import open_database
from tests.helpers import read_tables

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Timings on a shared 2-core machine vary tenfold: a Hypothesis deadline would fail a test for
# the machine's load, not for the code (performance is measured by benchmarks/, not by tests).
settings.register_profile("sijreg", deadline=None)
settings.load_profile("sijreg")

ADMIN_URL = os.environ.get(
    "SIJREG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[sa.URL]:
    """A throw-away database on the PostgreSQL server, dropped at the end of the session."""
    admin_url = sa.make_url(ADMIN_URL)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"sijreg_test_{uuid.uuid4().hex[:10]}"
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI and unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable at {ADMIN_URL}")
    try:
        yield admin_url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def reset_postgres(url: sa.URL) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty registry, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "registry.db")
    url: sa.URL = request.getfixturevalue("postgres_server")
    reset_postgres(url)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    """An opened (migrated) registry on each database."""
    opened = open_database(database_url)
    yield opened
    opened.dispose()


@pytest.fixture(autouse=True)
def tables_json_is_strict(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that had a tmp_path: each tables.json written there parses as strict
    JSON (tests reading one elsewhere use ``helpers.read_tables``, which is strict too)."""
    folder: Path | None = None
    if "tmp_path" in request.fixturenames:
        folder = request.getfixturevalue("tmp_path")
    yield
    for path in sorted(folder.rglob("tables.json")) if folder else []:
        read_tables(path)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    """The system's Chromium, headless, through Playwright (every browser test's); imported
    here, as only browser tests need it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
