"""The visits' order by patient and date, sorted by one Int64 key, is the two-column order."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from sijreg.analysis.cohort import _by_patient_and_date

EPOCH = date(1970, 1, 1)


@given(
    st.sets(
        st.tuples(
            st.one_of(st.integers(0, 50), st.integers(0, 2**62)),
            st.integers(-40_000, 120_000),  # before 1970 and after 2270 too
        ),
        max_size=60,
    )
)
def test_one_key_sorts_visits_as_patient_then_date(pairs: set[tuple[int, int]]) -> None:
    frame = pl.DataFrame(
        {
            "patient_id": [p for p, _ in pairs],
            "visit_date": [EPOCH + timedelta(days=d) for _, d in pairs],
            "row": list(range(len(pairs))),
        },
        schema={"patient_id": pl.Int64, "visit_date": pl.Date, "row": pl.Int64},
    )
    expected = sorted(pairs)
    got = frame.sort(_by_patient_and_date(frame))
    assert list(zip(got["patient_id"], got["visit_date"], strict=True)) == [
        (p, EPOCH + timedelta(days=d)) for p, d in expected
    ]
