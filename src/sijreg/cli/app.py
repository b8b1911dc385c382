"""``sijreg``: import study sheets, run the demo, write the study report.

Every failure the user can cause ends as one clear message and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Annotated, NoReturn

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from sijreg import __version__
from sijreg.analysis.cohort import DEFAULT_MIN_FOLLOWUP_DAYS, select_cohort
from sijreg.analysis.describe import without_members
from sijreg.analysis.flow import study_flow
from sijreg.analysis.methods import ProportionMethod
from sijreg.analysis.tables import DEFAULT_SUBGROUP, Settings, study_tables
from sijreg.analysis.variables import grouping_variable
from sijreg.cli import analysis
from sijreg.domain import dictionary as dd
from sijreg.domain.protocol import Protocol, ProtocolError
from sijreg.interop.problems import InputRejected
from sijreg.interop.protocol_file import load_protocol
from sijreg.interop.sheet import import_sheet
from sijreg.report import dictionary_doc
from sijreg.report.options import DEFAULT_MIN_CELL, Options
from sijreg.store.database import DatabaseError, close_all, open_database
from sijreg.store.screenings import judge, load_screenings, save_screenings
from sijreg.store.writer import save_patients
from sijreg.synthetic.screening_log import seed_study_screenings
from sijreg.synthetic.seed_study import seed_study_cohort

app = typer.Typer(
    name="sijreg",
    help="sijreg: an outcomes registry for sacroiliac-joint fusion.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

DatabaseOption = analysis.DatabaseOption


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
        disable=not errors.is_terminal,
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


def _open(database: str | None, *, create: bool = True) -> sa.Engine:
    with _step("Opening the registry"):
        return open_database(database, create=create)


def _label(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _settings(min_followup_days: int, thresholds: list[float] | None, subgroup: str) -> Settings:
    if min_followup_days < 0:
        raise UserError("--min-followup-days cannot be negative")
    chosen = tuple(sorted({Fraction(str(t)) for t in thresholds})) if thresholds else None
    relief = dd.field("pain_relief_pct")  # thresholds are on relief's own, bounded scale
    assert relief.minimum is not None
    assert relief.maximum is not None
    if chosen and not all(relief.minimum <= t <= relief.maximum for t in chosen):
        raise UserError(f"--threshold values must be between {relief.minimum} and {relief.maximum}")
    try:
        grouping_variable(subgroup)
    except ValueError as error:
        raise UserError(str(error)) from None
    return (
        Settings(min_followup_days, chosen, subgroup)
        if chosen
        else Settings(min_followup_days, subgroup=subgroup)
    )


def _report(
    read: Callable[[], analysis.Source],
    out: Path,
    settings: Settings,
    quiet: bool,
    protocol: Protocol,
    options: Options | None = None,
) -> None:
    """Read the data with ``read`` and write the report from them."""
    # The statistics and renderers pull in SciPy and matplotlib, slow imports that hold
    # the interpreter lock; reading the data and the analyses in Polars mostly do not.
    # Importing them meanwhile saves two seconds of a report.
    renderers = ThreadPoolExecutor(max_workers=1)
    loading = renderers.submit(importlib.import_module, "sijreg.report.write")
    showing = renderers.submit(importlib.import_module, "sijreg.report.terminal")
    renderers.submit(importlib.import_module, "matplotlib.backends.backend_svg")
    suppressing = options is not None and options.min_cell is not None
    with nullcontext() if suppressing else without_members():
        with _step("Computing the study tables"):
            source = read()
            cohort = select_cohort(source.snapshot.registry, settings.min_followup_days)
            tables = study_tables(cohort, settings)
            flow = study_flow(tables.cohort, source.snapshot.screenings, protocol)
        write = loading.result()
        renderers.shutdown()
        with _step("Writing the report"):
            document = write.write_report(
                tables, out, source.label, options, flow=flow, origin=source.origin
            )
    if not quiet:
        showing.result().show(document, console)
    console.print(f"Report written to {out}/ ({', '.join(write.FILES)})")


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


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the tables.")]


@app.command()
def report(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for report.html, tables.md and tables.json.")
    ] = Path("report"),
    database: DatabaseOption = None,
    min_followup_days: MinFollowupOption = DEFAULT_MIN_FOLLOWUP_DAYS,
    threshold: ThresholdOption = None,
    subgroup: SubgroupOption = DEFAULT_SUBGROUP,
    quiet: QuietOption = False,
    protocol_file: analysis.ProtocolOption = None,
    ci: analysis.CiOption = False,
    ci_method: analysis.CiMethodOption = ProportionMethod.WILSON,
    compare: analysis.CompareOption = None,
    window: analysis.WindowOption = None,
    suppress: analysis.SuppressOption = False,
    min_cell: analysis.MinCellOption = DEFAULT_MIN_CELL,
    freeze: analysis.FreezeOption = None,
) -> None:
    """Compute the study's Tables 1-3, the study flow and the further analyses; write the report."""
    try:
        settings = _settings(min_followup_days, threshold, subgroup)
        settings = analysis.analysis_settings(settings, ci_method, compare, window)
        options = analysis.display_options(ci, suppress, min_cell)
        protocol = load_protocol(protocol_file)
        _report(
            partial(analysis.open_source, database, freeze), out, settings, quiet, protocol, options
        )
    except ValueError as error:
        raise _fail(str(error)) from None
    except (UserError, DatabaseError, ProtocolError) as error:
        raise _fail(str(error)) from None
    except OSError as error:
        raise _fail(f"cannot write the report to {out}: {error.strerror}") from None


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the report.")] = Path(
        "report"
    ),
    database: DatabaseOption = None,
    quiet: QuietOption = False,
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
                owned_procedures=dd.PRIOR_PROCEDURE.field("procedure").codes,
                reason="synthetic demo cohort (sijreg demo)",
            )
            protocol = load_protocol()
            log = save_screenings(
                conn,
                seed_study_screenings(records),
                reason="synthetic demo screening log (sijreg demo)",
            )
            judge(conn, protocol, load_screenings(conn))
        console.print(f"Demo cohort in {_label(engine)}: {summary.describe()}.")
        console.print(f"Demo screening log: {log.describe('screenings')}.")
        _report(partial(analysis.database_source, engine), out, Settings(), quiet, protocol)
    except (UserError, DatabaseError) as error:
        raise _fail(str(error)) from None


@app.command()
def dictionary() -> None:
    """Print the data dictionary as Markdown (the source of docs/data-dictionary.md)."""
    typer.echo(dictionary_doc.render(), nl=False)


app.command("freeze")(analysis.freeze_command)
app.add_typer(analysis.export_app, name="export")

from sijreg.cli import server as _server  # noqa: E402  (its commands use the helpers above)

_server.register(app)


def main() -> None:
    """The console-script entry point.

    A failure nobody foresaw still ends as one message (and exit code 2); set
    SIJREG_DEBUG=1 to see the traceback when reporting it.
    """
    try:
        app(standalone_mode=True)
    except SystemExit as done:
        _end(done.code)
    except Exception as error:
        if os.environ.get("SIJREG_DEBUG"):
            raise
        errors.print(
            f"[bold red]Error:[/bold red] unexpected {type(error).__name__}: {error}. "
            "Run again with SIJREG_DEBUG=1 to see where it happened.",
            highlight=False,
        )
        _end(2)
    _end(0)


def _end(code: object) -> NoReturn:
    """End the process at once, its output flushed and its databases closed.

    Tearing the interpreter's objects down one by one takes most of a second after a
    report of a million patients, for memory the system reclaims anyway.
    """
    if code is not None and not isinstance(code, int):  # as SystemExit("message") would
        errors.print(str(code), highlight=False)
    close_all()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if code is None else code if isinstance(code, int) else 1)


from sijreg.cli import check as _check  # noqa: E402, F401  (registers check)
from sijreg.cli import screening as _screening  # noqa: E402, F401  (registers screen, pathway)
