"""``sijreg``: import study sheets, run the demo, write the study report.

Every failure the user can cause ends as one clear message and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from sijreg import __version__
from sijreg.analysis.cohort import DEFAULT_MIN_FOLLOWUP_DAYS, build_cohort
from sijreg.analysis.tables import DEFAULT_SUBGROUP, Settings, study_tables
from sijreg.analysis.variables import grouping_variable
from sijreg.interop.problems import InputRejected
from sijreg.interop.sheet import import_sheet
from sijreg.report import terminal
from sijreg.report.write import FILES, write_report
from sijreg.store.database import DatabaseError, open_database
from sijreg.store.writer import save_patients
from sijreg.synthetic.seed_study import seed_study_cohort

app = typer.Typer(
    name="sijreg",
    help="sijreg: an outcomes registry for sacroiliac-joint fusion.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        "-d",
        envvar="SIJREG_DATABASE_URL",
        show_envvar=True,
        help="A SQLite file path or a postgresql:// URL [default: ./sijreg.db].",
    ),
]


class UserError(Exception):
    """A problem the user can fix; shown as one message."""


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]Error:[/bold red] {message}", highlight=False)
    return typer.Exit(code=1)


@contextmanager
def _step(text: str) -> Iterator[None]:
    """A spinner for a step that can take more than a second."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as progress:
        progress.add_task(text, total=None)
        yield


def _version(value: bool) -> None:
    if value:
        console.print(f"sijreg {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """sijreg: an outcomes registry for sacroiliac-joint fusion."""


def _open(database: str | None) -> sa.Engine:
    with _step("Opening the registry"):
        return open_database(database)


def _label(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _settings(min_followup_days: int, thresholds: list[float] | None, subgroup: str) -> Settings:
    if min_followup_days < 0:
        raise UserError("--min-followup-days cannot be negative")
    chosen = tuple(sorted({Fraction(str(t)) for t in thresholds})) if thresholds else None
    if chosen and not all(0 <= t <= 100 for t in chosen):
        raise UserError("--threshold values must be between 0 and 100")
    try:
        grouping_variable(subgroup)
    except ValueError as error:
        raise UserError(str(error)) from None
    return (
        Settings(min_followup_days, chosen, subgroup)
        if chosen
        else Settings(min_followup_days, subgroup=subgroup)
    )


def _report(engine: sa.Engine, out: Path, settings: Settings, quiet: bool) -> None:
    with _step("Computing the study tables"):
        tables = study_tables(build_cohort(engine, settings.min_followup_days), settings)
    with _step("Writing the report"):
        document = write_report(tables, out, _label(engine))
    if not quiet:
        terminal.show(document, console)
    console.print(f"Report written to {out}/ ({', '.join(FILES)})")


@app.command("import-sheet")
def import_sheet_command(
    sheet: Annotated[Path, typer.Argument(help="The study sheet, a CSV file (see docs/sheet.md).")],
    database: DatabaseOption = None,
) -> None:
    """Import a one-row-per-patient study sheet. All or nothing: one bad row, nothing written."""
    try:
        engine = _open(database)
        with _step(f"Importing {sheet}"):
            summary = import_sheet(engine, sheet)
    except InputRejected as rejected:
        raise _fail(str(rejected)) from None
    except DatabaseError as error:
        raise _fail(str(error)) from None
    console.print(f"Imported {sheet} into {_label(engine)}: {summary.describe()}.")


ThresholdOption = Annotated[
    list[float] | None,
    typer.Option(
        "--threshold",
        "-t",
        help="Responder threshold in % (inclusive); repeat for several [default: 30, 50, 80].",
    ),
]
SubgroupOption = Annotated[
    str, typer.Option("--subgroup", help="The yes/no or categorical variable of Table 3.")
]
MinFollowupOption = Annotated[
    int,
    typer.Option(
        "--min-followup-days", help="Analyse patients followed at least this long after the fusion."
    ),
]


@app.command()
def report(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for report.html, tables.md and tables.json.")
    ] = Path("report"),
    database: DatabaseOption = None,
    min_followup_days: MinFollowupOption = DEFAULT_MIN_FOLLOWUP_DAYS,
    threshold: ThresholdOption = None,
    subgroup: SubgroupOption = DEFAULT_SUBGROUP,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the tables.")] = False,
) -> None:
    """Compute the study's Tables 1-3 and write the report."""
    try:
        settings = _settings(min_followup_days, threshold, subgroup)
        engine = _open(database)
        _report(engine, out, settings, quiet)
    except (UserError, DatabaseError) as error:
        raise _fail(str(error)) from None
    except OSError as error:
        raise _fail(f"cannot write the report to {out}: {error.strerror}") from None


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the report.")] = Path(
        "report"
    ),
    database: DatabaseOption = None,
) -> None:
    """Load the synthetic 8-centre seed-study cohort and write its report (Tables 1-3)."""
    try:
        engine = _open(database)
        with _step("Building the synthetic seed-study cohort"):
            records = seed_study_cohort()
        with engine.begin() as conn:
            demo_sites = {r.site_code for r in records}
            others = conn.execute(sa.text("SELECT site_code FROM site")).scalars().all()
            foreign = sorted(set(others) - demo_sites)
            if foreign:
                raise UserError(
                    f"{_label(engine)} already holds other sites ({', '.join(foreign)}); "
                    "run the demo on a database of its own: --database demo.db"
                )
            summary = save_patients(
                conn,
                records,
                owned_procedures=(
                    "scs",
                    "iss",
                    "idds",
                    "mild",
                    "physical_therapy",
                    "medications",
                    "sij_steroid_injection",
                    "rfa",
                ),
            )
        console.print(f"Demo cohort in {_label(engine)}: {summary.describe()}.")
        _report(engine, out, Settings(), quiet=False)
    except (UserError, DatabaseError) as error:
        raise _fail(str(error)) from None


from sijreg.cli import server as _server  # noqa: E402  (its commands use the helpers above)

_server.register(app)


def main() -> None:
    """The console-script entry point."""
    app()
