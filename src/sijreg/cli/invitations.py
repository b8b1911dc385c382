"""``sijreg invitations export`` and ``sijreg invitations send``: follow-up links to patients.

Both first issue any missing invitations of the site (one per fused patient and
follow-up whose window has not closed), then hand the live links out: as a CSV and
PDF letters for the site's own mailing, or as e-mails to the addresses of a
site-local contacts file. The registry records only that, and when, a message was
sent; the contacts file is read for the run and nothing of it is kept.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sijreg.cli.common import DatabaseOption, console, fail, open_registry
from sijreg.domain.followup import message_due

if TYPE_CHECKING:
    import sqlalchemy as sa

    from sijreg.interop.invitation_letters import Invitation

invitations_app = typer.Typer(
    help="Follow-up invitations: letters, CSV, e-mail.", no_args_is_help=True
)

KEY_ENV = "SIJREG_LINK_KEY_FILE"
DEFAULT_KEY = Path("sijreg-links.key")

SiteOption = Annotated[str, typer.Option("--site", help="The site's code.")]
BaseUrlOption = Annotated[
    str,
    typer.Option("--base-url", help="The server's public address, e.g. https://reg.example.org"),
]
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help=f"The site's link key file (made on first use; ${KEY_ENV} or ./{DEFAULT_KEY}). "
        "Keep it with the server's configuration, never in the database.",
    ),
]


def link_key(path: Path | None) -> bytes:
    """The site's link key; a new random one is written (owner-only) when the file is missing."""
    from sijreg.store import followup

    where = path or Path(os.environ.get(KEY_ENV, DEFAULT_KEY))
    if where.exists():
        data = where.read_bytes().strip()
        try:
            key = bytes.fromhex(data.decode())
        except (UnicodeDecodeError, ValueError):
            raise fail(f"{where}: not a link key (64 hex digits)") from None
        if len(key) != followup.KEY_BYTES:
            raise fail(f"{where}: not a link key (64 hex digits)")
        return key
    key = secrets.token_bytes(followup.KEY_BYTES)
    fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key.hex() + "\n")
    console.print(f"New link key written to {where}: keep it safe; links are made from it.")
    return key


def _live(
    database: str | None, site: str, key: bytes, base_url: str
) -> tuple[sa.Engine, str, list[Invitation], tuple[int, ...]]:
    # The store, PDF, QR and FHIR libraries load only for these commands: others start sooner.
    import sqlalchemy as sa

    from sijreg.interop import invitation_letters as letters
    from sijreg.interop.instrument_file import InstrumentError, default_instruments
    from sijreg.store import accounts, followup, schema
    from sijreg.store.errors import DatabaseError
    from sijreg.store.registry_settings import reminder_days, visit_windows

    try:
        engine = open_registry(database)
        instruments = default_instruments()
    except (DatabaseError, ValueError, InstrumentError) as error:
        raise fail(str(error)) from None
    today = datetime.now(UTC).date()
    with engine.begin() as conn:
        site_id = accounts.find_site(conn, site)
        if site_id is None:
            raise fail(f"no site {site!r} in the registry")
        made = followup.issue(conn, site_id, key, today, visit_windows(conn), instruments)
        days = reminder_days(conn)
        rows = followup.invitations(conn, site_id)
        s = schema.site
        name = conn.execute(sa.select(s.c.site_name).where(s.c.id == site_id)).scalar() or site
    if made:
        console.print(f"{made} new invitations issued at {site}.")
    base = base_url.rstrip("/")
    links = {int(r["id"]): f"{base}/f/{followup.token_for(key, r['salt'])}" for r in rows}
    return engine, name, letters.live(rows, links, today, days), days


@invitations_app.command("export")
def export(
    site: SiteOption,
    base_url: BaseUrlOption,
    out: Annotated[Path, typer.Option(help="Folder for the CSV and the letters.")] = Path("."),
    key: KeyOption = None,
    database: DatabaseOption = None,
) -> None:
    """Write the site's live links as a mail-merge CSV and printable PDF letters with QR codes."""
    from sijreg.interop import invitation_letters as letters

    _, name, live, _ = _live(database, site, link_key(key), base_url)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, pdf_path = out / f"invitations-{site}.csv", out / f"letters-{site}.pdf"
    letters.write_csv(live, csv_path)
    letters.write_letters(name, live, pdf_path)
    console.print(f"{len(live)} live invitations: {csv_path}, {pdf_path}")


@invitations_app.command("send")
def send(
    site: SiteOption,
    base_url: BaseUrlOption,
    contacts: Annotated[
        Path, typer.Option(help="The site's own CSV with columns study_id, email (not stored).")
    ],
    smtp: Annotated[str, typer.Option(help="smtp://host:port, smtps://user:pass@host, ...")],
    sender: Annotated[str, typer.Option(help="The From address.")] = "follow-up@localhost",
    key: KeyOption = None,
    database: DatabaseOption = None,
) -> None:
    """E-mail each invitation or reminder that is due today to the address the site keeps."""
    from sijreg.interop import invitation_letters as letters
    from sijreg.store import accounts, followup

    try:
        server = letters.Smtp.parse(smtp)
        addresses = letters.read_contacts(contacts)
    except (ValueError, letters.ContactsError) as error:
        raise fail(str(error)) from None
    engine, name, live, days = _live(database, site, link_key(key), base_url)
    today = datetime.now(UTC).date()
    due = [
        i
        for i in live
        if message_due(i.valid_from, i.valid_until, today, i.messages_sent, i.last_sent, days)
    ]
    sent = no_address = 0
    if due:
        with server.connect() as smtp_conn:
            for invitation in due:
                to = addresses.get(invitation.study_id)
                if to is None:
                    no_address += 1
                    continue
                smtp_conn.send_message(letters.message(name, sender, to, invitation))
                with engine.begin() as conn:
                    followup.record_sent(conn, invitation.invitation_id, accounts.now())
                sent += 1
    console.print(
        f"{sent} messages sent; {no_address} due but not in the contacts file; "
        f"{len(live) - len(due)} live links not due a message today."
    )


def register(app: typer.Typer) -> None:
    """Add ``invitations`` to the ``sijreg`` app."""
    app.add_typer(invitations_app, name="invitations")
