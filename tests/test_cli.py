"""The command line as a newcomer meets it: help, version, the demo, clear errors."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sijreg import __version__
from sijreg.synthetic.followup_demo import PATIENTS_PER_SITE
from sijreg.synthetic.seed_study import SITES
from tests.helpers import HEADER, PUBLISHED_FIGURES, read_tables, run

RECENT = PATIENTS_PER_SITE * len(SITES)
"""The demo's recent follow-up cohort, fused after the seed study's period."""

COMMANDS = ("import-sheet", "report", "demo", "dictionary")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.output
    assert ("--database" in result.output) == (command != "dictionary")


HEAVY = ("scipy", "matplotlib", "polars", "fastapi", "sqlalchemy", "importlib.metadata")


def test_the_command_line_starts_without_the_heavy_stacks() -> None:
    """`sijreg --help` builds every command's options, yet loads no data, web or database code:
    each command imports its own stack when it runs."""
    probe = (
        "import sys, sijreg.cli.app as cli\n"
        "from typer.main import get_command\n"
        "get_command(cli.app)\n"  # every command and option, as --help would build them
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
    help_run = subprocess.run(
        [sys.executable, "-m", "sijreg", "--help"], capture_output=True, text=True, check=False
    )
    assert help_run.returncode == 0
    assert all(command in help_run.stdout for command in COMMANDS)


def test_version() -> None:
    assert run("--version").output.strip() == f"sijreg {__version__}"


def test_demo_reproduces_the_seed_paper(database_url: str, tmp_path: Path) -> None:
    result = run("demo", "--database", database_url, "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    for figure in PUBLISHED_FIGURES:
        assert figure in result.output, figure
    html = (tmp_path / "r" / "report.html").read_text()
    assert html.count("<svg") >= 3  # relief histogram, responders, study flow
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)  # self-contained
    said = " ".join(result.output.split())
    assert f"Analysed: 111 of {117 + RECENT} registered patients" in said
    assert f"{RECENT} with a fusion outside the study period (fusions up to 2021-04-30)" in said
    assert "Study period: fusions up to 2021-04-30." in said
    # The follow-up demo: completeness shows the recent cohort, about 70% at 12 months.
    twelve = read_tables(tmp_path / "r")["completeness"]["sites"]["All"]["12"]
    assert 55 <= twelve["percent"] <= 85, twelve
    again = run("demo", "--database", database_url, "--out", str(tmp_path / "r"))
    said_again = " ".join(again.output.split())
    assert "0 patients created, 0 updated, 117 unchanged" in said_again
    assert "invitations and answers kept from the first run" in said_again
    assert read_tables(tmp_path / "r")["completeness"]["sites"]["All"]["12"] == twelve


def test_demo_data_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert (
            run(
                "demo", "-d", str(tmp_path / f"{name}.db"), "-o", str(tmp_path / name), "-q"
            ).exit_code
            == 0
        )
    first, second = (read_tables(tmp_path / n) for n in "ab")
    heads = []
    for document in (first, second):
        document.pop("database")
        heads.append(document["provenance"].pop("audit_head"))  # its entries carry their times
    assert first == second
    assert heads[0]["entry"] == heads[1]["entry"] > 0


def test_demo_refuses_a_registry_with_other_sites(tmp_path: Path) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_text(HEADER + "\nZ9,P1,70,F,30,0,1,0,0,0,2020-01-01,2020-06-01,50\n")
    database = str(tmp_path / "r.db")
    assert run("import-sheet", str(sheet), "-d", database).exit_code == 0
    result = run("demo", "-d", database)
    assert result.exit_code == 1
    assert "already holds other sites (Z9)" in " ".join(result.output.split())


def test_errors_are_one_message_without_traceback(tmp_path: Path) -> None:
    """Run as a real process: what a user at a terminal sees."""
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("these are not the droids you are looking for\n" * 100)
    cases = [
        ["import-sheet", str(tmp_path / "missing.csv"), "-d", str(tmp_path / "r.db")],
        ["report", "-d", str(tmp_path / "no" / "such" / "dir.db")],
        ["report", "-d", "postgresql://nobody@127.0.0.1:1/none"],
        ["report", "-d", str(tmp_path / "r.db"), "-t", "130"],
        ["report", "-d", str(not_a_database)],
        ["report", "-d", str(tmp_path / "never-created.db")],
    ]
    for args in cases:
        done = subprocess.run(
            [sys.executable, "-m", "sijreg", *args], capture_output=True, text=True, check=False
        )
        assert done.returncode == 1, args
        assert "Traceback" not in done.stderr + done.stdout
        assert "Error:" in done.stderr


def test_a_command_ends_with_everything_in_the_registry_file(tmp_path: Path) -> None:
    """The command ends at once (os._exit), but only after closing the registry: the
    SQLite file alone, copied elsewhere, holds every row it wrote."""
    sheet = tmp_path / "s.csv"
    sheet.write_text(HEADER + "\nZ9,P1,70,F,30,0,1,0,0,0,2020-01-01,2020-06-01,50\n")
    database = tmp_path / "r.db"
    done = subprocess.run(
        [sys.executable, "-m", "sijreg", "import-sheet", str(sheet), "-d", str(database)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Imported" in done.stdout  # the output is flushed before the process ends
    assert not database.with_name("r.db-wal").exists()
    copy = tmp_path / "elsewhere" / "copy.db"
    copy.parent.mkdir()
    copy.write_bytes(database.read_bytes())
    with sqlite3.connect(copy) as con:
        assert con.execute("SELECT count(*) FROM patient").fetchone() == (1,)
    version = subprocess.run(
        [sys.executable, "-m", "sijreg", "--version"], capture_output=True, text=True, check=False
    )
    assert (version.returncode, version.stdout.strip()) == (0, f"sijreg {__version__}")


def test_the_data_dictionary_page_is_current() -> None:
    """docs/data-dictionary.md is what `sijreg dictionary` prints: regenerate it if this fails."""
    page = Path(__file__).parent.parent / "docs" / "data-dictionary.md"
    assert run("dictionary").output == page.read_text()
