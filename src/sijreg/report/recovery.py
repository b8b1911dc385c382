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

import numpy as np
from numpy.typing import NDArray

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


def _columns(signatures: NDArray[np.uint8], count: int) -> Iterator[NDArray[np.float32]]:
    """Chunks of M's columns, one atom a row (0/1 entries)."""
    for start in range(0, len(signatures), CHUNK):
        chunk = signatures[start : start + CHUNK]
        yield np.unpackbits(chunk, axis=1, bitorder="little")[:, :count].astype(np.float32)


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
    def of(cls, sets: list[int], min_cell: int) -> Family:
        signatures, sizes = atoms(sets)
        count = len(sets)
        gram = np.zeros((count, count))
        for chunk in _columns(signatures, count):
            gram += chunk.T @ chunk  # at most CHUNK atoms: every partial sum exact in float32
        small = sizes < min_cell
        if count == 0 or not small.any():
            return cls(gram, np.zeros((count, 0)))
        span = Span.of(gram, np.arange(count))
        weights = span.basis * span.scale[:, None]
        found = []
        for chunk in _columns(signatures[small], count):
            columns = chunk.astype(np.float64)
            leverage = ((columns @ weights) ** 2).sum(axis=1)
            found.append(columns[leverage > LEVERAGE_CANDIDATE])
        return cls(gram, np.concatenate(found).T)
