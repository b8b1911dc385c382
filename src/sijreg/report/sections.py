"""The report's sections beyond Tables 1-3 as JSON-ready data (docs/analysis.md lists the keys).

Every count goes through :class:`~sijreg.report.disclosure.Cells`, so a suppressed
report hides the same patients here as in Tables 1-3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sijreg.analysis import extended as ext
from sijreg.analysis import inference
from sijreg.analysis.compare import Comparison
from sijreg.analysis.describe import Continuous, Count, Quartiles
from sijreg.analysis.effects import Estimate
from sijreg.analysis.methods import Adjustment, ContinuousTests
from sijreg.analysis.missing import MissingCell
from sijreg.analysis.responders import Curve, Histogram
from sijreg.analysis.tables import StudyTables
from sijreg.report.disclosure import Cells, Weight, withheld
from sijreg.report.fields import continuous_fields, mean_interval_of, row_fields
from sijreg.report.spss import interval, number, p_value, round_half_away

if TYPE_CHECKING:
    from sijreg.analysis.sites import Pooled, SiteAnalysis
    from sijreg.analysis.visits import WindowResult


_AUTO_RULE = (
    "Continuous rows, test chosen by Shapiro-Wilk (--tests auto): Welch t-test (two groups) "
    "or one-way ANOVA when Shapiro-Wilk does not reject normality "
    f"(p >= {inference.NORMALITY_ALPHA}) in any group (groups over "
    f"{inference.SHAPIRO_MAX:,} values count as normal), otherwise Mann-Whitney U or "
    "Kruskal-Wallis."
)
DENOMINATOR_NOTE = (
    "Denominators: percentages are of each group's n (a missing value counts in n, never as "
    "yes; a patient without a recorded pain relief counts as a non-responder, as in Table 2); "
    "means and SDs are over the patients with a value."
)


_TEST_RULES = {
    ContinuousTests.AUTO: _AUTO_RULE,
    ContinuousTests.PARAMETRIC: "Continuous rows, test prespecified (--tests parametric): "
    "Welch t-test (two groups) or one-way ANOVA.",
    ContinuousTests.RANK: "Continuous rows, test prespecified (--tests rank): Mann-Whitney U "
    "(two groups) or Kruskal-Wallis.",
}


def methods_note(tests: ContinuousTests) -> str:
    """The sentence under a comparison table naming its tests (``--tests``)."""
    return (
        f"{_TEST_RULES[tests]} Counts: chi-square without Yates' correction; Fisher's exact "
        f"test for a 2 x 2 table with an expected count below {inference.MIN_EXPECTED}. "
        "Tests exclude missing values. "
        "SMD: first group minus second, pooled SD (proportions among known values)."
    )


def p_note(adjust: Adjustment) -> str:
    """What the p-values of a comparison table mean (``--adjust``)."""
    holm = (
        " Holm-adjusted p-values (over the p-values this table shows) control the "
        "family-wise error rate."
        if adjust is Adjustment.HOLM
        else ""
    )
    return (
        "p-values are descriptive: no hypothesis was prespecified and they are not adjusted "
        f"for the number of comparisons.{holm}"
    )


EFFECTS_NOTE = (
    "Two groups, first minus second, with 95% CIs: mean difference (Welch); for responders, "
    "the risk difference in percentage points (Newcombe hybrid score) and the relative risk "
    "(log method), among patients with a relief value; SMD (normal approximation)."
)
MEDIAN_NOTE = (
    "Median [Q1, Q3] (SPSS HAVERAGE) under pain relief, follow-up days and every row "
    "tested by ranks."
)

_EFFECT_SCALE = {
    "mean_difference": (1.0, 1),
    "risk_difference": (100.0, 1),
    "relative_risk": (1.0, 2),
}
"""How an effect is published: its multiplier (risk differences in percentage points) and
the decimals shown."""


def _p(p: float | None) -> dict[str, Any]:
    return {"p": p, "p_display": None if p is None else p_value(p)}


def _estimate(name: str, estimate: Estimate) -> dict[str, Any]:
    scale, places = _EFFECT_SCALE[name]
    value = estimate.value * scale
    low = None if estimate.low is None else estimate.low * scale
    high = None if estimate.high is None else estimate.high * scale
    ci = None if low is None or high is None else interval(low, high, places)
    return {
        "estimate": value,
        "ci_low": low,
        "ci_high": high,
        "method": estimate.method,
        "display": number(value, places) + ("" if ci is None else f" ({ci})"),
    }


def _smd_interval(ci: Estimate | None) -> dict[str, Any]:
    if ci is None or ci.low is None or ci.high is None:
        return {"smd_ci_low": None, "smd_ci_high": None, "smd_ci_display": None}
    return {
        "smd_ci_low": ci.low,
        "smd_ci_high": ci.high,
        "smd_ci_display": interval(ci.low, ci.high, 2),
    }


def _spread(stat: Continuous | Count, quartiles: Quartiles | None, cells: Cells) -> dict[str, Any]:
    """Median and quartiles of a continuous group cell; none when its n is hidden."""
    if isinstance(stat, Count):
        return {}
    if quartiles is None or not cells.shown(stat.members):
        return {"median": None, "q1": None, "q3": None, "median_display": None}
    q1, median, q3 = (round_half_away(q) for q in (quartiles.q1, quartiles.median, quartiles.q3))
    return {
        "median": float(quartiles.median),
        "q1": float(quartiles.q1),
        "q3": float(quartiles.q3),
        "median_display": f"{median} [{q1}, {q3}]",
    }


def _comparison(c: Comparison, tables: StudyTables, cells: Cells) -> dict[str, Any]:
    settings = tables.settings
    rows: dict[str, Any] = {}
    for row in c.rows:
        # A test or SMD over a hidden count (group size, missing) would let one solve for it,
        # so whatever the row states across the groups goes with it.
        hidden = any(
            not cells.shown(members)  # small groups are hidden, always
            for stat in row.stats
            for members in (stat.members, stat.missing_members, getattr(stat, "group", 0))
        )
        test, smd, smd_ci = row.test, row.smd, row.smd_ci
        quartiles = row.quartiles or (None,) * len(row.stats)
        out = {
            "label": row.label,
            **({"section": row.section} if row.section else {}),
            "groups": {
                g.code: row_fields(stat, row.suffix, tables, cells) | _spread(stat, q, cells)
                for g, stat, q in zip(c.groups, row.stats, quartiles, strict=True)
            },
            "test": None if test is None else test.test.value,
            **_p(None if test is None else test.p),
            "smd": smd,
            "smd_display": None if smd is None else number(smd, 2),
            **_smd_interval(smd_ci),
            "effects": {} if hidden else {n: _estimate(n, e) for n, e in row.effects},
            "show_median": row.show_median,
        }
        rows[row.key] = withheld(out, None, frozenset({"groups"})) if hidden else out
    _adjust(rows, settings.adjust)
    return {
        "variable": c.variable.name,
        "label": c.variable.label,
        "tests": settings.tests.value,
        "p_adjustment": settings.adjust.value,
        "groups": {
            g.code: {"label": g.label, "n": cells.count(g.members, g.n, Weight.GROUP)}
            for g in c.groups
        },
        "unassigned": cells.count(c.unassigned_members, c.unassigned, Weight.DETAIL),
        "rows": rows,
        "notes": [
            methods_note(settings.tests),
            p_note(settings.adjust),
            DENOMINATOR_NOTE,
            *([EFFECTS_NOTE] if len(c.groups) == 2 else []),
            MEDIAN_NOTE,
            *(
                [f"{c.unassigned} patient(s) without a {c.variable.label.lower()} are in no group."]
                if c.unassigned and not cells.min_cell
                else []
            ),
        ],
    }


def _adjust(rows: dict[str, Any], adjust: Adjustment) -> None:
    """Add p_holm (and its display) to every row: Holm over the p-values shown, else null."""
    shown = [key for key, row in rows.items() if row["p"] is not None]
    adjusted = (
        dict(zip(shown, inference.holm([rows[k]["p"] for k in shown]), strict=True))
        if adjust is Adjustment.HOLM
        else {}
    )
    for key, row in rows.items():
        p = adjusted.get(key)
        row["p_holm"], row["p_holm_display"] = p, None if p is None else p_value(p)


def _curve(curve: Curve, cells: Cells, label: str) -> dict[str, Any]:
    counts = [
        cells.count(m, c, Weight.FIGURE) for m, c in zip(curve.members, curve.counts, strict=True)
    ]
    visible = [cells.shown(m) and cells.shown(curve.n_members) for m in curve.members]
    return {
        "label": label,
        "n": cells.count(curve.n_members, curve.n, Weight.GROUP),
        "count": counts,
        "share": [s if v else None for s, v in zip(curve.shares, visible, strict=True)],
        "ci_low": [x if v else None for x, v in zip(curve.low, visible, strict=True)],
        "ci_high": [x if v else None for x, v in zip(curve.high, visible, strict=True)],
    }


def _window(result: WindowResult, cells: Cells) -> dict[str, Any]:
    w = result.window
    return {
        "months": w.months,
        "start_day": w.start_day,
        "end_day": w.end_day,
        "measures": {
            m: continuous_fields(s, mean_interval_of(s), cells) for m, s in result.measures.items()
        },
        "paired_change": {
            m: cells.described(
                p.change.members,
                {
                    **continuous_fields(p.change, p.ci, cells),
                    "t_test": _p(p.t_test.p if p.t_test else None),
                    "wilcoxon": _p(p.wilcoxon.p if p.wilcoxon else None),
                },
            )
            for m, p in result.paired.items()
        },
    }


def _sites(analysis: SiteAnalysis, cells: Cells) -> dict[str, Any]:
    h, mixed = analysis.heterogeneity, analysis.mixed
    return {
        "rows": {
            r.site: {
                "n": cells.count(r.members, r.n, Weight.GROUP),
                "relief": continuous_fields(r.relief, r.ci, cells),
            }
            for r in analysis.rows
        },
        "not_pooled": {
            "fewer_than_two": analysis.not_pooled.fewer_than_two,
            "sd_zero": analysis.not_pooled.sd_zero,
        },
        "heterogeneity": None
        if h is None
        else {
            "sites": h.sites,
            "q": h.q,
            "df": h.df,
            **_p(h.p),
            "i_squared": h.i_squared,
            "tau_squared": h.tau_squared,
            "fixed": _pooled(h.fixed),
            "random": {**_pooled(h.random), "ci_method": h.method.value},
            "prediction": None
            if h.prediction is None
            else {"low": h.prediction.low, "high": h.prediction.high, "df": h.prediction.df},
        },
        "mixed_model": None
        if mixed is None
        else {
            **_pooled(mixed.overall),
            "site_variance": mixed.site_variance,
            "residual_variance": mixed.residual_variance,
            "icc": mixed.icc,
            "boundary": mixed.boundary,
        },
        "mixed_model_not_fitted": analysis.mixed_not_fitted,
    }


def _bins(histogram: Histogram, cells: Cells) -> list[int | str]:
    return [
        cells.count(m, c, Weight.FIGURE)
        for m, c in zip(histogram.members, histogram.counts, strict=True)
    ]


def _pooled(pooled: Pooled) -> dict[str, float]:
    return {
        "estimate": pooled.estimate,
        "ci_low": pooled.low,
        "ci_high": pooled.high,
        "se": pooled.se,
    }


def build(more: ext.Extended, tables: StudyTables, cells: Cells) -> dict[str, Any]:
    """The added sections of tables.json."""
    corr = more.relief_vs_time
    return {
        "comparisons": {c.variable.name: _comparison(c, tables, cells) for c in more.comparisons},
        "responders": {
            "thresholds": list(range(len(more.curve.counts))),
            "method": more.curve.method,
            "denominator": "patients with a recorded pain relief (in Tables 2 and 3 a patient "
            "without one counts as a non-responder)",
            "overall": _curve(more.curve, cells, "All patients"),
            "subgroup": tables.subgroup.name,
            "by_subgroup": {
                code: _curve(curve, cells, label) for code, label, curve in more.subgroup_curves
            },
        },
        "histogram": {
            "edges": list(more.histogram.edges),
            "counts": _bins(more.histogram, cells),
            "by_subgroup": {
                code: {"label": label, "counts": _bins(h, cells)}
                for code, label, h in more.subgroup_histograms
            },
        },
        "over_time": {
            "rule": "window from the midpoint with the previous centre to the midpoint with the "
            "next; the visit closest to the centre (earlier on a tie); baseline: last visit on "
            "or before the fusion",
            "baseline": {m: continuous_fields(s, None, cells) for m, s in more.baseline.items()},
            "windows": {r.window.key: _window(r, cells) for r in more.over_time},
            "relief_vs_followup": cells.described(
                corr.members,
                {
                    "n": cells.count(corr.members, corr.n, Weight.DETAIL),
                    "spearman_rho": corr.rho,
                    **_p(corr.p),
                },
            ),
        },
        "sites": _sites(more.sites, cells),
        "missing": {
            "sites": list(more.missing_sites),
            "rows": {
                row.variable.name: {
                    "label": row.variable.label,
                    "overall": _missing(row.overall, cells),
                    "sites": {s: _missing(c, cells) for s, c in row.sites.items()},
                }
                for row in more.missing
            },
        },
    }


def _missing(cell: MissingCell, cells: Cells) -> dict[str, Any]:
    return {
        "missing": cells.count(cell.members, cell.missing, Weight.DETAIL),
        "n": cells.count(cell.group, cell.n, Weight.GROUP),
    }
