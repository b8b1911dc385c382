"""The visits' order by patient and date, sorted by one Int64 key, is the two-column order."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from sijreg.analysis.cohort import _by_patient_and_date, _dated_visits

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


@given(
    st.sets(st.tuples(st.integers(0, 40), st.integers(0, 3_000)), max_size=60),
    st.dictionaries(
        st.integers(0, 40), st.one_of(st.none(), st.integers(-500, 2_000)), max_size=30
    ),
    st.sampled_from([0, 2**40]),  # dense ids (looked up by position) or sparse (joined)
)
def test_visits_are_dated_from_their_patients_fusion(
    pairs: set[tuple[int, int]], fusions: dict[int, int | None], offset: int
) -> None:
    visits = pl.DataFrame(
        {
            "patient_id": [p + offset for p, _ in pairs],
            "visit_date": [EPOCH + timedelta(days=d) for _, d in pairs],
        },
        schema={"patient_id": pl.Int64, "visit_date": pl.Date},
    )
    fused = pl.DataFrame(
        {
            "patient_id": [p + offset for p in fusions],
            "fusion_date": [
                None if d is None else EPOCH + timedelta(days=d) for d in fusions.values()
            ],
        },
        schema={"patient_id": pl.Int64, "fusion_date": pl.Date},
    )
    got = _dated_visits(visits, fused)

    def since(patient: int, day: int) -> int | None:
        fused_on = fusions[patient]
        return None if fused_on is None else day - fused_on

    expected = [
        (p + offset, EPOCH + timedelta(days=d), since(p, d))
        for p, d in sorted(pairs)
        if p in fusions  # visits of patients without a fusion row are left out
    ]
    assert got.columns == ["patient_id", "visit_date", "days_since_fusion"]
    assert got.rows() == expected
