"""``sijreg screen`` and ``sijreg pathway``: protocol decisions with reasons, and care pathways.

Registered on the main app by ``register`` (see cli/app.py); the protocol, sheet and
store code load when one of these commands runs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sijreg.cli.analysis import ProtocolOption
from sijreg.cli.common import DatabaseOption, console, fail, label, open_registry

if TYPE_CHECKING:
    from sijreg.domain.pathway import Pathway
    from sijreg.domain.protocol import Protocol
    from sijreg.domain.screening import Decision
    from sijreg.interop.screening_sheet import SheetRow
    from sijreg.store.screenings import StoredResult

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

_MARKS = {
    "met": "[green]✓ met    [/green]",
    "not_met": "[red]✗ not met[/red]",
    "missing": "[yellow]? missing[/yellow]",
}


def _show(title: str, decision: Decision) -> None:
    colour = {"eligible": "green", "not_eligible": "red", "incomplete": "yellow"}
    verdict = decision.verdict
    console.print(
        f"[bold]{title}[/bold]: [bold {colour[verdict.value]}]{verdict.text.upper()}"
        f"[/bold {colour[verdict.value]}]",
        highlight=False,
    )
    for result in decision.criteria:
        console.print(f"  {_MARKS[result.status.value]}  {result.reason}", highlight=False)


def _report(
    protocol: Protocol,
    rows: Sequence[tuple[str, dict[str, object], Decision]],
    as_json: bool,
    history: Sequence[StoredResult] = (),
) -> None:
    """Print the decisions; ``history`` lists what is stored for a single screening."""
    from sijreg.domain.screening import DISCLAIMER, Verdict

    if as_json:
        payload = {
            "protocol": {"id": protocol.id, "version": protocol.version, "sha256": protocol.sha256},
            "disclaimer": DISCLAIMER,
            "screenings": [{**keys, **d.as_dict()} for _, keys, d in rows],
        }
        if history:
            payload["stored_decisions"] = [
                {k: v for k, v in vars(r).items() if k != "criteria"} for r in history
            ]
        console.print_json(json.dumps(payload, default=str))
        return
    console.print(
        f"Protocol {protocol.name} from {protocol.source} (sha256 {protocol.sha256[:12]})"
    )
    for title, _, decision in rows:
        _show(title, decision)
    counts = Counter(d.verdict for _, _, d in rows)
    console.print(
        f"{len(rows)} screened: " + ", ".join(f"{counts[v]} {v.text}" for v in Verdict),
        highlight=False,
    )
    if history:
        console.print("Stored decisions on this screening:")
    for r in history:
        console.print(
            f"  {r.judged_at:%Y-%m-%d %H:%M} · record version {r.screening_version} · "
            f"{r.protocol_id} version {r.protocol_version} ({r.protocol_sha256[:12]}): "
            f"{r.decision.replace('_', ' ')}",
            highlight=False,
        )
    console.print(DISCLAIMER, style="dim")


def _sheet_rows(
    rows: Sequence[SheetRow], decisions: Sequence[Decision]
) -> list[tuple[str, dict[str, object], Decision]]:
    return [
        (
            f"row {r.row} · {r.label}",
            {"row": r.row, "site": r.record.site_code, "study_id": r.record.study_id}
            | r.record.values,
            d,
        )
        for r, d in zip(rows, decisions, strict=True)
    ]


def screen(
    sheet: Annotated[
        Path | None,
        typer.Argument(help="A screening sheet (CSV, see docs/screening.md) to judge."),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(
            "--site", help="Judge the stored screenings of this site (decisions are stored)."
        ),
    ] = None,
    number: Annotated[
        str | None, typer.Option("--number", "-n", help="Only this screening number (with --site).")
    ] = None,
    protocol_file: ProtocolOption = None,
    save: Annotated[
        bool,
        typer.Option("--save", help="Store the sheet's screenings and decisions in the registry."),
    ] = False,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
) -> None:
    """Judge screenings against the protocol: eligible, not eligible or incomplete, with reasons.

    Give a screening sheet (judged as read; --save also stores it), or --site (and
    --number) to judge stored screenings; stored decisions keep the protocol version
    that made them.
    """
    from sijreg.domain.protocol import ProtocolError
    from sijreg.domain.screening import evaluate
    from sijreg.interop.problems import InputRejected
    from sijreg.interop.protocol_file import load_protocol
    from sijreg.interop.screening_sheet import import_screening_sheet, read_screening_sheet
    from sijreg.store.errors import DatabaseError
    from sijreg.store.screenings import judge, load_screenings, stored_results

    try:
        if (sheet is None) == (site is None):
            raise fail("give either a screening sheet or --site (and --number), not both")
        if number is not None and site is None:
            raise fail("--number needs --site")
        protocol = load_protocol(protocol_file)
        if sheet is not None and not save:
            rows = read_screening_sheet(sheet)
            decisions = [evaluate(protocol, r.record.values) for r in rows]
            _report(protocol, _sheet_rows(rows, decisions), as_json)
            return
        engine = open_registry(database)
        if sheet is not None:
            rows, summary, decisions = import_screening_sheet(engine, sheet, protocol)
            _report(protocol, _sheet_rows(rows, decisions), as_json)
            if not as_json:
                console.print(f"Saved to {label(engine)}: {summary.describe('screenings')}.")
            return
        with engine.begin() as conn:
            stored = load_screenings(conn, site, number)
            if not stored:
                what = f"screening {site}/{number}" if number else f"screening at site {site}"
                raise fail(f"no {what} in {label(engine)}")
            decisions = judge(conn, protocol, stored)
            history = stored_results(conn, stored[0].id) if number else []
        _report(
            protocol,
            [
                (
                    s.label + (f" (patient {s.study_id})" if s.study_id else ""),
                    {"site": s.site_code, **s.values, "study_id": s.study_id},
                    d,
                )
                for s, d in zip(stored, decisions, strict=True)
            ],
            as_json,
            history,
        )
    except (ProtocolError, InputRejected, DatabaseError) as error:
        raise fail(str(error)) from None


def _print_pathway(pathway: Pathway) -> None:
    console.print(
        f"[bold]Care pathway of {pathway.site_code}/{pathway.study_id}[/bold] "
        f"(protocol {pathway.protocol})"
    )
    console.print(pathway.disclaimer, style="italic")
    for step in pathway.steps:
        line = f"  {step.date_text:<17} {step.stage:<24} {step.text}"
        console.print(line, highlight=False)
        if step.flag:
            console.print(f"  {'':<17} [bold red]! {step.flag}[/bold red]", highlight=False)
    console.print("[bold]Where the patient stands[/bold]")
    for sentence in pathway.standing:
        console.print(f"  {sentence}", highlight=False)
    if pathway.decision is not None:
        _show("Screening", pathway.decision)
    for flag in pathway.flags:
        console.print(f"  [bold red]! {flag}[/bold red]", highlight=False)


def pathway(
    site: Annotated[str, typer.Argument(help="The site code.")],
    study_id: Annotated[str, typer.Argument(help="The patient's study id at that site.")],
    protocol_file: ProtocolOption = None,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
) -> None:
    """Show a patient's care pathway against the protocol's rules (screening support only)."""
    from sijreg.domain.protocol import ProtocolError
    from sijreg.interop.protocol_file import load_protocol
    from sijreg.store.errors import DatabaseError
    from sijreg.store.reader import patient_pathway

    try:
        protocol = load_protocol(protocol_file)
        engine = open_registry(database)
        with engine.connect() as conn:
            view = patient_pathway(conn, site, study_id, protocol)
    except (ProtocolError, DatabaseError) as error:
        raise fail(str(error)) from None
    if view is None:
        raise fail(f"no patient {site}/{study_id} in {label(engine)}")
    if as_json:
        console.print_json(json.dumps(view.as_dict(), default=str))
    else:
        _print_pathway(view)


def register(app: typer.Typer) -> None:
    """Add ``screen`` and ``pathway`` to the ``sijreg`` app."""
    app.command()(screen)
    app.command()(pathway)
