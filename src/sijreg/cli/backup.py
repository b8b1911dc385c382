"""``sijreg backup DEST`` and ``sijreg restore SRC``: a restore is verified before it counts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sijreg.cli.audit import CheckpointsOption, PublicKeyOption, _engine, verify_registry
from sijreg.cli.common import DatabaseOption, console, fail


def backup_command(
    dest: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
    database: DatabaseOption = None,
) -> None:
    """Back up the registry while it serves (SQLite: the online backup API; PostgreSQL:
    pg_dump, run as the tables' owner)."""
    from sijreg.store.backup import BackupError, backup
    from sijreg.store.database import resolve_url

    try:
        backup(resolve_url(database), dest)
    except (BackupError, OSError) as error:
        raise fail(str(error)) from None
    console.print(f"Backed up to {dest}.")


def restore_command(
    src: Annotated[Path, typer.Argument(help="A backup made by `sijreg backup`.")],
    database: DatabaseOption = None,
    checkpoint_file: CheckpointsOption = None,
    public_key: PublicKeyOption = None,
) -> None:
    """Restore a backup into a new registry, then verify its audit trail (and checkpoints).

    A restore that does not verify ends with an error: do not serve it.
    """
    from sijreg.store.backup import BackupError, restore
    from sijreg.store.database import resolve_url

    url = resolve_url(database)
    try:
        restore(src, url)
    except (BackupError, OSError) as error:
        raise fail(str(error)) from None
    try:
        summary = verify_registry(_engine(database), checkpoint_file, public_key)
    except typer.Exit:
        console.print(f"Restored {src}, but it does not verify: do not serve it.")
        raise
    console.print(f"Restored {src} into {url.render_as_string(hide_password=True)}. {summary}")


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
