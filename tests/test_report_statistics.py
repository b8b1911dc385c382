"""Every interval, p-value and test choice of a report against SciPy/statsmodels.

The reference values are computed here from the generated records (not from the
store or the cohort frame), with SciPy, statsmodels and NumPy called directly, and
compared with tables.json to the printed decimals (and to 1e-9 on the raw floats).
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from sijreg.analysis import describe
from sijreg.analysis.cohort import build_cohort
from sijreg.analysis.describe import without_members
from sijreg.analysis.methods import Adjustment, ContinuousTests, ProportionMethod
from sijreg.analysis.tables import Settings, study_tables
from sijreg.report.document import build
from tests.cohorts import analysed, random_registry, store
from tests.test_random_intercept import mixedlm

SEEDS = (11, 29)


def shown(value: float | Decimal, places: int = 1) -> str:
    """Half away from zero, as the report prints, computed with Decimal."""
    quantum = Decimal(1).scaleb(-places)
    exact = value if isinstance(value, Decimal) else Decimal(float(value))
    text = str(exact.quantize(quantum, rounding=ROUND_HALF_UP))
    return text.lstrip("-") if Decimal(text) == 0 else text


def p_shown(p: float) -> str:
    return "<0.001" if p < 0.001 else shown(p, 3)


def t_interval(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    low, high = stats.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=stats.sem(a))
    return float(low), float(high)


def check_interval(row: dict[str, Any], low: float, high: float) -> None:
    assert row["ci_low"] == pytest.approx(low, abs=1e-9)
    assert row["ci_high"] == pytest.approx(high, abs=1e-9)
    assert row["ci_display"] == f"{shown(low)} to {shown(high)}"


def report(engine: sa.Engine, seed: int, method: ProportionMethod, compare: tuple[str, ...]):  # type: ignore[no-untyped-def]
    records = random_registry(seed, n=90, sites=4)
    store(engine, records)
    settings = Settings(ci_method=method, compare=compare)
    document = build(study_tables(build_cohort(engine), settings), "test")
    return analysed(records), document


def _values(patients: list[dict[str, Any]], name: str) -> list[float]:
    return [float(p[name]) for p in patients if p[name] is not None]


@pytest.mark.parametrize("seed", SEEDS)
def test_intervals_match_scipy_and_statsmodels(engine: sa.Engine, seed: int) -> None:
    method = ProportionMethod.CLOPPER_PEARSON if seed % 2 else ProportionMethod.WILSON
    patients, doc = report(engine, seed, method, ())
    assert doc["cohort"]["analysed"] == len(patients)
    rows = doc["table1"]["rows"]
    for name in ("age", "bmi", "followup_days"):
        check_interval(rows[name], *t_interval(_values(patients, name)))
    n = len(patients)
    sm_method = "beta" if method is ProportionMethod.CLOPPER_PEARSON else "wilson"
    for code in ("F", "M"):
        k = sum(p["sex"] == code for p in patients)
        low, high = proportion_confint(k, n, alpha=0.05, method=sm_method)
        check_interval(rows[f"sex.{code}"], 100 * low, 100 * high)
        assert rows[f"sex.{code}"]["ci_method"] == method.value
    relief = _values(patients, "relief")
    table2 = doc["table2"]["rows"]
    check_interval(table2["pain_relief_pct"], *t_interval(relief))
    for threshold in (30, 50, 80):
        k = sum(r >= threshold for r in relief)
        low, high = proportion_confint(k, n, alpha=0.05, method=sm_method)
        check_interval(table2[f"responders_{threshold}"], 100 * low, 100 * high)
    fbss = [p for p in patients if p["fbss"]]
    panel = doc["table3"]["panels"]["yes"]["rows"]
    check_interval(panel["followup_days"], *t_interval(_values(fbss, "followup_days")))
    pairs = [(p["relief"], p["followup_days"]) for p in patients if p["relief"] is not None]
    rho, rho_p = stats.spearmanr([a for a, _ in pairs], [b for _, b in pairs])
    correlation = doc["over_time"]["relief_vs_followup"]
    assert correlation["n"] == len(pairs)
    assert correlation["spearman_rho"] == pytest.approx(rho, abs=1e-12)
    assert correlation["p_display"] == p_shown(rho_p)
    # The responder curve: every x, with its pointwise band, of the patients with a relief.
    curve = doc["responders"]["overall"]
    assert curve["n"] == len(relief)
    for x in range(101):
        k = sum(r >= x for r in relief)
        assert curve["count"][x] == k
        low, high = proportion_confint(k, len(relief), alpha=0.05, method=sm_method)
        assert curve["ci_low"][x] == pytest.approx(low, abs=1e-9)
        assert curve["ci_high"][x] == pytest.approx(high, abs=1e-9)


def _expected_test(groups: list[np.ndarray]) -> tuple[str | None, float | None]:
    groups = [g for g in groups if len(g)]
    if len(groups) < 2 or np.ptp(np.concatenate(groups)) == 0:
        return None, None

    def normal(a: np.ndarray) -> bool:
        if len(a) < 3 or np.ptp(a) == 0:
            return False
        return len(a) > 5000 or bool(stats.shapiro(a).pvalue >= 0.05)

    if all(normal(g) for g in groups):
        if len(groups) == 2:
            return "Welch t-test", float(stats.ttest_ind(*groups, equal_var=False).pvalue)
        return "one-way ANOVA", float(stats.f_oneway(*groups).pvalue)
    if len(groups) == 2:
        return "Mann-Whitney U", float(stats.mannwhitneyu(*groups).pvalue)
    return "Kruskal-Wallis", float(stats.kruskal(*groups).pvalue)


def _expected_count_test(table: np.ndarray) -> tuple[str, float]:
    _chi2, p, _dof, expected = stats.chi2_contingency(table, correction=False)
    if table.shape == (2, 2) and (expected < 5).any():
        return "Fisher's exact", float(stats.fisher_exact(table).pvalue)
    return "chi-square", float(p)


COMPARED_CONTINUOUS = {"age": "age", "bmi": "bmi", "followup_days": "followup_days"}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("variable", "split"),
    [
        ("fbss", lambda p: {True: "yes", False: "no"}.get(p["fbss"])),
        ("sex", lambda p: p["sex"]),
        ("site", lambda p: p["site"]),
        ("prior_iss", lambda p: "yes" if p["prior_iss"] else "no"),
    ],
)
def test_comparisons_choose_and_compute_tests_like_scipy(
    engine: sa.Engine, seed: int, variable: str, split: Any
) -> None:
    patients, doc = report(engine, seed, ProportionMethod.WILSON, (variable,))
    comparison = doc["comparisons"][variable]
    codes = list(comparison["groups"])
    members = {c: [p for p in patients if split(p) == c] for c in codes}
    assert [comparison["groups"][c]["n"] for c in codes] == [len(members[c]) for c in codes]
    rows = comparison["rows"]
    columns = {**COMPARED_CONTINUOUS, "pain_relief_pct": "relief"}
    for key, column in columns.items():
        groups = [np.array(_values(members[c], column)) for c in codes]
        test, p = _expected_test(groups)
        assert rows[key]["test"] == test, key
        if p is None:
            assert rows[key]["p"] is None
        else:
            assert rows[key]["p"] == pytest.approx(p, rel=1e-9, abs=1e-12)
            assert rows[key]["p_display"] == p_shown(p)
        if len(codes) == 2 and min(len(g) for g in groups) >= 2:
            a, b = groups
            smd = (a.mean() - b.mean()) / math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
            assert rows[key]["smd"] == pytest.approx(smd, abs=1e-9)
            assert rows[key]["smd_display"] == shown(smd, 2)
        for code, group in zip(codes, groups, strict=True):
            check_interval(rows[key]["groups"][code], *t_interval(list(group)))
    flags: dict[str, Any] = {
        "fbss": lambda p: p["fbss"],
        "prior_scs": lambda p: p["prior_scs"],
        "responders_50": lambda p: None if p["relief"] is None else p["relief"] >= 50,
        "sex.F": lambda p: None if p["sex"] is None else p["sex"] == "F",
    }
    for key, flag in flags.items():
        if key not in rows:
            assert key == variable or key.startswith(f"{variable}.")
            continue
        known = [[flag(p) for p in members[c] if flag(p) is not None] for c in codes]
        table = np.array([[sum(k) for k in known], [len(k) - sum(k) for k in known]])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
            assert rows[key]["p"] is None
            continue
        test, p = _expected_count_test(table)
        assert rows[key]["test"] == test, key
        assert rows[key]["p"] == pytest.approx(p, rel=1e-9, abs=1e-12)
        assert rows[key]["p_display"] == p_shown(p)


@pytest.mark.parametrize("seed", SEEDS)
def test_visit_windows_and_paired_change_match_scipy(engine: sa.Engine, seed: int) -> None:
    patients, doc = report(engine, seed, ProportionMethod.WILSON, ())
    windows = doc["over_time"]["windows"]
    centres = [3, 6, 12, 24]
    bounds = [1.5, 4.5, 9, 18, 30]
    assert list(windows) == [f"m{c}" for c in centres]
    for index, centre in enumerate(centres):
        w = windows[f"m{centre}"]
        # Whole days: day d is in [lo, hi) when ceil(lo) <= d < ceil(hi).
        start, end = math.ceil(bounds[index] * 30.4375), math.ceil(bounds[index + 1] * 30.4375)
        assert (w["start_day"], w["end_day"]) == (start, end)
        target = centre * 30.4375
        chosen, changes = [], {"nrs_pain": [], "odi": []}  # type: ignore[var-annotated]
        for p in patients:
            inside = [v for v in p["visits"] if start <= v["day"] < end]
            if not inside:
                continue
            visit = min(inside, key=lambda v: (abs(v["day"] - target), v["day"]))
            chosen.append(visit)
            before = [v for v in p["visits"] if v["day"] <= 0]
            if before:
                base = max(before, key=lambda v: v["day"])
                for m in changes:
                    if visit[m] is not None and base[m] is not None:
                        changes[m].append(visit[m] - base[m])
        for measure in ("pain_relief_pct", "nrs_pain", "odi"):
            values = [v[measure] for v in chosen if v[measure] is not None]
            assert w["measures"][measure]["n"] == len(values)
            if len(values) >= 2:
                check_interval(w["measures"][measure], *t_interval(values))
        for measure, diffs in changes.items():
            paired = w["paired_change"][measure]
            assert paired["n"] == len(diffs)
            if len(diffs) < 2:
                continue
            check_interval(paired, *t_interval(diffs))
            assert paired["mean"] == pytest.approx(float(np.mean(diffs)), abs=1e-9)
            t_p = float(stats.ttest_1samp(diffs, 0).pvalue)
            assert paired["t_test"]["p_display"] == p_shown(t_p)
            if any(diffs):
                w_p = float(stats.wilcoxon(diffs).pvalue)
                assert paired["wilcoxon"]["p_display"] == p_shown(w_p)


@pytest.mark.parametrize("seed", SEEDS)
def test_sites_heterogeneity_and_mixed_model(engine: sa.Engine, seed: int) -> None:
    patients, doc = report(engine, seed, ProportionMethod.WILSON, ())
    sites = sorted({p["site"] for p in patients})
    means, variances = [], []
    for site in sites:
        relief = np.array(_values([p for p in patients if p["site"] == site], "relief"))
        row = doc["sites"]["rows"][site]
        assert row["n"] == sum(p["site"] == site for p in patients)
        assert row["relief"]["n"] == len(relief)
        if len(relief) >= 2:
            check_interval(row["relief"], *t_interval(list(relief)))
            means.append(relief.mean())
            variances.append(relief.var(ddof=1) / len(relief))
    w = 1 / np.array(variances)
    fixed = float((w * means).sum() / w.sum())
    q = float((w * (np.array(means) - fixed) ** 2).sum())
    df = len(means) - 1
    h = doc["sites"]["heterogeneity"]
    assert h["q"] == pytest.approx(q, rel=1e-9)
    assert h["p"] == pytest.approx(stats.chi2.sf(q, df), rel=1e-9)
    assert h["i_squared"] == pytest.approx(max(0.0, (q - df) / q), abs=1e-12)
    assert h["fixed"]["estimate"] == pytest.approx(fixed, rel=1e-12)
    # The random-intercept model over every patient with a relief (tests/test_random_intercept.py
    # checks the fit itself against MixedLM and a dense likelihood).
    valued = [p for p in patients if p["relief"] is not None]
    y = np.array([p["relief"] for p in valued])
    groups = np.array([sites.index(p["site"]) for p in valued])
    mixed = doc["sites"]["mixed_model"]
    assert doc["sites"]["mixed_model_not_fitted"] is None
    if mixed["boundary"]:
        assert mixed["estimate"] == pytest.approx(float(y.mean()), rel=1e-12)
        assert mixed["residual_variance"] == pytest.approx(float(y.var(ddof=1)), rel=1e-12)
        return
    fit = mixedlm(y, groups)
    assert fit.converged
    assert mixed["estimate"] == pytest.approx(float(fit.fe_params[0]), rel=1e-6)
    assert mixed["se"] == pytest.approx(float(fit.bse_fe[0]), rel=1e-6)
    assert mixed["site_variance"] == pytest.approx(float(fit.cov_re[0][0]), rel=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("tracking", [True, False])
def test_missing_table_counts_per_site(engine: sa.Engine, seed: int, tracking: bool) -> None:
    """With patient sets (for suppression) and without them (the fast path at scale)."""
    with nullcontext() if tracking else without_members():
        patients, doc = report(engine, seed, ProportionMethod.WILSON, ())
    rows = doc["missing"]["rows"]
    for key, column in (("bmi", "bmi"), ("sex", "sex"), ("pain_relief_pct", "relief")):
        assert rows[key]["overall"] == {
            "missing": sum(p[column] is None for p in patients),
            "n": len(patients),
        }
        for site, cell in rows[key]["sites"].items():
            group = [p for p in patients if p["site"] == site]
            assert cell == {"missing": sum(p[column] is None for p in group), "n": len(group)}


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C", None]),
            st.one_of(st.none(), st.integers(0, 1000).map(lambda x: x / 10)),
        ),
        max_size=40,
    )
)
def test_continuous_by_group_equals_continuous_of_each_group(
    rows: list[tuple[str | None, float | None]],
) -> None:
    """The one-pass per-group summary (the site table) against one summary per group."""
    frame = pl.DataFrame(
        {
            "patient_id": range(1, len(rows) + 1),
            "site": [site for site, _ in rows],
            "relief": [value for _, value in rows],
        },
        schema={"patient_id": pl.Int64, "site": pl.String, "relief": pl.Float64},
    )
    grouped = describe.continuous_by(frame, "relief", 10, "site")
    assert set(grouped) == {site for site, _ in rows if site is not None}
    for site, group in grouped.items():
        part = frame.filter(pl.col("site") == site)
        expected, summary = describe.continuous(part, "relief", 10), group.summary
        assert group.rows == part.height
        assert group.members == describe.members(part)
        assert summary == expected
        assert summary.members == expected.members
        assert summary.missing_members == expected.missing_members


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.integers(-(10**6), 10**6),  # summed in Int64
            st.integers(-(10**13), 10**13),  # squares past Int64: summed in Int128
        ),
        max_size=30,
    )
)
def test_mean_and_variance_are_exact_however_large_the_values(values: list[int | None]) -> None:
    """The sums go to Int64 or Int128 by the largest value: either way exact (Fractions)."""
    frame = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
    summary = describe.continuous(frame, "x")
    known = [Fraction(v) for v in values if v is not None]
    assert (summary.n, summary.missing) == (len(known), len(values) - len(known))
    if known:
        mean = sum(known) / len(known)
        assert summary.mean == mean
        if len(known) > 1:
            assert summary.variance == sum((v - mean) ** 2 for v in known) / (len(known) - 1)


@pytest.mark.parametrize("tests", list(ContinuousTests))
def test_comparison_effects_medians_and_holm_like_statsmodels(
    engine: sa.Engine, tests: ContinuousTests
) -> None:
    """Effect estimates, medians, the prespecified tests and Holm's p-values of a two-group
    comparison, recomputed from the generated records with statsmodels, SciPy and NumPy."""
    records = random_registry(SEEDS[0], n=90, sites=4)
    store(engine, records)
    settings = Settings(compare=("fbss",), tests=tests, adjust=Adjustment.HOLM)
    doc = build(study_tables(build_cohort(engine), settings), "test")
    patients = analysed(records)
    comparison = doc["comparisons"]["fbss"]
    assert (comparison["tests"], comparison["p_adjustment"]) == (tests.value, "holm")
    assert doc["settings"]["tests"] == tests.value
    assert any("descriptive" in note for note in comparison["notes"])
    assert any(f"(--tests {tests.value})" in note for note in comparison["notes"])
    rows = comparison["rows"]
    members = {c: [p for p in patients if p["fbss"] is (c == "yes")] for c in ("yes", "no")}
    for key, column in {**COMPARED_CONTINUOUS, "pain_relief_pct": "relief"}.items():
        a, b = (np.array(_values(members[c], column)) for c in ("yes", "no"))
        row = rows[key]
        if tests is ContinuousTests.RANK:
            assert row["test"] == "Mann-Whitney U"
            assert row["p"] == pytest.approx(stats.mannwhitneyu(a, b).pvalue, rel=1e-9)
        elif tests is ContinuousTests.PARAMETRIC:
            assert row["test"] == "Welch t-test"
            assert row["p"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
        rank_test = row["test"] in ("Mann-Whitney U", "Kruskal-Wallis")
        assert row["show_median"] == (key in ("pain_relief_pct", "followup_days") or rank_test)
        for code, group in (("yes", a), ("no", b)):
            q1, median, q3 = np.percentile(group, [25, 50, 75], method="weibull")
            cell = row["groups"][code]
            assert cell["median"] == pytest.approx(median, abs=1e-9)
            assert (cell["q1"], cell["q3"]) == pytest.approx((q1, q3), abs=1e-9)
            # Quartiles of one-decimal values are multiples of 0.0025: exact at 9 places.
            q1, median, q3 = (Decimal(str(round(q, 9))) for q in (q1, median, q3))
            assert cell["median_display"] == f"{shown(median)} [{shown(q1)}, {shown(q3)}]"
        difference = row["effects"]["mean_difference"]
        low, high = CompareMeans(DescrStatsW(a), DescrStatsW(b)).tconfint_diff(usevar="unequal")
        assert difference["estimate"] == pytest.approx(a.mean() - b.mean(), abs=1e-9)
        assert (difference["ci_low"], difference["ci_high"]) == pytest.approx((low, high))
        assert (
            difference["display"] == f"{shown(a.mean() - b.mean())} ({shown(low)} to {shown(high)})"
        )
        d = (a.mean() - b.mean()) / math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        se = math.sqrt((len(a) + len(b)) / (len(a) * len(b)) + d * d / (2 * (len(a) + len(b))))
        z = stats.norm.ppf(0.975)
        assert row["smd_ci_low"] == pytest.approx(d - z * se, abs=1e-9)
        assert row["smd_ci_display"] == f"{shown(d - z * se, 2)} to {shown(d + z * se, 2)}"
    relief = {c: [p["relief"] for p in members[c] if p["relief"] is not None] for c in members}
    for threshold in (30, 50, 80):
        counts = [(sum(r >= threshold for r in relief[c]), len(relief[c])) for c in ("yes", "no")]
        (ya, na), (yb, nb) = counts
        effects = rows[f"responders_{threshold}"]["effects"]
        low, high = confint_proportions_2indep(ya, na, yb, nb, method="newcomb", compare="diff")
        rd = effects["risk_difference"]
        assert rd["estimate"] == pytest.approx(100 * (ya / na - yb / nb), abs=1e-9)
        assert (rd["ci_low"], rd["ci_high"]) == pytest.approx((100 * low, 100 * high), abs=1e-9)
        if ya and yb:
            low, high = confint_proportions_2indep(ya, na, yb, nb, method="log", compare="ratio")
            rr = effects["relative_risk"]
            assert rr["estimate"] == pytest.approx((ya / na) / (yb / nb), rel=1e-12)
            assert (rr["ci_low"], rr["ci_high"]) == pytest.approx((low, high), rel=1e-9)
            assert (
                rr["display"] == f"{shown(rr['estimate'], 2)} ({shown(low, 2)} to {shown(high, 2)})"
            )
        else:
            assert "relative_risk" not in effects
    tested = [key for key, row in rows.items() if row["p"] is not None]
    holm = multipletests([rows[k]["p"] for k in tested], method="holm")[1]
    for key, adjusted in zip(tested, holm, strict=True):
        assert rows[key]["p_holm"] == pytest.approx(adjusted, rel=1e-12)
        assert rows[key]["p_holm_display"] == p_shown(adjusted)
