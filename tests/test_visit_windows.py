"""Visit windows on whole days: exact edges and fractional boundaries.

The reference is computed here with Decimal (ceiling of the boundary in days), not
with the code under test: day d is inside [lo, hi) when ceil(lo) <= d < ceil(hi).
"""

from __future__ import annotations

import itertools
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from sijreg.analysis.visits import in_window, in_windows, over_time, windows

MONTH = Decimal("30.4375")


def _first_day(months: Decimal) -> int:
    return int((months * MONTH).to_integral_value(rounding=ROUND_CEILING))


def _reference(centres: list[int]) -> list[tuple[int, int, int]]:
    centres = sorted(set(centres))
    bounds = [Decimal(centres[0]) / 2]
    bounds += [Decimal(a + b) / 2 for a, b in itertools.pairwise(centres)]
    bounds.append(centres[-1] + (centres[-1] - bounds[-1]))
    return [
        (c, _first_day(lo), _first_day(hi))
        for c, lo, hi in zip(centres, bounds, bounds[1:], strict=False)
    ]


def test_default_windows_end_on_the_right_days() -> None:
    # 24 months: up to 30 months = 913.125 days, so day 913 is inside (rounding ended at 912).
    got = [(w.months, w.start_day, w.end_day) for w in windows((3, 6, 12, 24))]
    assert got == [(3, 46, 137), (6, 137, 274), (12, 274, 548), (24, 548, 914)]
    assert got == _reference([3, 6, 12, 24])


@given(st.lists(st.integers(1, 240), min_size=1, max_size=6))
def test_windows_follow_the_ceiling_rule(centres: list[int]) -> None:
    got = [(w.months, w.start_day, w.end_day) for w in windows(tuple(centres))]
    assert got == _reference(centres)


def _visits(days: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": list(range(len(days))),
            "days_since_fusion": days,
            "pain_relief_pct": [50.0] * len(days),
            "baseline": [None] * len(days),  # follow-ups: not marked baseline
        },
        schema={
            "patient_id": pl.Int64,
            "days_since_fusion": pl.Int64,
            "pain_relief_pct": None,
            "baseline": pl.Float64,
        },
    )


def _inside(window_days: tuple[int, int], days: list[int]) -> list[int]:
    lo, hi = window_days
    return [d for d in days if lo <= d < hi]


def test_exact_edges_and_fractional_boundaries() -> None:
    # Centres 1 and 2: boundaries 0.5, 1.5 and 2.5 months = 15.21875, 45.65625 and 76.09375
    # days. Fractions below .5 were rounded down: day 15 counted in the first window, day
    # 76 in the second; neither is inside.
    first, second = windows((1, 2))
    assert (first.start_day, first.end_day, second.end_day) == (16, 46, 77)
    days = [15, 16, 45, 46, 76, 77]
    chosen = {w.months: in_window(_visits(days), w) for w in (first, second)}
    assert sorted(chosen[1]["days_since_fusion"].to_list()) == [16, 45]
    assert sorted(chosen[2]["days_since_fusion"].to_list()) == [46, 76]
    # Each default window at its edges: the day before, the first, the last, the day after.
    for w, (_, lo, hi) in zip(windows((3, 6, 12, 24)), _reference([3, 6, 12, 24]), strict=True):
        edges = [lo - 1, lo, hi - 1, hi]
        got = sorted(in_window(_visits(edges), w)["days_since_fusion"].to_list())
        assert got == _inside((lo, hi), edges) == [lo, hi - 1]
    # A boundary on a whole day stays there: centres 8 and 24 meet at 16 months = 487 days.
    w8, w24 = windows((8, 24))
    assert (w8.end_day, w24.start_day) == (487, 487)
    chosen8 = in_window(_visits([486, 487]), w8)["days_since_fusion"].to_list()
    chosen24 = in_window(_visits([486, 487]), w24)["days_since_fusion"].to_list()
    assert (chosen8, chosen24) == ([486], [487])


def test_the_visit_closest_to_the_centre_is_taken() -> None:
    # 6 months is 182.625 days: day 183 is 0.375 days away, day 182 0.625 (a rank that
    # doubled the distance and added one after the centre took day 182).
    six = windows((3, 6, 12, 24))[1]
    both = pl.DataFrame(
        {"patient_id": [1, 1], "days_since_fusion": [182, 183], "baseline": [None, None]},
        schema={"patient_id": pl.Int64, "days_since_fusion": pl.Int64, "baseline": pl.Float64},
    )
    assert in_window(both, six)["days_since_fusion"].to_list() == [183]
    # 24 months is 730.5 days: days 730 and 731 are as close; the earlier is taken.
    tie = both.with_columns(pl.Series("days_since_fusion", [731, 730]))
    assert in_window(tie, windows((3, 6, 12, 24))[3])["days_since_fusion"].to_list() == [730]


def _closest(visits: list[tuple[int, int, bool]], centres: list[int]) -> set[tuple[int, int, int]]:
    """(patient, window, day) chosen by the rule, with exact fractions: each patient's
    follow-up visit in the window least far from the centre, the earlier of two as far."""
    chosen = set()
    for position, (months, lo, hi) in enumerate(_reference(centres)):
        centre = Decimal(months) * MONTH
        for patient in {p for p, _, _ in visits}:
            days = [d for p, d, base in visits if p == patient and not base and lo <= d < hi]
            if days:
                best = min(days, key=lambda d: (abs(d - centre), d))
                chosen.add((patient, position, best))
    return chosen


@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(-30, 1000), st.booleans()),
        max_size=80,
        unique_by=lambda v: (v[0], v[1]),
    ),
    st.lists(st.integers(1, 30), min_size=1, max_size=5),
)
def test_every_window_at_once_chooses_as_each_window_alone(
    visits: list[tuple[int, int, bool]], centres: list[int]
) -> None:
    frame = pl.DataFrame(
        {
            "patient_id": [p for p, _, _ in visits],
            "days_since_fusion": [d for _, d, _ in visits],
            "baseline": [1.0 if b else None for _, _, b in visits],
        },
        schema={"patient_id": pl.Int64, "days_since_fusion": pl.Int64, "baseline": pl.Float64},
    )
    expected = _closest(visits, centres)
    together = in_windows(frame, tuple(centres))
    got = set(together.select("patient_id", "window", "days_since_fusion").iter_rows())
    assert got == expected
    keys = together.select("patient_id", "window").rows()
    assert keys == sorted(keys)  # in order of patient, then window
    alone = {
        (p, i, d)
        for i, w in enumerate(windows(tuple(centres)))
        for p, d in in_window(frame, w).select("patient_id", "days_since_fusion").iter_rows()
    }
    assert alone == expected


@given(
    st.lists(
        st.tuples(
            st.integers(0, 25),
            st.integers(-60, 900),
            st.booleans(),
            st.one_of(st.none(), st.integers(0, 10)),
        ),
        max_size=60,
        unique_by=lambda v: (v[0], v[1]),
    )
)
def test_baselines_found_by_position_or_by_join_give_the_same_changes(
    visits: list[tuple[int, int, bool, int | None]],
) -> None:
    # Patient ids dense enough are looked up by position; the same ids made sparse join.
    def frame(offset: int) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "patient_id": [p + offset for p, _, _, _ in visits],
                "days_since_fusion": [d for _, d, _, _ in visits],
                "baseline": [1.0 if b else None for _, _, b, _ in visits],
                "pain_relief_pct": [None] * len(visits),
                "nrs_pain": [None if n is None else float(n) for _, _, _, n in visits],
                "odi": [None] * len(visits),
            },
            schema={
                "patient_id": pl.Int64,
                "days_since_fusion": pl.Int64,
                "baseline": pl.Float64,
                "pain_relief_pct": pl.Float64,
                "nrs_pain": pl.Float64,
                "odi": pl.Float64,
            },
        )

    dense, sparse = over_time(frame(0), (3, 6, 12)), over_time(frame(100_000), (3, 6, 12))
    assert dense == sparse
    # Each window's change: the patient's chosen NRS minus the last baseline NRS, by hand.
    last_base: dict[int, int | None] = {}
    for p, _, b, n in sorted(visits, key=lambda v: v[1]):
        if b:
            last_base[p] = n
    chosen = _closest([(p, d, b) for p, d, b, _ in visits], [3, 6, 12])
    nrs = {(p, d): n for p, d, _, n in visits}
    for i, result in enumerate(dense):
        changes = []
        for p, window, d in chosen:
            at, before = nrs[(p, d)], last_base.get(p)
            if window == i and at is not None and before is not None:
                changes.append(at - before)
        assert result.paired["nrs_pain"].change.n == len(changes)
        if changes:
            assert result.paired["nrs_pain"].change.mean == Fraction(sum(changes), len(changes))
