"""Another study's protocol file, made by editing a copy of the default one, as a user would."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sijreg.interop.protocol_file import DEFAULT_PROTOCOL

DEFAULT_TEXT = (
    resources.files("sijreg.domain")
    .joinpath("protocols", DEFAULT_PROTOCOL)
    .read_text(encoding="utf-8")
)


def edited(tmp_path: Path, *replacements: tuple[str, str], name: str = "study.toml") -> Path:
    """A copy of the default protocol with each (old, new) text replaced; its path."""
    text = DEFAULT_TEXT
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
