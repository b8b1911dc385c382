"""``sijreg audit verify | keygen | checkpoint | adopt``: the audit trail checked and anchored."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sijreg.cli.common import DatabaseOption, console, fail, open_registry

if TYPE_CHECKING:
    import sqlalchemy as sa
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from sijreg.store import checkpoints

audit_app = typer.Typer(help="Check and anchor the audit trail.", no_args_is_help=True)

KeyOption = Annotated[
    Path, typer.Option("--key", help="The Ed25519 private key (PEM), kept off the database.")
]
CheckpointsOption = Annotated[
    Path | None,
    typer.Option("--checkpoints", help="The checkpoint file to check the trail against."),
]
PublicKeyOption = Annotated[
    Path | None, typer.Option("--public-key", help="The public key the checkpoints verify with.")
]


def verify_registry(
    engine: sa.Engine, checkpoint_file: Path | None, public_key: Path | None
) -> str:
    """Verify chain, rows and (when given) checkpoints; the summary, or a failure naming each
    table and id."""
    from sijreg.store import audit, checkpoints
    from sijreg.store.checkpoints import CheckpointError
    from sijreg.store.scope import set_database_scope

    if (checkpoint_file is None) != (public_key is None):
        raise fail("--checkpoints and --public-key go together")
    try:
        points = checkpoints.read_checkpoints(checkpoint_file) if checkpoint_file else []
        key = checkpoints.load_public_key(public_key) if public_key else None
    except CheckpointError as error:
        raise fail(str(error)) from None
    with engine.begin() as conn:
        set_database_scope(conn, None, pooled=True)  # all rows, also as a non-owner role
        result = audit.verify(conn)
        anchored = checkpoints.check(conn, points, key) if key else []
    if result.chain is not None:
        raise fail(
            f"the audit trail is broken at entry {result.chain.entry_id}: {result.chain.message}"
        )
    problems = result.records + anchored
    if problems:
        lines = "\n  ".join(p.message for p in problems)
        raise fail(f"{len(problems)} problems found in the audit trail:\n  {lines}")
    anchor = (
        f" {len(points)} checkpoints match (up to entry {max(p.entry_id for p in points)})."
        if points
        else " No checkpoints given: a recomputed chain would pass; see `sijreg audit checkpoint`."
    )
    return (
        f"Audit trail intact: {result.entries} entries, every audited row matches its newest "
        f"entry. Head {result.head}.{anchor}"
    )


@audit_app.command("verify")
def audit_verify(
    database: DatabaseOption = None,
    checkpoint_file: CheckpointsOption = None,
    public_key: PublicKeyOption = None,
) -> None:
    """Recompute the chain, compare every audited row with its newest entry (both ways), and
    check the signed checkpoints."""
    console.print(verify_registry(_engine(database), checkpoint_file, public_key))


@audit_app.command("keygen")
def audit_keygen(
    key: KeyOption,
    public_key: Annotated[
        Path, typer.Option("--public-key", help="Where to write the public key.")
    ],
) -> None:
    """Create the Ed25519 key pair that signs checkpoints (never store the private key with
    the database)."""
    from sijreg.store import checkpoints
    from sijreg.store.checkpoints import CheckpointError

    try:
        checkpoints.generate_key(key, public_key)
    except (CheckpointError, OSError) as error:
        raise fail(str(error)) from None
    console.print(f"Private key {key} (mode 600), public key {public_key}.")


@audit_app.command("checkpoint")
def audit_checkpoint(
    key: KeyOption,
    to: Annotated[Path, typer.Option("--to", help="The append-only checkpoint file.")],
    database: DatabaseOption = None,
) -> None:
    """Sign the trail's head and append it to the checkpoint file."""
    from sijreg.store import checkpoints
    from sijreg.store.checkpoints import CheckpointError

    engine = _engine(database)
    try:
        point = _checkpoint(engine, checkpoints.load_private_key(key), to)
    except (CheckpointError, OSError) as error:
        raise fail(str(error)) from None
    console.print(f"Checkpoint: entry {point.entry_id}, head {point.head}, signed into {to}.")


@audit_app.command("adopt")
def audit_adopt(
    reason: Annotated[str, typer.Option(help="Why these rows are taken in (audited).")],
    database: DatabaseOption = None,
) -> None:
    """Take rows without any audit entry (saved by a sijreg that did not audit them) into the
    trail as they are, once after an upgrade. Rows that differ from their entries stay reported."""
    from sijreg.store import audit
    from sijreg.store.scope import set_database_scope

    engine = _engine(database)
    try:
        with engine.begin() as conn:
            set_database_scope(conn, None, pooled=True)
            adopted = audit.adopt(conn, reason)
    except ValueError as error:
        raise fail(str(error)) from None
    counts = Counter(name for name, _ in adopted)
    listed = ", ".join(f"{n} {name}" for name, n in sorted(counts.items())) or "none"
    console.print(f"Adopted rows without an audit entry: {listed}.")


def _engine(database: str | None) -> sa.Engine:
    from sijreg.store.errors import DatabaseError

    try:
        return open_registry(database)
    except DatabaseError as error:
        raise fail(str(error)) from None


def _checkpoint(engine: sa.Engine, key: Ed25519PrivateKey, to: Path) -> checkpoints.Checkpoint:
    from sijreg.store import checkpoints
    from sijreg.store.scope import set_database_scope

    with engine.begin() as conn:
        set_database_scope(conn, None, pooled=True)
        return checkpoints.write_checkpoint(conn, key, to)


def start_checkpoints(engine: sa.Engine, key_file: Path, to: Path, minutes: float) -> None:
    """Checkpoint every ``minutes`` in a background thread of ``sijreg serve``."""
    import sqlalchemy as sa

    from sijreg.store import checkpoints
    from sijreg.store.checkpoints import CheckpointError

    try:
        key = checkpoints.load_private_key(key_file)
    except CheckpointError as error:
        raise fail(str(error)) from None
    log = logging.getLogger("sijreg.checkpoints")

    def run() -> None:
        while not stopped.wait(minutes * 60):
            try:
                point = _checkpoint(engine, key, to)
                log.info("checkpoint: entry %d signed into %s", point.entry_id, to)
            except (CheckpointError, OSError, sa.exc.SQLAlchemyError) as error:
                log.error("checkpoint failed: %s", error)

    stopped = threading.Event()
    threading.Thread(target=run, name="sijreg-checkpoints", daemon=True).start()
