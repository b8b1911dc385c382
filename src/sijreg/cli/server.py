"""``sijreg serve``, ``sijreg user …`` and ``sijreg db grant-app-role``."""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sijreg.cli import audit as audit_cli
from sijreg.cli import backup as backup_cli
from sijreg.cli.analysis import ProtocolOption
from sijreg.cli.common import DatabaseOption, console, fail, label, open_registry
from sijreg.server.threads import REQUEST_THREADS
from sijreg.store.roles import Role

if TYPE_CHECKING:
    import sqlalchemy as sa
    from fastapi import FastAPI

    from sijreg.server.web import ServerSettings

user_app = typer.Typer(help="Manage user accounts and API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="Database administration.", no_args_is_help=True)

PASSWORD_ENV = "SIJREG_PASSWORD"


def _password(confirm: bool = True) -> str:
    """The new password: ``$SIJREG_PASSWORD`` (for scripts) or typed without echo."""
    if from_env := os.environ.get(PASSWORD_ENV):
        return from_env
    first = getpass.getpass("Password (at least 12 characters): ")
    if confirm and getpass.getpass("Again: ") != first:
        from sijreg.store.accounts import AccountError

        raise AccountError("the two passwords differ")
    return first


def _run(database: str | None) -> sa.Engine:
    from sijreg.store.errors import DatabaseError

    try:
        return open_registry(database)
    except DatabaseError as error:
        raise fail(str(error)) from None


@contextmanager
def _changing(database: str | None) -> Iterator[sa.Connection]:
    """One transaction on the registry; a refused change ends the command with its reason."""
    from sijreg.store.accounts import AccountError
    from sijreg.store.app_role import RoleError

    engine = _run(database)
    try:
        with engine.begin() as conn:
            yield conn
    except (AccountError, RoleError) as error:
        raise fail(str(error)) from None


@user_app.command("add")
def user_add(
    username: Annotated[
        str, typer.Argument(help="Sign-in name: lower-case letters, digits, . _ -")
    ],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    name: Annotated[str, typer.Option("--name", help="Printed name, shown in signatures.")],
    site: Annotated[
        str | None,
        typer.Option(help="Site code (coordinator, investigator, a monitor of one site)."),
    ] = None,
    sites: Annotated[
        str | None,
        typer.Option(help="A monitor of several sites: their codes, comma-separated (A,B)."),
    ] = None,
    all_sites: Annotated[
        bool, typer.Option("--all-sites", help="A monitor of every site, later ones too.")
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Create a user; the password is asked for (or read from $SIJREG_PASSWORD)."""
    from sijreg.store import accounts

    if sites is not None and all_sites:
        raise fail("give --sites or --all-sites, not both")
    monitors: list[str] | None = [] if all_sites else None
    if sites is not None:
        monitors = [code.strip() for code in sites.split(",") if code.strip()]
        if not monitors:
            raise fail("--sites needs at least one site code")
    with _changing(database) as conn:
        accounts.add_user(conn, username, name, role, _password(), site, monitors=monitors)
    covers = "" if monitors is None else f", sites: {', '.join(monitors) or 'all'}"
    console.print(f"User {username} ({role}{covers}) created.")


@user_app.command("list")
def user_list(database: DatabaseOption = None) -> None:
    """List the users with role, site and state."""
    from sijreg.store import accounts

    engine = _run(database)
    with engine.connect() as conn:
        for row in accounts.list_users(conn):
            state = "disabled" if row.disabled else "active"
            covered = ",".join(code for _, code in accounts.monitored_sites(conn, row.id))
            console.print(
                f"{row.username}\t{row.role}\t{row.site_code or covered or '-'}\t{state}\t"
                f"{row.printed_name}",
                highlight=False,
            )


@user_app.command("disable")
def user_disable(
    username: Annotated[str, typer.Argument(help="The user to disable.")],
    database: DatabaseOption = None,
) -> None:
    """Disable a user: their sessions end and their tokens stop working."""
    from sijreg.store import accounts

    with _changing(database) as conn:
        accounts.change_user(conn, accounts.user_id(conn, username), disabled=True)
    console.print(f"User {username} disabled.")


@user_app.command("password")
def user_password(
    username: Annotated[str, typer.Argument(help="The user whose password is set.")],
    database: DatabaseOption = None,
) -> None:
    """Set a new password (asked for, or $SIJREG_PASSWORD); the user's sessions end."""
    from sijreg.store import accounts

    with _changing(database) as conn:
        accounts.set_password(conn, accounts.user_id(conn, username), _password())
    console.print(f"Password of {username} changed.")


@user_app.command("token")
def user_token(
    username: Annotated[str, typer.Argument(help="The user the token speaks for.")],
    days: Annotated[int, typer.Option(help="Days until the token expires (1-366).")] = 30,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "script",
    database: DatabaseOption = None,
) -> None:
    """Issue an API token bound to the user's role and site; it is shown once."""
    from sijreg.store import accounts

    with _changing(database) as conn:
        token_id, secret = accounts.issue_token(conn, accounts.user_id(conn, username), days, label)
    console.print(f"Token {token_id} for {username}, valid {days} days. Send it as")
    console.print(f"  Authorization: Bearer {secret}", highlight=False, soft_wrap=True)
    console.print("It is not stored and cannot be shown again.")


@user_app.command("revoke-token")
def user_revoke_token(
    token_id: Annotated[int, typer.Argument(help="The token's number, as issued.")],
    database: DatabaseOption = None,
) -> None:
    """Revoke an API token at once."""
    from sijreg.store import accounts

    with _changing(database) as conn:
        accounts.revoke_token(conn, token_id)
    console.print(f"Token {token_id} revoked.")


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOption = None) -> None:
    """Create or migrate the schema (run as the tables' owner)."""
    engine = _run(database)
    console.print(f"Schema of {label(engine)} is current.")


@db_app.command("grant-app-role")
def db_grant_app_role(
    role: Annotated[
        str, typer.Argument(help="The role the server will connect as.")
    ] = "sijreg_app",
    database: DatabaseOption = None,
) -> None:
    """On PostgreSQL, as the tables' owner: create/prepare the server's restricted role.

    A password is set from $SIJREG_PASSWORD when given.
    """
    from sijreg.store.app_role import grant_app_role

    with _changing(database) as conn:
        grant_app_role(conn, role, os.environ.get(PASSWORD_ENV))
    console.print(f"Role {role} may now run the server.")


def server_engine(database: str | None) -> sa.Engine:
    """SQLite: open and migrate. PostgreSQL: the app role may not migrate, so check only."""
    from sijreg.store.database import (
        SCHEMA_REVISION,
        create_engine,
        current_revision,
        open_database,
        resolve_url,
    )
    from sijreg.store.errors import DatabaseError

    url = resolve_url(database)
    if url.get_backend_name() == "sqlite":
        return open_database(database, connections=SERVER_CONNECTIONS)
    engine = create_engine(url, connections=SERVER_CONNECTIONS)
    with engine.connect() as conn:
        current = current_revision(conn)
    if current != SCHEMA_REVISION:
        engine.dispose()
        raise DatabaseError(
            "the database schema is not current: run `sijreg db upgrade` as the tables' owner"
        )
    return engine


def serve(
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    idle_minutes: Annotated[int, typer.Option(help="Sign out after this much inactivity.")] = 30,
    absolute_hours: Annotated[int, typer.Option(help="Sign out this long after sign-in.")] = 12,
    protocol_file: ProtocolOption = None,
    odi_file: Annotated[
        Path | None,
        typer.Option(help="The study's licensed ODI wording (FHIR Questionnaire, see docs)."),
    ] = None,
    checkpoint_key: Annotated[
        Path | None, typer.Option(help="Sign audit checkpoints with this Ed25519 private key.")
    ] = None,
    checkpoint_file: Annotated[
        Path | None, typer.Option(help="Append the signed checkpoints to this file.")
    ] = None,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            help="Addresses (comma-separated) of the reverse proxies whose X-Forwarded-For "
            "and X-Forwarded-Proto are believed; nobody else's."
        ),
    ] = "127.0.0.1",
    checkpoint_minutes: Annotated[
        float, typer.Option(help="Minutes between two checkpoints.")
    ] = 60.0,
    max_body_kb: Annotated[
        int, typer.Option(help="Refuse request bodies larger than this (KB) with 413.")
    ] = 1024,
    workers: Annotated[
        int,
        typer.Option(
            help="Server processes (PostgreSQL: one per core; SQLite has one writer, keep 1)."
        ),
    ] = 1,
    threads: Annotated[
        int,
        typer.Option(
            help="Requests each server process works on at once (more wait their turn; "
            "reports and exports run beside them, two at a time)."
        ),
    ] = REQUEST_THREADS,
) -> None:
    """Run the registry server (pages and the JSON API at /api/v1)."""
    import sqlalchemy as sa

    from sijreg.interop.instrument_file import InstrumentError
    from sijreg.store.errors import DatabaseError

    options = ServeOptions(
        database,
        idle_minutes,
        absolute_hours,
        None if protocol_file is None else str(protocol_file),
        None if odi_file is None else str(odi_file),
        max_body_kb,
        threads,
    )
    try:
        settings = options.settings()
        if (checkpoint_key is None) != (checkpoint_file is None) or checkpoint_minutes <= 0:
            raise ValueError(
                "--checkpoint-key and --checkpoint-file go together, every > 0 minutes"
            )
        if workers < 1:
            raise ValueError("--workers must be at least 1")
        engine = server_engine(database)
    except (ValueError, DatabaseError, sa.exc.OperationalError, InstrumentError) as error:
        raise fail(str(error).splitlines()[0]) from None
    if checkpoint_key is not None and checkpoint_file is not None:  # in this process only
        audit_cli.start_checkpoints(engine, checkpoint_key, checkpoint_file, checkpoint_minutes)
    # The web stack loads only for `serve`: every other command starts a second sooner.
    import uvicorn

    from sijreg.server.app import create_app

    _log_setup()
    _first_run_hint(engine)
    console.print(f"Serving {label(engine)} on http://{host}:{port}/ (Ctrl+C stops)")
    common = {
        "host": host,
        "port": port,
        "access_log": False,
        "proxy_headers": True,
        "forwarded_allow_ips": forwarded_allow_ips,
        "server_header": False,
    }
    if workers == 1:
        uvicorn.run(create_app(engine, settings), **common)  # type: ignore[arg-type]
        return
    os.environ[_OPTIONS_ENV] = json.dumps(asdict(options))
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(f"{__name__}:worker_app", factory=True, workers=workers, **common)  # type: ignore[arg-type]
    try:
        listening = _listen(host, port)
    except OSError as error:
        raise fail(f"cannot listen on {host}:{port}: {error}") from None
    Multiprocess(config, sockets=[listening]).run()


def _listen(host: str, port: int) -> socket.socket:
    """The socket the workers share. Made as a TCP socket explicitly: asyncio sets
    TCP_NODELAY only on connections of such a socket, and without it (uvicorn's own
    ``--workers`` socket) a small answer in two writes waits 40 ms for a delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind((host, port))
    listening.set_inheritable(True)
    return listening


SERVER_CONNECTIONS = 16
"""Database connections each server process keeps open (and never more: see
``create_engine``); a PostgreSQL server needs ``max_connections`` above workers x 16."""

_OPTIONS_ENV = "SIJREG_SERVE_OPTIONS"
"""How ``serve --workers N`` hands its options to the worker processes it starts."""


@dataclass(frozen=True)
class ServeOptions:
    """``serve``'s options that shape the application, as given (each worker parses them)."""

    database: str | None
    idle_minutes: int
    absolute_hours: int
    protocol_file: str | None
    odi_file: str | None
    max_body_kb: int
    threads: int = REQUEST_THREADS

    def settings(self) -> ServerSettings:
        """The server's settings; ValueError (or InstrumentError) names a bad option."""
        from sijreg.interop.instrument_file import default_instruments
        from sijreg.interop.protocol_file import load_protocol
        from sijreg.server.web import ServerSettings
        from sijreg.store.accounts import Timeouts

        if self.idle_minutes < 1 or self.absolute_hours < 1:
            raise ValueError("time-outs must be positive")
        if self.max_body_kb < 1:
            raise ValueError("--max-body-kb must be at least 1")
        if self.threads < 1:
            raise ValueError("--threads must be at least 1")
        return ServerSettings(
            Timeouts(timedelta(minutes=self.idle_minutes), timedelta(hours=self.absolute_hours)),
            load_protocol(None if self.protocol_file is None else Path(self.protocol_file)),
            default_instruments(None if self.odi_file is None else Path(self.odi_file)),
            self.max_body_kb,
            self.threads,
        )


def worker_app() -> FastAPI:
    """One worker's application under ``serve --workers N`` (uvicorn calls it in each process;
    the first process checked the options and the schema already)."""
    from sijreg.server.app import create_app
    from sijreg.store.database import create_engine, resolve_url

    options = ServeOptions(**json.loads(os.environ[_OPTIONS_ENV]))
    _log_setup()
    engine = create_engine(resolve_url(options.database), connections=SERVER_CONNECTIONS)
    return create_app(engine, options.settings())


def _log_setup() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _first_run_hint(engine: sa.Engine) -> None:
    """A registry nobody can sign in to says how to add the first administrator."""
    from sijreg.store import accounts

    with engine.connect() as conn:
        if accounts.list_users(conn):
            return
    console.print(
        "No user can sign in yet. Add the first administrator (in another terminal):\n"
        f"  sijreg user add admin --role admin --name 'Your Name' --database {label(engine)}\n"
        "then sign in at /sign-in and add the sites and their users on the Administration page.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add these commands to the ``sijreg`` app."""
    app.command()(serve)
    app.add_typer(user_app, name="user")
    app.add_typer(audit_cli.audit_app, name="audit")
    backup_cli.register(app)
    app.add_typer(db_app, name="db")
