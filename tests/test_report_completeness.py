"""The report's follow-up completeness and responder rates: counts reconciled with the
stored visits by an independent computation, through every output, under suppression,
and from a freeze (counted on the freeze's day)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sijreg.analysis.cohort import read_registry, select_cohort
from sijreg.analysis.completeness import registry_completeness
from sijreg.analysis.tables import Settings, study_tables
from sijreg.domain.followup import DEFAULT_REMINDER_DAYS
from sijreg.domain.schedule import DEFAULT_WINDOWS
from sijreg.interop import table_export
from sijreg.interop.freeze import read_freeze, write_freeze
from sijreg.interop.instrument_file import default_instruments
from sijreg.report.document import build
from sijreg.report.grids import all_grids
from sijreg.report.options import Options
from sijreg.report.write import write_document
from sijreg.store import schema
from sijreg.store.accounts import find_site
from sijreg.store.writer import save_patients
from sijreg.synthetic.followup_demo import recent_cohort, simulate
from tests.cohorts import random_registry, store
from tests.helpers import read_tables

AS_OF = date(2021, 3, 1)


def _months_later(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    last = calendar.monthrange(day.year + year, month + 1)[1]
    return date(day.year + year, month + 1, min(day.day, last))


def _expected(engine: sa.Engine, as_of: date) -> tuple[dict[tuple[str, int], list[int]], Any]:
    """(site, months) -> [due, answered], and (months, threshold) -> [responders, with a
    relief, due], straight from the stored rows, of the follow-ups whose target date lies in
    the year up to ``as_of``."""
    f, v, p, s = schema.fusion, schema.visit, schema.patient, schema.site
    with engine.connect() as conn:
        fused = conn.execute(
            sa.select(p.c.id, s.c.site_code, f.c.fusion_date)
            .join(f, f.c.patient_id == p.c.id)
            .join(s, s.c.id == p.c.site_id)
        ).all()
        visits: dict[int, list[tuple[date, Any]]] = {}
        for pid, day, relief in conn.execute(
            sa.select(v.c.patient_id, v.c.visit_date, v.c.pain_relief_pct)
        ):
            visits.setdefault(pid, []).append((day, relief))
    table: dict[tuple[str, int], list[int]] = {}
    responders: dict[tuple[int, int], list[int]] = {}
    for pid, site, fusion in fused:
        for w in DEFAULT_WINDOWS:
            target = _months_later(fusion, w.months)
            if not _months_later(as_of, -12) < target <= as_of:
                continue  # the report counts the follow-ups due in its year
            first, last = target - timedelta(days=w.before), target + timedelta(days=w.after)
            inside = [x for x in visits.get(pid, []) if first <= x[0] <= last]
            if not inside and as_of <= last:
                continue
            for key in ((site, w.months), ("All", w.months)):
                cell = table.setdefault(key, [0, 0])
                cell[0] += 1
                cell[1] += bool(inside)
            nearest = sorted(inside, key=lambda x: (abs((x[0] - target).days), x[0]))
            relief = nearest[0][1] if nearest else None
            for threshold in (30, 50):
                row = responders.setdefault((w.months, threshold), [0, 0, 0])
                row[2] += 1
                if relief is not None:
                    row[1] += 1
                    row[0] += float(relief) >= threshold
    return table, responders


def _document(engine: sa.Engine, options: Options, as_of: date = AS_OF) -> dict[str, Any]:
    registry = read_registry(engine)
    tables = study_tables(select_cohort(registry), Settings())
    found = registry_completeness(registry, as_of, DEFAULT_WINDOWS)
    return build(tables, "test", options, completeness=found)


def test_counts_reconcile_with_the_stored_visits(engine: sa.Engine, tmp_path: Path) -> None:
    store(engine, random_registry(71, n=150, sites=3))
    table, responders = _expected(engine, AS_OF)
    document = _document(engine, Options())
    found = document["completeness"]
    assert found["available"]
    assert found["as_of"] == AS_OF.isoformat()
    shown = {
        (site, int(m)): [cell["n"], cell["count"]]
        for site, cells in found["sites"].items()
        for m, cell in cells.items()
        if cell["n"]
    }
    assert shown == table
    assert any(due > answered > 0 for due, answered in table.values())
    for row in found["responders"]:
        want = responders.get((row["months"], row["threshold"]), [0, 0, 0])
        complete, missing = row["complete_case"], row["missing_as_non_responder"]
        assert [complete["count"], complete["n"], missing["n"]] == want
        if want[1]:
            assert complete["percent"] == 100 * want[0] / want[1]
        assert missing["percent"] == (100 * want[0] / want[2] if want[2] else None)
    assert any(
        r["complete_case"]["percent"] != r["missing_as_non_responder"]["percent"]
        for r in found["responders"]
    )

    # every output draws the same cells, and the figure is there
    write_document(
        document,
        study_tables(select_cohort(read_registry(engine)), Settings()),
        tmp_path / "report",
    )
    written = read_tables(tmp_path / "report")
    assert written["completeness"] == found
    grids = {g.key: g for g in all_grids(document)}
    cell = found["sites"]["All"]["12"]["display"]
    assert any(cell in row for row in grids["completeness"].rows)
    markdown = (tmp_path / "report" / "tables.md").read_text(encoding="utf-8")
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert cell in markdown
    assert cell in page
    assert 'id="figure-completeness-title"' in page
    assert 'id="figure-completeness-desc"' in page
    assert "Missing counted as not a responder" in markdown
    for fmt in table_export.FORMATS:
        files = table_export.export_tables(document, fmt, tmp_path / fmt)
        if fmt == "csv":
            assert any(p.name.startswith("completeness") for p in files)


def test_suppression_hides_small_cells(engine: sa.Engine) -> None:
    store(engine, random_registry(72, n=150, sites=4))
    table, _ = _expected(engine, AS_OF)
    assert any(0 < answered < 11 for _, answered in table.values())
    found = _document(engine, Options(min_cell=11))["completeness"]
    cells = [c for s in found["sites"].values() for c in s.values()]
    cells += [
        r[k] for r in found["responders"] for k in ("complete_case", "missing_as_non_responder")
    ]
    for cell in cells:
        for key in ("n", "count"):
            assert cell[key] == 0 or isinstance(cell[key], str) or cell[key] >= 11, cell
        if isinstance(cell["n"], str) or isinstance(cell["count"], str):
            assert cell["percent"] is None, cell
            assert cell["percent_display"] is None, cell
    assert any(isinstance(c["count"], str) for c in cells)


def test_a_freeze_counts_on_its_own_day_and_a_report_without_data_says_so(
    engine: sa.Engine, tmp_path: Path
) -> None:
    store(engine, random_registry(73, n=60, sites=2))
    write_freeze(engine, tmp_path / "freeze", "test")
    frozen = read_freeze(tmp_path / "freeze")
    day = date.fromisoformat(frozen.manifest["created_at"][:10])
    from_freeze = registry_completeness(frozen.snapshot.registry, day, DEFAULT_WINDOWS)
    assert from_freeze == registry_completeness(read_registry(engine), day, DEFAULT_WINDOWS)

    tables = study_tables(select_cohort(read_registry(engine)), Settings())
    without = build(tables, "test", Options())
    assert without["completeness"]["available"] is False
    grid = next(g for g in all_grids(without) if g.key == "completeness")
    assert "not available" in grid.notes[0]


def test_the_report_reconciles_with_invitations_on_the_follow_up_demo(engine: sa.Engine) -> None:
    """Every answer of the synthetic follow-up cohort comes in on its invitation: per site and
    time point the report's answered are the completed invitations, and its due those plus
    the invitations whose link closed unanswered, of the follow-ups whose target date lies in
    the year up to the report's day."""
    today = date(2026, 11, 30)
    codes = ["A1", "A2", "A3", "A4"]
    inv, s = schema.invitation, schema.site
    with engine.begin() as conn:
        save_patients(conn, recent_cohort(codes, today), reason="test")
        site_ids = [i for i in (find_site(conn, code) for code in codes) if i is not None]
        simulate(
            conn, site_ids, today, DEFAULT_WINDOWS, DEFAULT_REMINDER_DAYS, default_instruments()
        )
        rows = conn.execute(
            sa.select(
                s.c.site_code,
                inv.c.months,
                inv.c.completed_at,
                inv.c.closes,
                schema.fusion.c.fusion_date,
            )
            .join(s, s.c.id == inv.c.site_id)
            .join(schema.fusion, schema.fusion.c.patient_id == inv.c.patient_id)
        ).all()
    expected: dict[tuple[str, int], list[int]] = {}
    year_before = _months_later(today, -12)
    for site, months, completed, closes, fused in rows:
        if not year_before < _months_later(fused, months) <= today:
            continue  # the report counts the follow-ups due in its year
        if completed is not None or closes < today:
            for key in ((site, months), ("All", months)):
                cell = expected.setdefault(key, [0, 0])
                cell[0] += 1
                cell[1] += completed is not None
    found = _document(engine, Options(), today)["completeness"]
    shown = {
        (site, int(m)): [cell["n"], cell["count"]]
        for site, cells in found["sites"].items()
        for m, cell in cells.items()
        if cell["n"]
    }
    assert shown == expected
    assert sum(answered for (site, _), (_, answered) in expected.items() if site == "All") > 0
