"""Report options, where a report's data come from, ``sijreg freeze`` and ``sijreg export``.

The data, statistics, renderers and file writers are imported by the commands that
use them, so that ``sijreg`` starts without loading Polars, SQLAlchemy, SciPy or
python-docx.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sijreg.analysis.methods import Adjustment, ContinuousTests, PoolingMethod, ProportionMethod
from sijreg.cli.common import DatabaseOption, console, fail, label, open_registry, step
from sijreg.report.options import DEFAULT_MIN_CELL, Options

if TYPE_CHECKING:
    import sqlalchemy as sa

    from sijreg.analysis.snapshot import Snapshot
    from sijreg.analysis.tables import Settings

CiOption = Annotated[
    bool, typer.Option("--ci", help="Show 95% confidence intervals in the displayed tables.")
]
CiMethodOption = Annotated[
    ProportionMethod,
    typer.Option("--ci-method", help="Interval for percentages: wilson or clopper-pearson."),
]
PoolingOption = Annotated[
    PoolingMethod,
    typer.Option(
        "--pooling",
        help="Random-effects interval over sites: dl (normal) or hksj (Hartung-Knapp-Sidik-"
        "Jonkman t, for few sites).",
    ),
]
CompareOption = Annotated[
    list[str] | None,
    typer.Option(
        "--compare", help="Add Table 1 and outcomes by this yes/no or categorical variable."
    ),
]
TestsOption = Annotated[
    ContinuousTests,
    typer.Option(
        "--tests",
        help="Comparison tests of continuous rows: auto (Shapiro-Wilk decides), parametric "
        "or rank.",
    ),
]
AdjustOption = Annotated[
    Adjustment,
    typer.Option("--adjust", help="Also publish adjusted comparison p-values: none or holm."),
]
WindowOption = Annotated[
    list[int] | None,
    typer.Option("--window", help="Visit-window centre in months; repeat [default: 3 6 12 24]."),
]
OutcomeAtOption = Annotated[
    int | None,
    typer.Option(
        "--outcome-at",
        metavar="MONTHS",
        help="Also show Table 2 at the visit in this visit window (e.g. 12), beside the last "
        "follow-up; a --window centre.",
    ),
]


def _fused_option(flag: str, side: str) -> Any:
    """One end of the study period: a day, both ends included, open by default."""
    return typer.Option(
        flag,
        formats=["%Y-%m-%d"],
        metavar="DATE",
        help=f"Study period: analyse patients fused on or {side} this day (open if not given).",
    )


FusedFromOption = Annotated[datetime | None, _fused_option("--fused-from", "after")]
FusedUntilOption = Annotated[datetime | None, _fused_option("--fused-until", "before")]
SuppressOption = Annotated[
    bool,
    typer.Option(
        "--suppress-small-cells", help="Hide counts below --min-cell and what would reveal them."
    ),
]
ProtocolOption = Annotated[
    Path | None,
    typer.Option(
        "--protocol",
        "-p",
        help="A protocol file (TOML, see docs/screening.md); by default the seed study's.",
    ),
]
MinCellOption = Annotated[
    int, typer.Option("--min-cell", help="Smallest count shown under suppression.")
]
FreezeOption = Annotated[
    Path | None,
    typer.Option(
        "--freeze",
        help="Analyse this data freeze (made by 'sijreg freeze') instead of the registry.",
    ),
]


@dataclass(frozen=True)
class Source:
    """The data a report or export analyses: the registry's, or a freeze's."""

    snapshot: Snapshot
    label: str
    """The registry read, or the one the freeze was made from."""
    freeze: dict[str, Any] | None = None
    """The freeze the data come from, as the provenance describes it."""
    engine: sa.Engine | None = None
    """The registry, when the data come from it (a freeze has no data queries)."""

    def data_quality(self) -> dict[str, Any] | None:
        """The report's data-quality section, read from the registry (None for a freeze)."""
        if self.engine is None:
            return None
        from datetime import UTC, datetime

        from sijreg.analysis.data_quality import read_data_quality

        with self.engine.connect() as conn:
            today = datetime.now(UTC).date()
            return read_data_quality(conn, None, today, self.snapshot.visit_windows)

    @property
    def origin(self) -> dict[str, Any]:
        """Which state of the registry was read, for the provenance."""
        frozen = {"freeze": self.freeze} if self.freeze is not None else {}
        return {"audit_head": self.snapshot.audit_head, **frozen}

    @property
    def as_of(self) -> date:
        """The day follow-up completeness is counted on: today, or the freeze's day."""
        if self.freeze is None:
            return datetime.now(UTC).date()
        return date.fromisoformat(self.freeze["created_at"][:10])


def database_source(engine: sa.Engine) -> Source:
    from sijreg.analysis.snapshot import read_snapshot

    return Source(read_snapshot(engine), label(engine), engine=engine)


def open_source(database: str | None, freeze: Path | None) -> Source:
    """The freeze when one is named, else the registry (DatabaseError, FreezeError say why not).

    Naming both is refused; a registry named by $SIJREG_DATABASE_URL gives way to the freeze.
    """
    if freeze is None:
        return database_source(open_registry(database, create=False))
    if database is not None:
        raise ValueError("--freeze and --database both name the data: give one of them")
    from sijreg.interop.freeze import read_freeze

    with step(f"Reading the freeze {freeze}"):
        frozen = read_freeze(freeze)
    return Source(frozen.snapshot, frozen.manifest["database"], frozen.described)


def analysis_settings(
    settings: Settings,
    ci_method: ProportionMethod,
    compare: list[str] | None,
    window: list[int] | None,
    pooling: PoolingMethod = PoolingMethod.DL,
    outcome_at: int | None = None,
    tests: ContinuousTests = ContinuousTests.AUTO,
    adjust: Adjustment = Adjustment.NONE,
    fused_from: datetime | None = None,
    fused_until: datetime | None = None,
) -> Settings:
    """The Table 1-3 settings with the analysis options; ValueError names a bad one."""
    from sijreg.analysis.cohort import StudyPeriod
    from sijreg.analysis.variables import grouping_variable

    period = StudyPeriod(
        None if fused_from is None else fused_from.date(),
        None if fused_until is None else fused_until.date(),
    )

    for name in compare or ():
        grouping_variable(name)
    if window:
        from sijreg.analysis.visits import windows

        windows(tuple(window))
    centres = tuple(sorted(set(window))) if window else settings.windows
    if outcome_at is not None and outcome_at not in centres:
        listed = " ".join(str(c) for c in centres)
        raise ValueError(
            f"--outcome-at {outcome_at}: not a visit-window centre ({listed}); "
            f"add --window {outcome_at} beside the windows you want"
        )
    return replace(
        settings,
        ci_method=ci_method,
        compare=tuple(compare or ()),
        windows=centres,
        pooling=pooling,
        outcome_at=outcome_at,
        tests=tests,
        adjust=adjust,
        period=period,
    )


def display_options(ci: bool, suppress: bool, min_cell: int) -> Options:
    if suppress and min_cell < 2:
        raise ValueError("--min-cell must be at least 2")
    return Options(ci=ci, min_cell=min_cell if suppress else None)


export_app = typer.Typer(help="Export the study tables or the de-identified analysis file.")


@contextmanager
def _user_errors(out: Path) -> Iterator[None]:
    """Bad options, database and file problems end as one message (see cli.common.fail)."""
    from sijreg.store.errors import DatabaseError

    try:
        yield
    except (ValueError, DatabaseError) as error:  # FreezeError is a ValueError
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"cannot write to {out}: {error.strerror}") from None


def _format(fmt: str, formats: tuple[str, ...]) -> None:
    if fmt not in formats:
        raise ValueError(f"--format must be one of {', '.join(formats)}")


def _read_report(path: Path) -> dict[str, Any]:
    """A tables.json written by ``sijreg report``; ValueError says why not."""
    from sijreg.report.document import FORMAT

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read the report {path}: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a sijreg tables.json")
    if "provenance" not in document:
        raise ValueError(f"{path} was written by an older sijreg: run the report again")
    return document


@export_app.command("tables")
def export_tables_command(
    fmt: Annotated[str, typer.Option("--format", "-f", help="docx, latex or csv.")] = "docx",
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the files.")] = Path(
        "export"
    ),
    report: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="A report's tables.json: export exactly its tables (its settings, its "
            "suppression) instead of computing them.",
        ),
    ] = None,
    database: DatabaseOption = None,
    compare: CompareOption = None,
    tests: TestsOption = ContinuousTests.AUTO,
    adjust: AdjustOption = Adjustment.NONE,
    ci: CiOption = False,
    ci_method: CiMethodOption = ProportionMethod.WILSON,
    window: WindowOption = None,
    pooling: PoolingOption = PoolingMethod.DL,
    outcome_at: OutcomeAtOption = None,
    suppress: SuppressOption = False,
    min_cell: MinCellOption = DEFAULT_MIN_CELL,
    protocol_file: ProtocolOption = None,
    freeze: FreezeOption = None,
    fused_from: FusedFromOption = None,
    fused_until: FusedUntilOption = None,
) -> None:
    """Write the report's tables as a Word document, LaTeX or CSV files."""
    from sijreg.analysis.cohort import select_cohort
    from sijreg.analysis.tables import Settings, study_tables
    from sijreg.interop import table_export
    from sijreg.interop.protocol_file import load_protocol
    from sijreg.report.document import build

    with _user_errors(out):
        _format(fmt, table_export.FORMATS)
        if report is not None:
            document = _read_report(report)
        else:
            settings = analysis_settings(
                Settings(),
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
            options = display_options(ci, suppress, min_cell)
            source = open_source(database, freeze)
            cohort = select_cohort(
                source.snapshot.registry, settings.min_followup_days, settings.period
            )
            document = build(
                study_tables(cohort, settings),
                source.label,
                options,
                protocol=load_protocol(protocol_file),
                origin=source.origin,
            )
        paths = table_export.export_tables(document, fmt, out)
    console.print("Written: " + ", ".join(str(p) for p in paths))


@export_app.command("data")
def export_data_command(
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, parquet or sav.")] = "sav",
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")] = Path(
        "analysis.sav"
    ),
    database: DatabaseOption = None,
    protocol_file: ProtocolOption = None,
    freeze: FreezeOption = None,
    fused_from: FusedFromOption = None,
    fused_until: FusedUntilOption = None,
) -> None:
    """Write the record-level de-identified analysis file (one row per analysed patient)."""
    from sijreg.analysis.cohort import select_cohort
    from sijreg.analysis.provenance import fingerprint, provenance
    from sijreg.analysis.tables import Settings
    from sijreg.interop import analysis_file
    from sijreg.interop.protocol_file import load_protocol
    from sijreg.report.document import method_settings

    with _user_errors(out):
        _format(fmt, analysis_file.FORMATS)
        settings = analysis_settings(
            Settings(),
            ProportionMethod.WILSON,
            None,
            None,
            fused_from=fused_from,
            fused_until=fused_until,
        )
        protocol = load_protocol(protocol_file)
        source = open_source(database, freeze)
        cohort = select_cohort(
            source.snapshot.registry, settings.min_followup_days, settings.period
        )
        data_fingerprint = fingerprint(cohort)
        settings_used = method_settings(settings, Options())
        stamp = provenance(data_fingerprint, settings_used, protocol, source.origin)
        file = analysis_file.build(cohort, data_fingerprint)
        path = analysis_file.write(file, out, fmt, stamp)
    console.print(f"Written: {path} ({file.frame.height} patients)")


def freeze_command(
    out: Annotated[Path, typer.Argument(help="The new folder to hold the freeze.")],
    database: DatabaseOption = None,
    note: Annotated[
        str, typer.Option("--note", help="Why the data were frozen, kept in the manifest.")
    ] = "",
) -> None:
    """Freeze the registry's analysis data into a folder: report from it later, unchanged."""
    from sijreg.interop.freeze import write_freeze

    with _user_errors(out):
        engine = open_registry(database, create=False)
        with step(f"Freezing {label(engine)}"):
            manifest = write_freeze(engine, out, label(engine), note)
    rows = {name.removesuffix(".parquet"): f["rows"] for name, f in manifest["files"].items()}
    console.print(
        f"Froze {label(engine)} into {out}/ (freeze {manifest['id']}): "
        f"{rows['patients']:,} patients, {rows['visits']:,} visits of fused patients, "
        f"{rows['screenings']:,} screenings. Report from it: sijreg report --freeze {out}"
    )
