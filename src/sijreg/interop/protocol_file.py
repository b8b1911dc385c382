"""Reading protocol files: the user's, or the seed study's that ships in the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sijreg.domain.protocol import Protocol, ProtocolError, parse_protocol

DEFAULT_PROTOCOL = "seed-study-2021.toml"


def load_protocol(path: Path | None = None) -> Protocol:
    """The protocol in ``path``; without one, the default (the seed study's) protocol."""
    if path is None:
        resource = resources.files("sijreg.domain").joinpath("protocols", DEFAULT_PROTOCOL)
        return parse_protocol(resource.read_bytes(), f"{DEFAULT_PROTOCOL} (the default)")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ProtocolError(f"{path}: cannot read: {error.strerror}") from None
    return parse_protocol(data, str(path))
