"""The linear algebra of suppression against brute force on small random set families.

Atoms are checked against a patient-by-patient grouping, isolable atoms and
recoverable targets against a rank test (``np.linalg.matrix_rank`` on the explicit
sets x atoms matrix), and whole suppression against the linear-program audit.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sijreg.report.disclosure import suppress
from sijreg.report.recovery import Family, Incidence, Span, atoms
from tests.test_disclosure import audit


@st.composite
def unions(draw: st.DrawFn, patients: int, most: int) -> list[int]:
    """Sets made of a few groups of patients, as counts of category levels are: totals,
    complements and nested sets, so that many sizes follow from others."""
    group_of = draw(st.lists(st.integers(0, 6), min_size=patients, max_size=patients))
    groups = [sum(1 << p for p, g in enumerate(group_of) if g == k) for k in range(7)]
    choices = draw(st.lists(st.integers(1, 127), min_size=1, max_size=most, unique=True))
    sets = {sum(groups[k] for k in range(7) if c >> k & 1) for c in choices}
    return sorted(sets - {0})


families = st.one_of(
    st.lists(st.integers(1, 2**14 - 1), min_size=1, max_size=12, unique=True),
    unions(14, 12).filter(bool),
)


def explicit(sets: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Sets x atoms incidence and atom sizes, one patient at a time."""
    groups: dict[tuple[int, ...], int] = {}
    for patient in range(max(s.bit_length() for s in sets)):
        key = tuple((s >> patient) & 1 for s in sets)
        if any(key):
            groups[key] = groups.get(key, 0) + 1
    keys = sorted(groups)
    return np.array(keys, dtype=float).T, np.array([groups[k] for k in keys])


def in_row_space(matrix: np.ndarray, vector: np.ndarray) -> bool:
    if len(matrix) == 0:
        return False
    return bool(np.linalg.matrix_rank(np.vstack([matrix, vector])) == np.linalg.matrix_rank(matrix))


@settings(max_examples=200, deadline=None)
@given(families)
def test_atoms_group_the_patients_no_set_tells_apart(sets: list[int]) -> None:
    signatures, sizes = atoms(sets)
    incidence, expected_sizes = explicit(sets)
    found = np.unpackbits(signatures, axis=1, bitorder="little")[:, : len(sets)].T
    assert sorted(zip(map(tuple, found.T), sizes, strict=True)) == sorted(
        zip(map(tuple, incidence.T.astype(np.uint8)), expected_sizes, strict=True)
    )
    assert sizes.sum() == (np.bitwise_or.reduce(sets)).bit_count()


@settings(max_examples=300, deadline=None)
@given(families, st.integers(2, 6), st.sampled_from([0.0, 0.2, 2.0]))
def test_every_isolable_small_atom_is_a_candidate(
    sets: list[int], min_cell: int, dense_share: float
) -> None:
    """Whichever sets are handled as dense (all, some, none), the same Gram and atoms."""
    family = Family.of(sets, min_cell, dense_share)
    incidence, sizes = explicit(sets)
    assert np.array_equal(family.gram, incidence @ incidence.T)
    candidates = {tuple(column) for column in family.isolable.T}
    everything = Span.of(family.gram, np.arange(len(sets)))
    for a in range(incidence.shape[1]):
        isolable = in_row_space(incidence, np.eye(incidence.shape[1])[a])
        if isolable and sizes[a] < min_cell:
            assert tuple(incidence[:, a]) in candidates
    for column in family.isolable.T:
        a = next(i for i in range(incidence.shape[1]) if np.array_equal(incidence[:, i], column))
        assert sizes[a] < min_cell
        isolable = in_row_space(incidence, np.eye(incidence.shape[1])[a])
        assert everything.recoverable(column[:, None], np.ones(1))[0] == isolable


@settings(max_examples=300, deadline=None)
@given(families, st.sampled_from([0.0, 0.2, 2.0]))
def test_leverages_match_the_projection_onto_the_row_space(
    sets: list[int], dense_share: float
) -> None:
    incidence = Incidence.of(sets, dense_share)
    explicit_incidence, _ = explicit(sets)
    order = [  # Incidence orders atoms by signature; match them by column
        next(
            i
            for i in range(explicit_incidence.shape[1])
            if np.array_equal(explicit_incidence[:, i], column)
        )
        for column in incidence.columns(np.ones(len(incidence.sizes), dtype=bool)).T
    ]
    projection = np.linalg.pinv(explicit_incidence) @ explicit_incidence
    expected = np.diag(projection)[order]
    assert np.allclose(incidence.leverages(incidence.gram()), expected, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(families, st.data())
def test_span_finds_exactly_the_recoverable_targets(sets: list[int], data: st.DataObject) -> None:
    incidence, _ = explicit(sets)
    gram = incidence @ incidence.T
    shown = np.array(
        sorted(data.draw(st.sets(st.integers(0, len(sets) - 1), min_size=1))), dtype=np.intp
    )
    span = Span.of(gram, shown)
    # targets: every set, and every difference of two sets (as a combination of rows)
    combinations = [np.eye(len(sets))[i] for i in range(len(sets))]
    combinations += [
        np.eye(len(sets))[j] - np.eye(len(sets))[i]
        for i in range(len(sets))
        for j in range(len(sets))
        if i != j
    ]
    for combination in combinations:
        target = combination @ incidence
        norm = float(target @ target)
        if norm == 0:
            continue
        products = (gram @ combination)[shown][:, None]
        expected = in_row_space(incidence[shown], target)
        assert span.recoverable(products, np.array([norm]))[0] == expected
        if expected:
            coefficients = span.combination(products)[:, 0]
            assert np.allclose(coefficients @ incidence[shown], target)


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        unions(40, 16), st.lists(st.integers(1, 2**40 - 1), min_size=1, max_size=16, unique=True)
    ).filter(bool),
    st.lists(st.integers(0, 4), min_size=16, max_size=16),
    st.sampled_from([3, 5, 11]),
)
def test_suppression_of_random_families_passes_the_audit(
    sets: list[int], weights: list[int], min_cell: int
) -> None:
    seen = dict(zip(sets, weights, strict=False))
    hidden = suppress(seen, min_cell)
    assert {s for s in sets if 0 < s.bit_count() < min_cell} <= hidden
    assert audit(seen, hidden, min_cell) == []
    assert suppress(dict(reversed(seen.items())), min_cell) == hidden  # order does not matter


def bits(first: int, last: int) -> int:
    return sum(1 << p for p in range(first, last + 1))


def test_a_recoverable_difference_of_two_hidden_sets_is_protected() -> None:
    """Two nested small sets, both hidden, whose 4-patient difference (two atoms that a
    further set splits) equals A - B + C: no atom and neither set is recoverable alone."""
    inner, outer, gap = bits(0, 2), bits(0, 6), bits(3, 6)
    first, second, third = gap | bits(10, 29), bits(10, 49), bits(30, 49)
    splitter = bits(3, 4) | bits(50, 69)
    seen = {inner: 2, outer: 2, first: 2, second: 3, third: 1, splitter: 2}
    hidden = suppress(seen, 11)
    assert {inner, outer} <= hidden
    assert hidden & {first, second, third}
    assert audit(seen, hidden, 11) == []
    assert audit(seen, frozenset({inner, outer}), 11) == ["difference 1 - 0 = 4 can be worked out"]
