"""Follow-up completeness and the two responder rates, on a cohort worked by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sijreg.analysis.completeness import Patient, completeness
from sijreg.domain.followup import State, time_points, window_dates
from sijreg.domain.schedule import Window

WINDOWS = (Window(3, 14, 30), Window(12, 30, 60))
AS_OF = date(2026, 6, 1)
COHORT = (
    # 3 months answered (relief 60); 12 months missed (window closed 2026-03-16)
    Patient("S1", date(2025, 1, 15), ((date(2025, 4, 20), 60.0),)),
    # both answered: relief 20 at 3 months, 80 at 12 months (a second 12-month visit further
    # from the target does not count)
    Patient(
        "S1",
        date(2025, 3, 1),
        ((date(2025, 6, 1), 20.0), (date(2026, 3, 5), 80.0), (date(2026, 4, 29), 10.0)),
    ),
    Patient("S2", date(2026, 1, 10), ()),  # 3 months missed; 12 months not yet due
    Patient("S2", date(2026, 3, 1), ()),  # 3-month window open on AS_OF: not counted yet
)


def test_completeness_by_site_and_time_point() -> None:
    found = completeness(COHORT, AS_OF, WINDOWS)
    assert [(r.site, r.months, r.due, r.answered) for r in found.rows] == [
        ("S1", 3, 2, 2),
        ("S1", 12, 2, 1),
        ("S2", 3, 1, 0),
        ("S2", 12, 0, 0),
        ("All", 3, 3, 2),
        ("All", 12, 2, 1),
    ]
    assert found.rows[1].percent == 50
    assert found.rows[3].percent is None


def test_responder_rates_complete_case_and_missing_as_non_responder() -> None:
    found = {(r.months, r.threshold): r for r in completeness(COHORT, AS_OF, WINDOWS).responders}
    three = found[(3, 30)]
    assert (three.responders, three.answered, three.due) == (1, 2, 3)
    assert three.complete_case == 50
    assert three.missing_as_non_responder == pytest.approx(100 / 3)
    twelve = found[(12, 50)]
    assert (twelve.responders, twelve.answered, twelve.due) == (1, 1, 2)
    assert twelve.complete_case == 100
    assert twelve.missing_as_non_responder == 50


# The rule of "answered" and "due" is the domain's (domain/followup.py); the Polars counts
# apply it to whole frames. On random cohorts, with visits on and next to every window's
# edges, the counts equal the domain's states patient by patient.

day_offsets = st.integers(min_value=-5, max_value=5)


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[list[Patient], date, tuple[Window, ...]]:
    windows = tuple(
        sorted(
            draw(
                st.lists(
                    st.builds(
                        Window,
                        st.integers(1, 30),
                        st.integers(0, 60),
                        st.integers(0, 90),
                    ),
                    min_size=1,
                    max_size=4,
                    unique_by=lambda w: w.months,
                )
            ),
            key=lambda w: w.months,
        )
    )
    as_of = draw(st.dates(date(2024, 1, 1), date(2027, 12, 31)))
    patients = []
    for number in range(draw(st.integers(0, 12))):
        fused = draw(st.dates(date(2021, 1, 1), date(2027, 12, 31)))
        visits = []
        for _ in range(draw(st.integers(0, 4))):
            window = draw(st.sampled_from(windows))
            _, opens, closes = window_dates(fused, window)
            edge = draw(st.sampled_from((opens, closes)))
            when = edge + timedelta(days=draw(day_offsets))
            relief = draw(st.none() | st.integers(0, 100).map(float))
            visits.append((when, relief))
        unique = dict(visits)  # one visit a day, as stored
        patients.append(
            Patient(draw(st.sampled_from(("A", "B"))), fused, tuple(unique.items()), number)
        )
    return patients, as_of, windows


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(cohorts())
def test_the_counts_are_the_domains_states(
    drawn: tuple[list[Patient], date, tuple[Window, ...]],
) -> None:
    patients, as_of, windows = drawn
    found = completeness(patients, as_of, windows)
    expected: dict[tuple[str, int], list[int]] = {}
    for p in patients:
        points = time_points(p.fusion_date, [when for when, _ in p.visits], as_of, windows)
        for point in points:
            if not point.counts_as_due:
                continue
            for site in (p.site, "All"):
                cell = expected.setdefault((site, point.months), [0, 0])
                cell[0] += 1
                cell[1] += point.state is State.ANSWERED
    counted = {(r.site, r.months): [r.due, r.answered] for r in found.rows if r.due}
    assert counted == expected
