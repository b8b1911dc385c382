"""``sijreg settings``: the registry's own settings, stored in it (store/registry_settings.py).

The follow-up visit windows live in the registry, not in a command's options, so the
server, the invitations, the worklist, the API, the checks and the reports all count
follow-up with the same windows.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sijreg.cli.common import DatabaseOption, console, fail, label, open_registry

settings_app = typer.Typer(help="Show or change the registry's settings (the visit windows).")


@settings_app.command("visit-windows")
def visit_windows_command(
    windows: Annotated[
        str | None,
        typer.Argument(
            help="New windows as months:days-before:days-after, comma-separated "
            "(e.g. 3:14:30,6:30:30,12:30:60,24:60:90); without it, show the current ones."
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Show or set the follow-up visit windows every part of sijreg uses."""
    from sijreg.domain.schedule import windows_text
    from sijreg.store.database import DatabaseError
    from sijreg.store.registry_settings import set_visit_windows, visit_windows

    try:
        engine = open_registry(database)
        with engine.begin() as conn:
            if windows is None:
                current = visit_windows(conn)
            else:
                current = set_visit_windows(conn, windows, "sijreg settings visit-windows")
    except ValueError as error:
        raise fail(f"visit windows refused: {error}") from None
    except DatabaseError as error:
        raise fail(str(error)) from None
    verb = "are now" if windows is not None else "are"
    console.print(f"The visit windows of {label(engine)} {verb}: {windows_text(current)}")


def register(app: typer.Typer) -> None:
    """Add ``settings`` to the ``sijreg`` app."""
    app.add_typer(settings_app, name="settings")
