"""``sijreg settings``: the registry's own settings, stored in it (store/registry_settings.py).

The follow-up visit windows and reminder days live in the registry, not in a command's
options, so the server, the invitations, the worklist, the API, the checks and the
reports all count follow-up with the same windows and send and flag with the same days.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from sijreg.cli.common import DatabaseOption, console, fail, label, open_registry

if TYPE_CHECKING:
    import sqlalchemy as sa

T = TypeVar("T")

settings_app = typer.Typer(
    help="Show or change the registry's settings (visit windows, reminder days)."
)


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
    from sijreg.store.registry_settings import set_visit_windows, visit_windows

    _show_or_set(database, windows, "visit windows", visit_windows, set_visit_windows, windows_text)


@settings_app.command("reminder-days")
def reminder_days_command(
    days: Annotated[
        str | None,
        typer.Argument(
            help="Days after a window opens for the invitation, then each reminder, "
            "comma-separated (e.g. 0,14,28); without it, show the current ones."
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Show or set the days the invitation and reminders go out (and a follow-up is overdue)."""
    from sijreg.domain.followup import reminder_days_text
    from sijreg.store.registry_settings import reminder_days, set_reminder_days

    _show_or_set(
        database, days, "reminder days", reminder_days, set_reminder_days, reminder_days_text
    )


def _show_or_set(
    database: str | None,
    text: str | None,
    what: str,
    read: Callable[[sa.Connection], T],
    write: Callable[[sa.Connection, str, str], T],
    show: Callable[[T], str],
) -> None:
    """Show setting ``what``, or set it to ``text`` (audited with the command as the reason)."""
    from sijreg.store.errors import DatabaseError

    try:
        engine = open_registry(database)
        with engine.begin() as conn:
            if text is None:
                current = read(conn)
            else:
                current = write(conn, text, f"sijreg settings {what.replace(' ', '-')}")
    except ValueError as error:
        raise fail(f"{what} refused: {error}") from None
    except DatabaseError as error:
        raise fail(str(error)) from None
    verb = "are now" if text is not None else "are"
    console.print(f"The {what} of {label(engine)} {verb}: {show(current)}")


def register(app: typer.Typer) -> None:
    """Add ``settings`` to the ``sijreg`` app."""
    app.add_typer(settings_app, name="settings")
