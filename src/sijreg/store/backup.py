"""Backups that restore: a consistent copy of the live registry, and its way back.

SQLite: the online backup API copies a consistent snapshot while the server writes
(committed transactions still in the ``-wal`` file included), which copying the
``.db`` file does not. PostgreSQL: ``pg_dump`` as the tables' owner (row-level
security hides rows from the app role, so its dump would be incomplete or fail).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa


class BackupError(ValueError):
    """A backup or restore that could not be made; the message says why."""


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    return Path(url.database)


def _libpq(url: sa.URL) -> str:
    """The URL as libpq (pg_dump, pg_restore) reads it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _copy_sqlite(source: Path, target: Path) -> None:
    if target.exists():
        raise BackupError(f"{target} exists; a backup never overwrites a file")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()


def _run(command: list[str]) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL's client tools)")
    done = subprocess.run([tool, *command[1:]], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()}")


def backup(url: sa.URL, target: Path) -> None:
    """Write a consistent backup of the registry at ``url`` to ``target`` (a new file)."""
    if url.get_backend_name() == "sqlite":
        _copy_sqlite(_sqlite_path(url), target)
        return
    if target.exists():
        raise BackupError(f"{target} exists; a backup never overwrites a file")
    _run(["pg_dump", "--format=custom", "--file", str(target), "--dbname", _libpq(url)])


def restore(source: Path, url: sa.URL) -> None:
    """Restore ``source`` into the registry at ``url``, which must be new (SQLite: no file;
    PostgreSQL: an empty database). The caller verifies the result before serving it."""
    if not source.is_file():
        raise BackupError(f"there is no backup {source}")
    if url.get_backend_name() == "sqlite":
        _copy_sqlite(source, _sqlite_path(url))
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar_one()
    finally:
        engine.dispose()
    if tables:
        raise BackupError("the target database is not empty; restore into a new database")
    _run(
        [
            "pg_restore",
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            "--dbname",
            _libpq(url),
            str(source),
        ]
    )
