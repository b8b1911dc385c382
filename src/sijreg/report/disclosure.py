"""Small-cell suppression across every published count of a report.

Every count a report publishes is the size of a set of patients (a bit set of
patient ids, see ``analysis.describe.members``). Suppression decides per *set*, so
the same patients are hidden wherever they are counted:

1. primary: a set of 1 to ``min_cell - 1`` patients is shown as ``<11``;
2. differences: when two shown sets are nested and differ by 1 to ``min_cell - 1``
   patients, the less important of the two is hidden too (``*``);
3. linear recovery: a hidden set, an atom (a group of patients no published set
   tells apart) of 1 to ``min_cell - 1`` patients, or the 1 to ``min_cell - 1``
   patients between two nested sets, whose size follows from the shown sizes by
   adding and subtracting (its indicator lies in their row space) gets one more shown
   set of the combination hidden, until none does.

Percentages, shares and confidence intervals of a hidden count (or of a hidden
denominator) are removed by the document builder, which asks :meth:`Cells.shown`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sijreg.analysis.describe import TRACKING_MEMBERS

DEFAULT_MIN_CELL = 11
COMPLEMENTARY = "*"
MAX_PATIENTS = 1_000
"""Suppression compares every published set with every other: its time and memory grow
with the patients times the sets, and past this many analysed patients it would run
for minutes or exhaust memory. Larger registries are refused with a clear message."""


class Weight:
    """How much a count matters to a reader; the lighter of two sets is hidden first."""

    FIGURE = 0
    DETAIL = 1
    ROW = 2
    GROUP = 3
    COHORT = 4


@dataclass
class Cells:
    """Records every published count and, once decided, answers what may be shown."""

    min_cell: int | None = None
    hidden: frozenset[int] = frozenset()
    seen: dict[int, int] = field(default_factory=dict)

    def count(self, members: int, value: int, weight: int = Weight.ROW) -> int | str:
        """``value`` (the size of ``members``) or the marker that replaces it."""
        if TRACKING_MEMBERS.get() and members.bit_count() != value:
            raise RuntimeError(f"count {value} does not match its {members.bit_count()} patients")
        self.seen[members] = max(weight, self.seen.get(members, weight))
        return value if self.shown(members) else self.marker(members)

    def shown(self, members: int) -> bool:
        return members not in self.hidden

    def marker(self, members: int) -> str:
        return f"<{self.min_cell}" if members.bit_count() < (self.min_cell or 0) else COMPLEMENTARY

    def decided(self, min_cell: int) -> Cells:
        """Fresh cells that hide what suppression at ``min_cell`` requires of the sets seen."""
        return Cells(min_cell, suppress(self.seen, min_cell))


def _small(size: int, min_cell: int) -> bool:
    return 0 < size < min_cell


def _matrix(sets: list[int]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Sets x atoms incidence, and the atoms' sizes."""
    width = max((s.bit_length() for s in sets), default=0)
    if width == 0:
        return np.zeros((len(sets), 0)), np.zeros(0, dtype=np.int64)
    rows = np.array(
        [
            np.unpackbits(
                np.frombuffer(s.to_bytes((width + 7) // 8, "little"), dtype=np.uint8),
                bitorder="little",
            )[:width]
            for s in sets
        ],
        dtype=np.uint8,
    )
    patients = rows.T[rows.any(axis=0)]
    atoms, sizes = np.unique(patients, axis=0, return_counts=True)
    return atoms.T.astype(np.float64), sizes.astype(np.int64)


def _basis(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    if matrix.size == 0:
        return np.zeros((0, matrix.shape[1]))
    _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int((singular > 1e-9 * max(1.0, singular.max(initial=0.0))).sum())
    return vt[:rank]


def _in_span(basis: NDArray[np.float64], vector: NDArray[np.float64]) -> bool:
    residual = vector - basis.T @ (basis @ vector)
    return bool(np.linalg.norm(residual) < 1e-7)


def _small_gaps(
    sets: list[int], hidden: set[int], incidence: NDArray[np.float64], min_cell: int
) -> list[NDArray[np.float64]]:
    """Patients in one published set but not in another inside it, 1 to min_cell - 1 of them,
    where at least one of the two is hidden (both shown is the pair rule's case)."""
    out = []
    for i, small in enumerate(sets):
        for j, big in enumerate(sets):
            if i == j or small & ~big or (small not in hidden and big not in hidden):
                continue
            if _small(big.bit_count() - small.bit_count(), min_cell):
                out.append(incidence[j] - incidence[i])
    return out


def suppress(seen: dict[int, int], min_cell: int) -> frozenset[int]:
    """The sets to hide among ``seen`` (set -> weight), by the rules in the module docstring."""
    sets = sorted((s for s in seen if s), key=lambda s: (s.bit_count(), s))
    hidden = {s for s in sets if _small(s.bit_count(), min_cell)}
    incidence, atom_sizes = _matrix(sets)
    index = {s: i for i, s in enumerate(sets)}
    small_atoms = [
        np.eye(len(atom_sizes))[a]
        for a in range(len(atom_sizes))
        if _small(atom_sizes[a], min_cell)
    ]

    def rank_key(s: int) -> tuple[int, int]:
        return (seen[s], s.bit_count())

    changed = True
    while changed:
        changed = False
        shown = [s for s in sets if s not in hidden]
        for i, small in enumerate(shown):
            if small in hidden:
                continue
            for big in shown[i + 1 :]:
                if big in hidden or small & ~big:
                    continue
                if _small(big.bit_count() - small.bit_count(), min_cell):
                    hidden.add(min((small, big), key=rank_key))
                    changed = True
                    if small in hidden:
                        break
        shown = [s for s in sets if s not in hidden]
        matrix = incidence[[index[s] for s in shown]] if shown else np.zeros((0, len(atom_sizes)))
        basis = _basis(matrix)
        targets = [incidence[index[s]] for s in sorted(hidden, key=lambda s: (s.bit_count(), s))]
        for vector in [*targets, *small_atoms, *_small_gaps(sets, hidden, incidence, min_cell)]:
            if _in_span(basis, vector):
                coefficients = np.linalg.lstsq(matrix.T, vector, rcond=None)[0]
                involved = [s for s, c in zip(shown, coefficients, strict=True) if abs(c) > 1e-9]
                hidden.add(min(involved, key=rank_key))
                changed = True
                break
    return frozenset(hidden)
