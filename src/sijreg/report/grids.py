"""Every table of the report as a plain grid of display strings.

The Markdown, terminal and HTML renderers and the DOCX, LaTeX and CSV exports all
draw these grids, so each output shows the same cells. A row of one cell is a
section heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from sijreg.domain import dictionary as dd
from sijreg.report.document import lines, tables_in_order
from sijreg.report.spss import interval, number


@dataclass(frozen=True)
class Grid:
    key: str
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _ci(stats: dict[str, Any]) -> str:
    return _text(stats.get("ci_display")) or "–"


def study_grids(document: dict[str, Any]) -> list[Grid]:
    """Tables 1-3; the 95% CI column and method note only when the report asks for them."""
    show_ci = document["settings"].get("show_ci", False)
    out = []
    keys = ["table1", "table2", *(f"table3.{c}" for c in document["table3"]["panels"])]
    for key, (caption, table) in zip(keys, tables_in_order(document), strict=True):
        rendered = lines(table)
        with_missing = any(missing for _, _, missing in rendered)
        rows_by_label = iter(table["rows"].values())
        grid_rows: list[tuple[str, ...]] = []
        for label, cell, missing in rendered:
            if not cell:
                grid_rows.append((label,))
                continue
            cells = [label, cell]
            if show_ci:
                cells.append(_ci(next(rows_by_label)))
            if with_missing:
                cells.append(missing)
            grid_rows.append(tuple(cells))
        columns = ["Variable", "Mean ± SD or n (%)"]
        columns += ["95% CI"] if show_ci else []
        columns += ["Missing"] if with_missing else []
        notes = [*table["notes"], table["denominator"], *([table["ci_note"]] if show_ci else [])]
        out.append(Grid(key, caption, tuple(columns), tuple(grid_rows), tuple(notes)))
    return _with_note(out, document)


def _with_ci(stats: dict[str, Any], show_ci: bool) -> str:
    cell = _text(stats["display"])
    return f"{cell} [{stats['ci_display']}]" if show_ci and stats.get("ci_display") else cell


def _effects(row: dict[str, Any]) -> str:
    """'3.2 (-1.0 to 7.4)', or for responders '9.1 (…); RR 1.10 (…)'; '–' without one."""
    e = row.get("effects") or {}
    parts = [e[k]["display"] for k in ("mean_difference", "risk_difference") if k in e]
    parts += [f"RR {e['relative_risk']['display']}"] if "relative_risk" in e else []
    return "; ".join(parts) or "–"


def _smd(row: dict[str, Any], show_ci: bool) -> str:
    smd = _text(row["smd_display"]) or "–"
    return f"{smd} ({row['smd_ci_display']})" if show_ci and row.get("smd_ci_display") else smd


def comparison_grid(key: str, c: dict[str, Any], ci_note: str | None) -> Grid:
    """Table 1 and outcomes by group; cells carry their interval when ``ci_note`` is given.

    Two groups add an effect column (and the SMD's interval with ``ci_note``); a row showing
    medians is followed by a median [Q1, Q3] line; Holm-adjusted p-values get a column when
    the report asks for them."""
    show_ci = ci_note is not None
    groups = c["groups"]
    two = len(groups) == 2
    holm = c.get("p_adjustment") == "holm"
    columns = (
        "Variable",
        *(f"{g['label']} (n = {g['n']})" for g in groups.values()),
        "Test",
        "p",
        *(["p (Holm)"] if holm else []),
        "SMD (95% CI)" if two and show_ci else "SMD",
        *(["Difference or RR (95% CI)"] if two else []),
    )
    rows: list[tuple[str, ...]] = []
    section = None
    for row in c["rows"].values():
        if row.get("section") != section:
            section = row.get("section")
            if section:
                rows.append((section,))
        indent = "  " if section else ""
        rows.append(
            (
                f"{indent}{row['label']}",
                *(_with_ci(row["groups"][code], show_ci) for code in groups),
                _text(row["test"]) or "–",
                _text(row["p_display"]) or "–",
                *([_text(row["p_holm_display"]) or "–"] if holm else []),
                _smd(row, show_ci),
                *([_effects(row)] if two else []),
            )
        )
        if row.get("show_median"):
            rows.append(
                (
                    f"{indent}  median [Q1, Q3]",
                    *(_text(row["groups"][code].get("median_display")) or "–" for code in groups),
                    *([""] * (len(columns) - 1 - len(groups))),
                )
            )
    notes = [*c["notes"], *([ci_note] if ci_note else [])]
    return Grid(
        f"comparison.{key}",
        f"Comparison by {c['label'].lower()}",
        columns,
        tuple(rows),
        tuple(notes),
    )


def p_clause(display: str | None) -> str:
    """A displayed p-value inside a sentence: 'p < 0.001', 'p = 0.046', 'p = –' if none."""
    if display is None:
        return "p = –"
    return f"p {display[0]} {display[1:]}" if display.startswith("<") else f"p = {display}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _pooling_notes(sites: dict[str, Any]) -> list[str]:
    """What was pooled and how, and why a model is not published (docs/analysis.md)."""
    h, mixed = sites["heterogeneity"], sites["mixed_model"]
    notes = []
    if h:
        notes.append(
            f"Heterogeneity across {h['sites']} sites: Cochran's Q = {number(h['q'], 2)}, "
            f"df = {h['df']}, {p_clause(h['p_display'])}; I² = {number(100 * h['i_squared'])}%; "
            f"DerSimonian-Laird tau² = {number(h['tau_squared'], 2)}."
        )
        notes.append(
            f"Random effects 95% CI: Hartung-Knapp-Sidik-Jonkman, t with {h['df']} df."
            if h["random"].get("ci_method") == "hksj"
            else "Random effects 95% CI: normal (DerSimonian-Laird)."
        )
        if h.get("prediction"):
            notes.append(
                "95% prediction interval: where a new site's mean is expected to lie, "
                f"t with k - 2 = {h['prediction']['df']} df (Higgins 2009, Riley 2011)."
            )
        else:
            notes.append("No prediction interval: it needs at least three pooled sites.")
    else:
        notes.append("No pooled estimates: they need at least two sites with a positive SD.")
    left = sites.get("not_pooled") or {}  # .get: an older tables.json (export --from) lacks it
    reasons = [
        f"{_plural(left[key], 'site')} {why}"
        for key, why in (
            ("fewer_than_two", "with fewer than two relief values"),
            ("sd_zero", "whose relief values are all equal (SD 0)"),
        )
        if left.get(key)
    ]
    if reasons:
        notes.append(
            "Not in the pooled estimates (a site's weight n / SD² needs a positive SD): "
            + " and ".join(reasons)
            + "; the random-intercept model uses every patient with a relief value."
        )
    if mixed:
        bound = " (on its lower bound: no between-site variation)" if mixed.get("boundary") else ""
        notes.append(
            f"Random-intercept model (REML): between-site variance "
            f"{number(mixed['site_variance'], 2)}{bound}, residual variance "
            f"{number(mixed['residual_variance'], 2)}, ICC {number(mixed['icc'], 3)}."
        )
    elif sites.get("mixed_model_not_fitted"):
        notes.append(f"Random-intercept model not published: {sites['mixed_model_not_fitted']}.")
    return notes


def site_grid(sites: dict[str, Any]) -> Grid:
    rows: list[tuple[str, ...]] = [
        (code, _text(r["n"]), r["relief"]["display"], _ci(r["relief"]))
        for code, r in sites["rows"].items()
    ]
    h, mixed = sites["heterogeneity"], sites["mixed_model"]
    if h:
        rows.append(("Pooled, fixed effect", "", number(h["fixed"]["estimate"]), _span(h["fixed"])))
        rows.append(
            ("Pooled, random effects", "", number(h["random"]["estimate"]), _span(h["random"]))
        )
        if h.get("prediction"):
            pi = h["prediction"]
            rows.append(("  95% prediction interval", "", "", interval(pi["low"], pi["high"])))
    if mixed:
        rows.append(("Random-intercept model", "", number(mixed["estimate"]), _span(mixed)))
    notes = [*_pooling_notes(sites), "95% CI of site means: t.", SITE_DENOMINATOR]
    return Grid(
        "sites",
        "Pain relief at last follow-up by site",
        ("Site", "n", "Relief (%), mean ± SD", "95% CI"),
        tuple(rows),
        tuple(notes),
    )


def _span(pooled: dict[str, Any]) -> str:
    return interval(pooled["ci_low"], pooled["ci_high"])


SITE_DENOMINATOR = (
    "Denominators: n, the site's analysed patients; the mean and SD are over those with a "
    "recorded pain relief."
)


def _label(measure: str) -> str:
    return dd.field(measure).label


def time_grids(over_time: dict[str, Any]) -> list[Grid]:
    windows = over_time["windows"]
    if not windows:
        return []
    by_window: list[tuple[str, ...]] = []
    change: list[tuple[str, ...]] = []
    for w in windows.values():
        head = f"{w['months']} months (days {w['start_day']}-{w['end_day'] - 1})"
        by_window.append((head,))
        change.append((head,))
        for measure, stats in w["measures"].items():
            by_window.append(
                (f"  {_label(measure)}", _text(stats["n"]), stats["display"], _ci(stats))
            )
        for measure, stats in w["paired_change"].items():
            change.append(
                (
                    f"  {_label(measure)}",
                    _text(stats["n"]),
                    stats["display"],
                    _ci(stats),
                    _text(stats["t_test"]["p_display"]) or "–",
                    _text(stats["wilcoxon"]["p_display"]) or "–",
                )
            )
    corr = over_time["relief_vs_followup"]
    rho = "–" if corr["spearman_rho"] is None else number(corr["spearman_rho"], 2)
    notes = (
        f"Windows: {over_time['rule']}. 95% CI: t. Denominators: n, the patients with a "
        "value of the measure in the window.",
        f"Relief at last follow-up against days since fusion: Spearman rho = {rho}, "
        f"{p_clause(corr['p_display'])} (n = {corr['n']}).",
    )
    return [
        Grid(
            "over_time",
            "Outcomes by visit window",
            ("Window / measure", "n", "Mean ± SD", "95% CI"),
            tuple(by_window),
            notes,
        ),
        Grid(
            "change_from_baseline",
            "Paired change from baseline",
            ("Window / measure", "n", "Change, mean ± SD", "95% CI", "Paired t p", "Wilcoxon p"),
            tuple(change),
            ("Patients with a baseline and a visit in the window; change = visit - baseline.",),
        ),
    ]


def _without_n(label: str) -> str:
    return re.sub(r"\s*\(n\s*=[^)]*\)", "", label)


def _beside(
    key: str, caption: str, note: str, heads: tuple[str, str], document: dict[str, Any]
) -> Grid:
    """Table 2 (and Table 1's follow-up time) beside the table of ``document[key]``, row by
    row of that table."""
    show_ci = document["settings"].get("show_ci", False)
    table2, other = document["table2"], document[key]["table"]
    days = document["table1"]["rows"]["followup_days"]
    rows = [
        (_without_n(row["label"]), _with_ci(row, show_ci), _with_ci(other["rows"][k], show_ci))
        for k, row in [*table2["rows"].items(), ("followup_days", days)]
        if k in other["rows"]
    ]
    columns = ("Variable", f"{heads[0]} (n = {table2['n']})", f"{heads[1]} (n = {other['n']})")
    stated = [other["denominator"]] if "denominator" in other else []  # older tables.json
    notes = (note, *other["notes"], *stated, *([other["ci_note"]] if show_ci else []))
    return Grid(key, caption, columns, tuple(rows), notes)


def followup_grids(document: dict[str, Any]) -> list[Grid]:
    """Person-time of follow-up, the outcome at a fixed time point beside the last
    follow-up (when asked for) and the sensitivity analysis (docs/analysis.md)."""
    time = document.get("follow_up")
    if time is None:  # a tables.json written before these sections
        return []
    show_ci = document["settings"].get("show_ci", False)
    days = document["table1"]["rows"]["followup_days"]
    total = (
        f"{time['person_years_display']} person-years ({time['person_days']:,} person-days)"
        if time["person_days"] is not None
        else "–"
    )
    out = [
        Grid(
            "follow_up",
            "Follow-up time",
            ("Follow-up", "Value"),
            (
                ("Patients analysed", _text(time["patients"])),
                (_without_n(days["label"]) + ", mean ± SD", _with_ci(days, show_ci)),
                ("Total person-time of follow-up", total),
            ),
            (
                "Person-time: the sum of every analysed patient's days from fusion to last "
                f"follow-up; a person-year is {time['days_per_year']} days.",
                "Denominator: the analysed patients; every one has a last follow-up.",
            ),
        )
    ]
    at = document.get("outcome_at")
    if at is not None:
        note = (
            f"At {at['months']} months: the visit in the window of days {at['start_day']}-"
            f"{at['end_day'] - 1} after the fusion (the one closest to the window's centre); "
            "n = patients with a visit in that window. Last follow-up: Table 2."
        )
        caption = f"Outcomes at {at['months']} months beside the last follow-up"
        heads = ("Last follow-up", f"At {at['months']} months")
        out.append(_beside("outcome_at", caption, note, heads, document))
    only = document["sensitivity"]
    months = only["min_followup_months"]
    note = (
        f"Patients whose last follow-up is on day {only['min_followup_days']} after the fusion "
        f"or later ({months} months, counted in whole days as the visit windows are)."
    )
    caption = f"Sensitivity analysis: patients followed at least {months} months"
    heads = ("All analysed", f"Followed ≥ {months} months")
    out.append(_beside("sensitivity", caption, note, heads, document))
    return out


def completeness_grids(document: dict[str, Any]) -> list[Grid]:
    """Follow-up completeness by site and time point, and the responder rates counted two
    ways (report/completeness.py); one line saying why when the data were not available."""
    found = document.get("completeness")
    if found is None:  # a tables.json written before this section
        return []
    caption = "Follow-up completeness by site and time point"
    if not found["available"]:
        return [Grid("completeness", caption, ("Follow-up",), (), (found["note"],))]
    months = [str(m) for m in found["months"]]
    columns = ("Site", *(f"{m} months: answered/due (%)" for m in months))
    rows = tuple(
        (site, *(cells[m]["display"] for m in months)) for site, cells in found["sites"].items()
    )
    note = f"As of {found['as_of']}; windows: " + ", ".join(
        f"{w['months']} months ({w['days_before']} days before to {w['days_after']} after)"
        for w in found["windows"]
    )
    completeness = Grid("completeness", caption, columns, rows, (found["denominator"], note + "."))
    responders = Grid(
        "completeness_responders",
        "Responders at each follow-up time point, counted two ways",
        (
            "Time point",
            "Relief at least",
            "Complete case: responders/answered (%)",
            "Missing counted as not a responder: responders/due (%)",
        ),
        tuple(
            (
                f"{r['months']} months",
                f"{r['threshold']}%",
                r["complete_case"]["display"],
                r["missing_as_non_responder"]["display"],
            )
            for r in found["responders"]
        ),
        (found["responder_denominator"],),
    )
    return [completeness, responders]


def missing_grid(missing: dict[str, Any]) -> Grid:
    rows = missing["rows"]
    first = next(iter(rows.values()), None)
    if first is None:
        return Grid("missing", "Missing values", ("Variable",), ())
    columns = (
        "Variable",
        f"All (n = {first['overall']['n']})",
        *(f"{s} (n = {first['sites'][s]['n']})" for s in missing["sites"]),
    )
    return Grid(
        "missing",
        "Missing values per variable and site",
        columns,
        tuple(
            (
                row["label"],
                _text(row["overall"]["missing"]),
                *(_text(row["sites"][s]["missing"]) for s in missing["sites"]),
            )
            for row in rows.values()
        ),
        ("Counts of analysed patients without a value; n is each column's denominator.",),
    )


def extra_grids(document: dict[str, Any]) -> list[Grid]:
    """The comparison tables asked for, the site table, the visit tables, missing values."""
    show_ci = document["settings"].get("show_ci", False)
    ci_note = document["table1"]["ci_note"] if show_ci else None
    out = [comparison_grid(k, c, ci_note) for k, c in document.get("comparisons", {}).items()]
    out.append(site_grid(document["sites"]))
    out += time_grids(document["over_time"])
    out += followup_grids(document)
    out += completeness_grids(document)
    out.append(missing_grid(document["missing"]))
    if "data_quality" in document:
        out.append(data_quality_grid(document["data_quality"]))
    return _with_note(out, document)


DATA_QUALITY_COLUMNS = {
    "queries_open": "Open queries",
    "queries_answered": "Answered queries",
    "queries_closed": "Closed queries",
    "patients_with_breaches": "Patients with a rule breach",
    "patients_with_warnings": "Patients with a warning",
}


def data_quality_grid(section: dict[str, Any]) -> Grid:
    """Data queries and the stored records' checks, per site (analysis/data_quality.py)."""
    return Grid(
        "data_quality",
        f"Data quality per site on {section['as_of']}",
        ("Site", *DATA_QUALITY_COLUMNS.values()),
        tuple(
            (code, *(_text(counts.get(k)) or "–" for k in DATA_QUALITY_COLUMNS))
            for code, counts in section["sites"].items()
        ),
        (section["note"],),
    )


def all_grids(document: dict[str, Any]) -> list[Grid]:
    return study_grids(document) + extra_grids(document)


def suppression_note(document: dict[str, Any]) -> str | None:
    """What the markers mean, for a suppressed report (None otherwise)."""
    min_cell = document["settings"].get("suppress_small_cells")
    if min_cell is None:
        return None
    return (
        f"<{min_cell}: a count from 1 to {min_cell - 1}, suppressed; *: hidden so that no "
        "such count can be worked out from the others. Percentages, intervals and tests "
        f"of hidden counts, and every statistic of a group of 1 to {min_cell - 1} patients, "
        "are not shown."
    )


def _with_note(grids: list[Grid], document: dict[str, Any]) -> list[Grid]:
    note = suppression_note(document)
    return [replace(g, notes=(*g.notes, note)) for g in grids] if note else grids
