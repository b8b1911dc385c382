"""The fingerprint's canonical order: the one-argsort path gives canonical_ranks' ranks."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from sijreg.analysis.provenance import canonical_order, canonical_ranks

ROWS = st.lists(st.tuples(st.one_of(st.none(), st.integers(-3, 3)), st.integers(0, 2)), max_size=40)


@given(ROWS)
def test_canonical_order_is_canonical_ranks(rows: list[tuple[int | None, int]]) -> None:
    """With duplicate rows (the fallback) and without (one argsort), the same ranks; the
    order lists the rows by rank."""
    frame = pl.DataFrame(rows, schema={"a": pl.Int64, "b": pl.Int64}, orient="row")
    ranks, order = canonical_order(frame)
    expected = canonical_ranks(frame).to_numpy()
    assert ranks.tolist() == expected.tolist()
    assert sorted(order.tolist()) == list(range(frame.height))
    assert np.all(np.diff(ranks[order]) >= 0)
