"""Which sizes the shown counts give away: the linear algebra of small-cell suppression.

The published sets are the rows of a sets x atoms incidence matrix M (an atom: the
patients that no published set tells apart). A size can be worked out by adding and
subtracting shown counts exactly when its indicator over the atoms lies in the row
space of the shown rows (with every atom holding at least one patient, the attacker's
"no group is negative" adds nothing: the true sizes lie inside the feasible region).

Nothing here is as wide as the patients or the atoms times the atoms. The atoms come
from one pass over the packed bit sets; the K x K Gram matrix G = M M^T (K sets, a few
hundred) then answers every question about sets and about differences of sets, and
each atom enters only through its column of M. An atom can be isolated by the shown
rows only if it can be by all rows (a leverage score of 1: its indicator lies in the
row space of M); at most ``rank(M)`` atoms have a leverage near 1, so one more pass
finds those few candidates and the rounds of suppression never touch the other atoms.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from scipy.sparse import csr_array

FloatArray = NDArray[np.float64]

CHUNK = 1 << 14
"""Atoms handled at once: Gram sums stay exact in float32, and memory stays bounded."""
RANK_TOLERANCE = 1e-9
"""An eigenvalue of the unit-diagonal Gram matrix below this counts as zero. Rounding
leaves about 1e-14 there; the smallest real ones of report families are near 1e-3."""
SPAN_TOLERANCE = 1e-9
"""A target whose squared distance to the shown rows, relative to its squared length,
is below this is taken as recoverable. On the benchmark registries rounding leaves at
most about 1e-11 there and the smallest real distances are about 1e-6; a false alarm
would only hide one more count."""
DENSE_SHARE = 1 / 32
"""Sets with at most this share of the atoms' count in patients are kept sparse: at scale
most published sets lie inside one site and touch few atoms."""
LEVERAGE_ELEMENTS = 1 << 23
"""Atoms x sets held at once while computing leverages (64 MiB in float64)."""
LEVERAGE_CANDIDATE = 0.5
"""Atoms whose leverage over all rows exceeds this are tested in every round (an
isolable atom has leverage 1; the sum of all leverages is the rank, so few pass)."""


def _packed(sets: list[int]) -> NDArray[np.uint8]:
    """The sets as rows of little-endian bytes (bit i of row k: patient i in set k)."""
    width = (max((s.bit_length() for s in sets), default=0) + 7) // 8
    data = b"".join(s.to_bytes(width, "little") for s in sets)
    return np.frombuffer(data, dtype=np.uint8).reshape(len(sets), width)


def atoms(sets: list[int]) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Each atom's signature (bit k of its packed row: the atom lies in ``sets[k]``) and its
    number of patients, in a fixed order. Patients in no set belong to no atom."""
    packed = _packed(sets)
    by_patient = np.zeros(((len(sets) + 7) // 8, packed.shape[1] * 8), dtype=np.uint8)
    for k, row in enumerate(packed):  # one byte of signature per eight sets, patients along
        by_patient[k // 8] |= np.unpackbits(row, bitorder="little") << (k % 8)
    used = np.bitwise_or.reduce(by_patient, axis=0) != 0
    signature = np.ascontiguousarray(by_patient[:, used].T)
    keys = signature.view(np.dtype((np.void, signature.shape[1]))).ravel()
    unique, sizes = np.unique(keys, return_counts=True)
    rows = np.frombuffer(unique.tobytes(), dtype=np.uint8).reshape(len(unique), signature.shape[1])
    return rows, sizes.astype(np.int64)


@dataclass(frozen=True)
class Incidence:
    """The sets x atoms matrix M, held as the atoms' signatures. Sets with few patients
    (the sets of one site, at scale) are handled as sparse columns, the others as dense."""

    signatures: NDArray[np.uint8]
    sizes: NDArray[np.int64]
    dense: NDArray[np.intp]
    light: NDArray[np.intp]

    @classmethod
    def of(cls, sets: list[int], dense_share: float = DENSE_SHARE) -> Incidence:
        """A set with at most ``dense_share`` times as many patients as there are atoms
        is light (it cannot touch more atoms than it has patients)."""
        signatures, sizes = atoms(sets)
        patients = np.array([s.bit_count() for s in sets], dtype=np.int64)
        heavy = patients > dense_share * len(sizes)
        return cls(signatures, sizes, np.flatnonzero(heavy), np.flatnonzero(~heavy))

    def _chunks(self, rows: int) -> Iterator[tuple[NDArray[np.float32], csr_array]]:
        """Rows of M's transpose, ``rows`` atoms at a time: the dense sets' part as an
        array, the light sets' part as a sparse matrix (0/1 entries)."""
        from scipy.sparse import csr_array  # a report that suppresses nothing never imports it

        count = len(self.dense) + len(self.light)
        for start in range(0, len(self.signatures), rows):
            bits = np.unpackbits(self.signatures[start : start + rows], axis=1, bitorder="little")
            bits = bits[:, :count]
            yield (
                bits[:, self.dense].astype(np.float32),
                csr_array(bits[:, self.light], dtype=np.float32),
            )

    def gram(self) -> FloatArray:
        """M M^T: the atoms two sets share, exact (partial sums of at most CHUNK atoms
        are whole numbers that float32 holds exactly)."""
        dense, light = self.dense, self.light
        gram = np.zeros((len(dense) + len(light),) * 2)
        for full, sparse in self._chunks(CHUNK):
            gram[np.ix_(dense, dense)] += full.T @ full
            across = (sparse.T @ full).astype(np.float64)
            gram[np.ix_(light, dense)] += across
            gram[np.ix_(dense, light)] += across.T
            gram[np.ix_(light, light)] += (sparse.T @ sparse).toarray()
        return gram

    def leverages(self, gram: FloatArray) -> FloatArray:
        """Each atom's leverage over all rows: the squared length of the projection of its
        indicator onto M's row space, m^T G^+ m for its column m (1 when some combination
        of the sets isolates it)."""
        count = len(gram)
        span = Span.of(gram, np.arange(count))
        weights = span.basis * span.scale[:, None]
        hat = weights @ weights.T  # the pseudo-inverse of the Gram matrix
        inner = hat[np.ix_(self.dense, self.dense)]
        out = []
        for full, sparse in self._chunks(max(1, LEVERAGE_ELEMENTS // max(1, count))):
            part = full.astype(np.float64)
            through = sparse.astype(np.float64) @ hat[self.light]  # atoms x sets
            leverage = ((part @ inner + 2 * through[:, self.dense]) * part).sum(axis=1)
            coo = sparse.tocoo()
            picked = through[coo.row, self.light[coo.col]]
            out.append(leverage + np.bincount(coo.row, picked, minlength=len(part)))
        return np.concatenate(out) if out else np.zeros(0)

    def columns(self, chosen: NDArray[np.bool_]) -> FloatArray:
        """M's columns of the chosen atoms (sets x chosen)."""
        count = len(self.dense) + len(self.light)
        bits = np.unpackbits(self.signatures[chosen], axis=1, bitorder="little")
        return bits[:, :count].T.astype(np.float64)


@dataclass(frozen=True)
class Span:
    """The row space of some rows of M, given by the Gram matrix restricted to them."""

    scale: FloatArray
    """1 / the norm of each row: the rows are normalised first (same row space, far
    better conditioned, since set sizes range over five orders of magnitude)."""
    basis: FloatArray
    """rows x rank: columns U / sqrt(eigenvalue) of the normalised Gram matrix."""

    @classmethod
    def of(cls, gram: FloatArray, rows: NDArray[np.intp]) -> Span:
        sub = gram[np.ix_(rows, rows)]
        scale = 1.0 / np.sqrt(np.diag(sub))
        values, vectors = np.linalg.eigh(sub * np.outer(scale, scale))
        keep = values > RANK_TOLERANCE * max(1.0, float(values.max(initial=0.0)))
        return cls(scale, vectors[:, keep] / np.sqrt(values[keep]))

    def coordinates(self, products: FloatArray) -> FloatArray:
        """Orthonormal coordinates (rank x targets) of the targets' projections onto the
        span, from ``products``: the inner products of each target with each row."""
        result: FloatArray = self.basis.T @ (products * self.scale[:, None])
        return result

    def recoverable(self, products: FloatArray, norms: FloatArray) -> NDArray[np.bool_]:
        """Which targets (squared lengths ``norms``) lie in the span."""
        projected = (self.coordinates(products) ** 2).sum(axis=0)
        result: NDArray[np.bool_] = norms - projected <= SPAN_TOLERANCE * norms
        return result

    def combination(self, products: FloatArray) -> FloatArray:
        """Coefficients over the rows (in the order given to :meth:`of`) that sum them to a
        target in the span."""
        result: FloatArray = (self.basis @ self.coordinates(products)) * self.scale[:, None]
        return result


@dataclass(frozen=True)
class Family:
    """A family of published sets, reduced to what suppression needs."""

    gram: FloatArray
    """K x K: atoms shared by two sets (exact integers). Patients are nested where
    gram[i, j] == gram[i, i], since atoms lie wholly inside or outside every set."""
    isolable: FloatArray
    """K x C: the columns of M of the small atoms that all rows together could isolate."""

    @classmethod
    def of(cls, sets: list[int], min_cell: int, dense_share: float = DENSE_SHARE) -> Family:
        incidence = Incidence.of(sets, dense_share)
        gram = incidence.gram()
        small = incidence.sizes < min_cell
        if len(sets) == 0 or not small.any():
            return cls(gram, np.zeros((len(sets), 0)))
        candidates = small & (incidence.leverages(gram) > LEVERAGE_CANDIDATE)
        return cls(gram, incidence.columns(candidates))
