"""``sijreg check``: stored records that break a rule of :mod:`sijreg.domain.rules`.

Registered on the main app by :func:`register` (cli/app.py).
Records saved before a rule held, or written outside sijreg, are listed here rather
than silently analysed; the exit code is 1 when any is found (for scripts). Plausibility
warnings (:mod:`sijreg.domain.plausibility`) are listed too but do not fail the check.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from sijreg.cli.common import DatabaseOption, console, fail, label, open_registry


def check(
    site: Annotated[str | None, typer.Option(help="Only this site's patients.")] = None,
    database: DatabaseOption = None,
) -> None:
    """List stored records that break a rule (a date in the future, a visit before the fusion…)."""
    from sijreg.store import accounts
    from sijreg.store.errors import DatabaseError
    from sijreg.store.integrity import stored_breaches, stored_doubts
    from sijreg.store.registry_settings import visit_windows
    from sijreg.store.scope import set_database_scope

    try:
        engine = open_registry(database)
    except DatabaseError as error:
        raise fail(str(error)) from None
    with engine.begin() as conn:
        set_database_scope(conn, None, pooled=True)  # all rows, also as a non-owner role
        site_id = accounts.find_site(conn, site) if site else None
        if site and site_id is None:
            raise fail(f"no site {site!r} in {label(engine)}")
        found = stored_breaches(conn, site_id, date.today())
        doubts = stored_doubts(conn, site_id, date.today(), visit_windows(conn))
    for d in doubts:
        console.print(
            f"warning: site {d.site_code}, patient {d.study_id}, {d.form} {d.record_id}: "
            f"{d.doubt.message}",
            highlight=False,
        )
    for f in found:
        console.print(
            f"site {f.site_code}, patient {f.study_id}, {f.form} {f.record_id}: "
            f"{f.breach.describe()}",
            highlight=False,
        )
    if found:
        raise fail(f"{len(found)} stored record value(s) break a rule; correct them at their site")
    console.print(
        f"Every stored record of {label(engine)} keeps the rules"
        + (f" ({len(doubts)} warning(s) worth a second look)." if doubts else ".")
    )


def register(app: typer.Typer) -> None:
    """Add ``check`` to the ``sijreg`` app."""
    app.command()(check)
