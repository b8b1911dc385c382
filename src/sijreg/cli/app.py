"""``sijreg``: import study sheets, run the demo, write the study report.

Every failure the user can cause ends as one clear message and a non-zero exit,
never a traceback. This module gathers every command into one app; each command
imports the data, statistics and store code it needs when it runs, so ``sijreg
--help`` loads little more than Typer and Rich.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from sijreg.analysis.methods import (
    DEFAULT_MIN_FOLLOWUP_DAYS,
    DEFAULT_SUBGROUP,
    Adjustment,
    ContinuousTests,
    PoolingMethod,
    ProportionMethod,
)
from sijreg.cli import analysis, check, invitations, screening, server
from sijreg.cli import settings as registry_settings
from sijreg.cli.common import (
    DatabaseOption,
    UserError,
    console,
    errors,
    fail,
    label,
    open_registry,
    step,
)
from sijreg.report.options import DEFAULT_MIN_CELL, Options

if TYPE_CHECKING:
    from sijreg.analysis.tables import Settings
    from sijreg.domain.protocol import Protocol

app = typer.Typer(
    name="sijreg",
    help="sijreg: an outcomes registry for sacroiliac-joint fusion.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from sijreg import __version__

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


def _settings(min_followup_days: int, thresholds: list[float] | None, subgroup: str) -> Settings:
    from sijreg.analysis.tables import Settings
    from sijreg.analysis.variables import grouping_variable
    from sijreg.domain import dictionary as dd

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
    data_quality: bool = False,
) -> None:
    """Read the data with ``read`` and write the report from them."""
    from sijreg.analysis.cohort import select_cohort
    from sijreg.analysis.completeness import registry_completeness
    from sijreg.analysis.describe import without_members
    from sijreg.analysis.flow import study_flow
    from sijreg.analysis.tables import study_tables

    # The statistics and renderers pull in SciPy, slow imports that hold
    # the interpreter lock; reading the data and the analyses in Polars mostly do not.
    # Importing them meanwhile saves two seconds of a report.
    renderers = ThreadPoolExecutor(max_workers=1)
    loading = renderers.submit(importlib.import_module, "sijreg.report.write")
    showing = None if quiet else renderers.submit(importlib.import_module, "sijreg.report.terminal")
    suppressing = options is not None and options.min_cell is not None
    with nullcontext() if suppressing else without_members():
        with step("Computing the study tables"):
            source = read()
            cohort = select_cohort(
                source.snapshot.registry, settings.min_followup_days, settings.period
            )
            tables = study_tables(cohort, settings)
            flow = study_flow(tables.cohort, source.snapshot.screenings, protocol)
            follow_up = partial(
                registry_completeness,
                source.snapshot.registry,
                source.as_of,
                source.snapshot.visit_windows,
            )
        write = loading.result()
        renderers.shutdown()
        with step("Writing the report"):
            document = write.write_report(
                tables,
                out,
                source.label,
                options,
                flow=flow,
                origin=source.origin,
                completeness=follow_up,
                data_quality=source.data_quality() if data_quality else None,
            )
    if showing is not None:
        showing.result().show(document, console)
    console.print(f"Report written to {out}/ ({', '.join(write.FILES)})")


@app.command("import-sheet")
def import_sheet_command(
    sheet: Annotated[Path, typer.Argument(help="The study sheet, a CSV file (see docs/sheet.md).")],
    database: DatabaseOption = None,
) -> None:
    """Import a one-row-per-patient study sheet. All or nothing: one bad row, nothing written."""
    from sijreg.interop.problems import InputRejected
    from sijreg.interop.sheet import import_sheet
    from sijreg.store.errors import DatabaseError

    try:
        engine = open_registry(database)
        with step(f"Importing {sheet}"):
            summary = import_sheet(engine, sheet)
    except InputRejected as rejected:
        raise fail(str(rejected)) from None
    except DatabaseError as error:
        raise fail(str(error)) from None
    console.print(f"Imported {sheet} into {label(engine)}: {summary.describe()}.")


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
    tests: analysis.TestsOption = ContinuousTests.AUTO,
    adjust: analysis.AdjustOption = Adjustment.NONE,
    window: analysis.WindowOption = None,
    pooling: analysis.PoolingOption = PoolingMethod.DL,
    outcome_at: analysis.OutcomeAtOption = None,
    suppress: analysis.SuppressOption = False,
    min_cell: analysis.MinCellOption = DEFAULT_MIN_CELL,
    freeze: analysis.FreezeOption = None,
    fused_from: analysis.FusedFromOption = None,
    fused_until: analysis.FusedUntilOption = None,
    data_quality: Annotated[
        bool,
        typer.Option(
            "--data-quality/--no-data-quality",
            help="Add the data-quality section: data queries, and stored records' rule "
            "breaches and warnings per site (it reads every patient: about 3 CPU-s per "
            "20,000 patients).",
        ),
    ] = False,
) -> None:
    """Compute the study's Tables 1-3, the study flow and the further analyses; write the report."""
    from sijreg.domain.protocol import ProtocolError
    from sijreg.interop.protocol_file import load_protocol
    from sijreg.store.errors import DatabaseError

    try:
        settings = _settings(min_followup_days, threshold, subgroup)
        settings = analysis.analysis_settings(
            settings,
            ci_method,
            compare,
            window,
            pooling=pooling,
            outcome_at=outcome_at,
            tests=tests,
            adjust=adjust,
            fused_from=fused_from,
            fused_until=fused_until,
        )
        options = analysis.display_options(ci, suppress, min_cell)
        protocol = load_protocol(protocol_file)
        read = partial(analysis.open_source, database, freeze)
        _report(read, out, settings, quiet, protocol, options, data_quality)
    except ValueError as error:
        raise fail(str(error)) from None
    except (UserError, DatabaseError, ProtocolError) as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"cannot write the report to {out}: {error.strerror}") from None


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the report.")] = Path(
        "report"
    ),
    database: DatabaseOption = None,
    quiet: QuietOption = False,
) -> None:
    """Load the synthetic 8-centre seed study and a recent follow-up cohort; write the report.

    The report analyses the seed study's period (fusions up to its data lock), so Tables 1-3
    are the paper's; follow-up completeness and the call list show the recent patients.
    """
    from sijreg.analysis.tables import Settings
    from sijreg.interop.protocol_file import load_protocol
    from sijreg.store.errors import DatabaseError
    from sijreg.synthetic.demo import SEED_PERIOD, OtherSites, load_demo

    try:
        engine = open_registry(database)
        protocol = load_protocol()
        with step("Loading the synthetic seed study and the follow-up demo"):
            loaded = load_demo(engine, protocol)
        console.print(f"Demo cohort in {label(engine)}: {loaded.patients.describe()}.")
        console.print(f"Demo screening log: {loaded.screenings.describe('screenings')}.")
        recent, invited, answered = loaded.follow_up
        console.print(
            f"Follow-up demo: {recent} recent patients (fused after the seed study), "
            + (
                f"{invited} invitations, {answered} answered."
                if invited
                else "invitations and answers kept from the first run."
            )
        )
        settings = Settings(period=SEED_PERIOD)
        _report(partial(analysis.database_source, engine), out, settings, quiet, protocol)
    except OtherSites as refused:
        raise fail(
            f"{label(engine)} {refused}; run the demo on a database of its own: --database demo.db"
        ) from None
    except DatabaseError as error:
        raise fail(str(error)) from None


@app.command()
def dictionary() -> None:
    """Print the data dictionary as Markdown (the source of docs/data-dictionary.md)."""
    from sijreg.report import dictionary_doc

    typer.echo(dictionary_doc.render(), nl=False)


app.command("freeze")(analysis.freeze_command)
app.add_typer(analysis.export_app, name="export")
screening.register(app)
server.register(app)
invitations.register(app)
check.register(app)
registry_settings.register(app)


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
    if (database := sys.modules.get("sijreg.store.database")) is not None:
        database.close_all()  # imported by every command that opened one
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if code is None else code if isinstance(code, int) else 1)
