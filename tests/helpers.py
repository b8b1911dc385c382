"""Small builders shared by the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from sijreg.cli.app import app
from sijreg.interop.sheet import COLUMN_NAMES

HEADER = ",".join(COLUMN_NAMES)

PUBLISHED_FIGURES = (
    "69.8 ± 9",
    "60 (54.1%)",
    "51 (45.9%)",
    "30.6 ± 6.2",
    "76 (68.5%)",
    "39 (35.1%)",
    "3 (2.7%)",
    "2 (1.8%)",
    "9 (8.1%)",
    "290.9 ± 195.7",
    "67.6% ± 28.9%",
    "102 (91.9%)",
    "92 (82.9%)",
    "52 (46.8%)",
    "349.4 ± 233.4",
    "76.5% ± 25.5%",
    "49 (96.1%)",
    "47 (92.2%)",
    "30 (58.8%)",
    "7 SCS+ISS",
    "2 SCS+IDDS",
)
"""Every figure of the seed paper's Tables 1-3 and text, as the paper prints them."""


def run(*args: str) -> Result:
    """Run the sijreg CLI in-process, as a user would from a wide terminal."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _undefined(constant: str) -> None:
    raise ValueError(f"not strict JSON: bare {constant}")


def strict_json(text: str) -> Any:
    """``text`` parsed as strict JSON, as ``JSON.parse`` and jq do: NaN and Infinity fail."""
    return json.loads(text, parse_constant=_undefined)


def read_tables(path: Path) -> dict[str, Any]:
    """A report's tables.json (or the file ``path`` names), parsed strictly."""
    file = path / "tables.json" if path.is_dir() else path
    document: dict[str, Any] = strict_json(file.read_text(encoding="utf-8"))
    return document
