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

How rule 3 is tested for every target at once, without a matrix as wide as the patients,
is in :mod:`sijreg.report.recovery`.

Percentages, shares and confidence intervals of a hidden count (or of a hidden
denominator) are removed by the document builder, which asks :meth:`Cells.shown`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from sijreg.analysis.describe import TRACKING_MEMBERS
from sijreg.report.recovery import Family, Span

COMPLEMENTARY = "*"
COEFFICIENT_TOLERANCE = 1e-7
"""A set is part of a recovering combination when its coefficient exceeds this share of
the largest one (rounding leaves about 1e-12)."""


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


def suppress(seen: dict[int, int], min_cell: int) -> frozenset[int]:
    """The sets to hide among ``seen`` (set -> weight), by the rules in the module docstring.

    Each round first applies the pair rule, then tests every target against the span of
    the shown sets at once and hides one set for each recoverable target, the lightest
    of its combination (lowest weight, then smallest). A target whose combination lost
    a set earlier in the round waits for the next round's test. Rounds repeat until one
    hides nothing."""
    sets = sorted((s for s in seen if s), key=lambda s: (s.bit_count(), s))
    sizes = np.array([s.bit_count() for s in sets], dtype=np.int64)
    weights = np.array([seen[s] for s in sets], dtype=np.int64)
    family = Family.of(sets, min_cell)
    gram = family.gram
    hidden = sizes < min_cell  # every set here has at least one patient
    gap = sizes[None, :] - sizes[:, None]
    nested = (gap > 0) & (gap < min_cell) & (gram == np.diag(gram)[:, None])
    pairs = list(zip(*(index.tolist() for index in np.nonzero(nested)), strict=True))

    def lightest(candidates: Iterable[int]) -> int:
        return min(candidates, key=lambda k: (weights[k], k))

    while True:
        changed = False
        for small, big in pairs:
            if not hidden[small] and not hidden[big]:
                hidden[lightest((small, big))] = changed = True
        shown = np.flatnonzero(~hidden)
        if len(shown) == 0:
            break
        gaps = [(small, big) for small, big in pairs if hidden[small] or hidden[big]]
        hidden_sets = np.flatnonzero(hidden)
        products = np.hstack(
            [
                gram[np.ix_(shown, hidden_sets)],
                family.isolable[shown],
                *(gram[shown, big, None] - gram[shown, small, None] for small, big in gaps),
            ]
        )
        norms = np.concatenate(
            [
                np.diag(gram)[hidden_sets],
                np.ones(family.isolable.shape[1]),
                [gram[big, big] - gram[small, small] for small, big in gaps],
            ]
        )
        span = Span.of(gram, shown)
        recoverable = span.recoverable(products, norms)
        now: set[int] = set()
        for coefficients in span.combination(products[:, recoverable]).T:
            size = np.abs(coefficients)
            involved = set(shown[size > COEFFICIENT_TOLERANCE * size.max()].tolist())
            if not involved & now:
                now.add(lightest(involved))
        hidden[list(now)] = True
        if not changed and not now:
            break
    return frozenset(s for s, h in zip(sets, hidden, strict=True) if h)
