"""Follow-up completeness and the two responder rates, on a cohort worked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from sijreg.analysis.completeness import Patient, completeness
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
