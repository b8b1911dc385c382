"""What every ``sijreg`` command shares: the consoles, one-message errors, the spinner and
opening the registry.

Light on purpose: the command line imports it before it knows which command runs, so it
loads no database driver, no data frame library and no statistics.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    import sqlalchemy as sa

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        "-d",
        help="A SQLite file path or a postgresql:// URL "
        "(default: $SIJREG_DATABASE_URL, else ./sijreg.db).",
    ),
]
"""Left unset, the store reads $SIJREG_DATABASE_URL (store.database.resolve_url), so a
value here was typed on the command line."""


class UserError(Exception):
    """A problem the user can fix; shown as one message."""


def fail(message: str) -> typer.Exit:
    """Print ``message`` as the command's one error; raise what this returns (exit code 1).

    The message is shown as written: what a user typed in it (``12:x:60``, ``[a]``) is
    neither Rich markup nor an emoji code."""
    from rich.markup import escape

    errors.print(f"[bold red]Error:[/bold red] {escape(message)}", highlight=False, emoji=False)
    return typer.Exit(code=1)


@contextmanager
def step(text: str) -> Iterator[None]:
    """A spinner for a step that can take more than a second (none unless on a terminal:
    then Rich's progress display is not even imported, a tenth of a second)."""
    if not errors.is_terminal:
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as progress:
        progress.add_task(text, total=None)
        yield


def open_registry(database: str | None, *, create: bool = True) -> sa.Engine:
    """The registry named by ``--database`` (or the default), migrated; DatabaseError if not."""
    from sijreg.store.database import open_database

    with step("Opening the registry"):
        return open_database(database, create=create)


def label(engine: sa.Engine) -> str:
    """The registry as the user may see it named (no password)."""
    return engine.url.render_as_string(hide_password=True)
