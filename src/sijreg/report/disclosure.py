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

Counts are not all a figure gives away: a mean of one-decimal values is a multiple of
1/(10 n), so an unrounded mean names its n, and the mean of one patient is that patient's
value. Two more rules therefore hold for every statistic, whoever adds it:

4. :meth:`Cells.described` publishes no statistic of a group of 1 to ``min_cell - 1``
   patients (only its counts, already markers, and its words);
5. :func:`as_displayed` rounds every figure of a suppressed document as the tables show
   it, so no unrounded mean, SD, percentage, interval or p-value is published.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from sijreg.analysis.describe import TRACKING_MEMBERS
from sijreg.report.recovery import Family, Span
from sijreg.report.spss import round_half_away

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

    def small(self, members: int) -> bool:
        """Whether ``members`` are a group of 1 to ``min_cell - 1`` patients under suppression."""
        return 0 < members.bit_count() < (self.min_cell or 0)

    def described(self, members: int, block: dict[str, Any]) -> dict[str, Any]:
        """``block``, the statistics of the group ``members``, as published (rule 4): whole,
        or for a small group its counts and words only, every figure ``None`` and every
        display the group's marker, whatever keys the block holds."""
        return withheld(block, self.marker(members)) if self.small(members) else block

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


COUNT_KEYS = frozenset({"n", "count", "missing"})
"""Keys whose values went through :meth:`Cells.count` (markers or publishable counts)."""
WORD_KEYS = frozenset({"label", "section", "type", "ci_method", "method"})


def withheld(node: Any, marker: str | None, keep: frozenset[str] = frozenset()) -> Any:
    """``node`` with its counts, its words and the keys in ``keep`` as they are, every
    display the marker, all else ``None``."""
    if not isinstance(node, dict):
        return None
    out: dict[str, Any] = {}
    for key, value in node.items():
        if (key in COUNT_KEYS and isinstance(value, int | str)) or key in WORD_KEYS | keep:
            out[key] = value
        elif key.endswith("display"):
            out[key] = None if value is None else marker
        else:
            out[key] = withheld(value, marker)
    return out


PLACES = {
    "mean": 1,
    "sd": 1,
    "percent": 1,
    "ci_low": 1,
    "ci_high": 1,
    "estimate": 1,
    "p": 3,
    "smd": 2,
    "spearman_rho": 2,
    "q": 2,
    "i_squared": 3,
    "tau_squared": 2,
    "site_variance": 2,
    "residual_variance": 2,
    "icc": 3,
}
"""Decimals each figure is displayed with (I² and ICC as shares; I² shows as a percentage).
A key not named here takes its first word's: ``p_holm`` a p-value's, ``smd_ci_low`` an SMD's."""
SHARE_PLACES = 3
"""Shares (0-1) of the responder curve and their bands: percentages to one decimal."""
DEFAULT_PLACES = 1
"""A figure no rule names is rounded as most are shown: coarse, never unrounded."""
UNROUNDED = frozenset({"settings", "provenance"})
"""Parts of the document that are method settings, not statistics."""


def as_displayed(document: dict[str, Any]) -> dict[str, Any]:
    """A suppressed document with every figure rounded half away from zero as displayed
    (rule 5): to its ``PLACES``, to the number its sibling ``<key>_display`` shows, or,
    for a figure no rule names, to ``DEFAULT_PLACES``. Counts (integers) stay."""
    return {
        key: value if key in UNROUNDED else _rounded(value, key, key == "responders")
        for key, value in document.items()
    }


def _rounded(node: Any, key: str, shares: bool, siblings: dict[str, Any] | None = None) -> Any:
    if isinstance(node, dict):
        return {k: _rounded(v, k, shares, node) for k, v in node.items()}
    if isinstance(node, list):
        return [_rounded(v, key, shares) for v in node]
    if not isinstance(node, float):
        return node
    shown = (siblings or {}).get(f"{key}_display")
    if key not in PLACES and isinstance(shown, str) and _is_number(shown):
        return float(shown)
    places = SHARE_PLACES if shares else PLACES.get(key.split("_")[0], DEFAULT_PLACES)
    places = PLACES.get(key, places)
    # repr is the shortest decimal that reads back as the float: an exact mean of 0.15,
    # held as 0.1499…, rounds to 0.2 as the table shows it.
    return float(round_half_away(Fraction(repr(float(node))), places))  # NumPy's too


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
