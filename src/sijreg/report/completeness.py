"""The report's follow-up completeness and the two responder rates (analysis/completeness.py),
every count through small-cell suppression.

Each figure is a block of a count (``count``) out of a denominator (``n``), as the study
tables' rows are: a percentage is shown only when both counts are, so no hidden count
follows from a shown share.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

from sijreg.analysis.completeness import Completeness
from sijreg.report.disclosure import Cells, Weight
from sijreg.report.spss import round_half_away

NOT_AVAILABLE = (
    "Follow-up completeness is not available: the report was made without the registry's "
    "fused patients and their visits (sijreg report computes it from the registry or a freeze), "
    "so there are no counts and no denominators to state."
)
DENOMINATOR = (
    "Denominators: due = fused patients in the whole registry (not only the analysed cohort, "
    "whatever the study period) whose follow-up at that time point{period} was answered "
    "(a visit in its window, from any source) or whose window had closed by {as_of}; a window "
    "still open and unanswered is not counted yet. Answered % = answered / due."
)
PERIOD = ", its target date from {start} to {as_of},"
"""The report's year: follow-ups that fell due then (analysis.completeness.REPORT_MONTHS)."""
RESPONDER_DENOMINATOR = (
    "Denominators: complete case = patients due with a pain relief recorded at the time "
    "point's visit; missing counted as not a responder = every patient due at the time point "
    "(the rule US quality measures use: a patient not assessed is 'not met'). "
    "Responder: relief at or above the threshold."
)


def _share(
    count: int, count_members: int, n: int, n_members: int, cells: Cells, weight: int
) -> dict[str, Any]:
    shown_n = cells.count(n_members, n, weight)
    shown_count = cells.count(count_members, count, Weight.DETAIL)
    both = cells.shown(n_members) and cells.shown(count_members)
    exact = Fraction(100 * count, n) if both and n else None
    percent = None if exact is None else float(exact)
    display = None if exact is None else round_half_away(exact, 1)
    if percent is not None:
        text = f"{shown_count}/{shown_n} ({display}%)"
    elif isinstance(shown_n, str):
        text = shown_n
    else:
        text = f"{shown_count}/{shown_n}"
    return {
        "n": shown_n,
        "count": shown_count,
        "percent": percent,
        "percent_display": display,
        "display": text,
    }


def _period(found: Completeness) -> str:
    """Which follow-ups are counted: those with a target date in the report's year."""
    if found.targets_after is None:
        return ""
    start = found.targets_after + timedelta(days=1)
    return PERIOD.format(start=start.isoformat(), as_of=found.as_of.isoformat())


def build(found: Completeness | None, cells: Cells) -> dict[str, Any]:
    """The ``completeness`` key of tables.json (``{"available": false, ...}`` without data)."""
    if found is None:
        return {"available": False, "note": NOT_AVAILABLE}
    months = sorted({row.months for row in found.rows})
    sites: dict[str, dict[str, Any]] = {}
    for row in found.rows:
        weight = Weight.GROUP if row.site == "All" else Weight.ROW
        sites.setdefault(row.site, {})[str(row.months)] = _share(
            row.answered, row.answered_members, row.due, row.due_members, cells, weight
        )
    responders = [
        {
            "months": r.months,
            "threshold": r.threshold,
            "complete_case": _share(
                r.responders,
                r.responder_members,
                r.answered,
                r.answered_members,
                cells,
                Weight.ROW,
            ),
            "missing_as_non_responder": _share(
                r.responders, r.responder_members, r.due, r.due_members, cells, Weight.GROUP
            ),
        }
        for r in found.responders
    ]
    return {
        "available": True,
        "as_of": found.as_of.isoformat(),
        "months": months,
        "windows": [
            {"months": w.months, "days_before": w.before, "days_after": w.after}
            for w in found.windows
        ],
        "sites": sites,
        "responders": responders,
        "targets_after": None if found.targets_after is None else found.targets_after.isoformat(),
        "denominator": DENOMINATOR.format(as_of=found.as_of.isoformat(), period=_period(found)),
        "responder_denominator": RESPONDER_DENOMINATOR,
    }
