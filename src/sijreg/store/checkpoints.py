"""Checkpoints: the audit trail's head, signed with a key that is never in the database.

Anyone who can write to the database can rewrite the whole chain, since recomputing
it needs no secret. Nobody can sign without the private key, so a checkpoint file
(JSON lines: entry id, head hash, time, Ed25519 signature) kept away from the
database proves that no entry up to the last checkpoint was changed, removed,
truncated or recomputed. See docs/server.md, "Audit trail".
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sijreg.store import audit, schema


class CheckpointError(ValueError):
    """A key or checkpoint file that cannot be used; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    entry_id: int
    head: str
    at: str
    signature: str

    def message(self) -> bytes:
        return json.dumps(
            {"entry_id": self.entry_id, "head": self.head, "at": self.at}, sort_keys=True
        ).encode()


def generate_key(private_path: Path, public_path: Path) -> None:
    """A new Ed25519 key pair as PEM files; the private one readable by its owner only."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CheckpointError(f"{private_path} exists; a key is never overwritten") from None
    with os.fdopen(fd, "wb") as out:
        out.write(private)
    public_path.write_bytes(public)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"cannot read the private key {path}: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"cannot read the public key {path}: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path} is not an Ed25519 public key")
    return key


def write_checkpoint(conn: sa.Connection, key: Ed25519PrivateKey, path: Path) -> Checkpoint:
    """Sign the current head and append it to ``path`` (created if missing), durably."""
    newest = audit.head(conn)
    if newest is None:
        raise CheckpointError("the audit trail is empty: nothing to sign")
    at = datetime.now(UTC).isoformat(timespec="seconds")
    unsigned = Checkpoint(newest[0], newest[1], at, "")
    signed = Checkpoint(newest[0], newest[1], at, key.sign(unsigned.message()).hex())
    line = json.dumps(asdict(signed), sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return signed


def read_checkpoints(path: Path) -> list[Checkpoint]:
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as error:
        raise CheckpointError(f"cannot read the checkpoints {path}: {error}") from None
    found = []
    for number, line in enumerate(lines, 1):
        try:
            values = json.loads(line)
            found.append(
                Checkpoint(
                    int(values["entry_id"]),
                    str(values["head"]),
                    str(values["at"]),
                    str(values["signature"]),
                )
            )
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"{path} line {number} is not a checkpoint") from None
    return found


def check(
    conn: sa.Connection, checkpoints: list[Checkpoint], key: Ed25519PublicKey
) -> list[audit.Problem]:
    """Every checkpoint's signature, and the stored entry it signed, unchanged.

    With an intact chain (checked by :func:`audit.verify`), an entry whose hash
    matches its signed head proves every entry before it unchanged too.
    """
    problems: list[audit.Problem] = []
    log = schema.audit_log
    last_id = 0
    for number, point in enumerate(checkpoints, 1):
        label = f"checkpoint {number} (entry {point.entry_id}, {point.at})"
        try:
            key.verify(bytes.fromhex(point.signature), point.message())
        except (InvalidSignature, ValueError):
            problems.append(audit.Problem(point.entry_id, f"{label}: the signature is not valid"))
            continue
        if point.entry_id < last_id:
            problems.append(audit.Problem(point.entry_id, f"{label}: older than the one before"))
        last_id = max(last_id, point.entry_id)
        stored = conn.execute(
            sa.select(log.c.entry_hash).where(log.c.id == point.entry_id)
        ).scalar_one_or_none()
        if stored is None:
            problems.append(
                audit.Problem(point.entry_id, f"{label}: the entry is gone (trail truncated)")
            )
        elif stored != point.head:
            problems.append(
                audit.Problem(
                    point.entry_id, f"{label}: the entry differs (chain rewritten or recomputed)"
                )
            )
    return problems
