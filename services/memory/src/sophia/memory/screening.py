"""A first pass over a large namespace on int8 copies of its vectors, with a bound on each estimate's error.

At 100k memories a namespace's float32 vectors are 150 MB: one exact matrix-vector product reads all of it
and took 12-18 ms on the development machine, most of a recall's budget. An int8 copy (a quarter of the
bytes, scored by NumKong's SIMD int8 dot-product kernels) estimates every similarity in ~2.5 ms. Each row
keeps, beside its codes, the norm of its rounding error, so the estimate's error is bounded without
assumptions about the data (Cauchy-Schwarz):

    |v·q - v̂·q̂| <= |(v - v̂)·q| + |v̂·(q - q̂)| <= ||v - v̂||·||q|| + ||v̂||·||q - q̂||

where v̂ and q̂ are the dequantised codes. The index then scores exactly (float32) only the rows whose best
possible fused score reaches the worst possible score of the k-th best row, so a recall returns the same
memories in the same order as scoring every row exactly.
"""

from __future__ import annotations

from typing import Any

import numkong
import numpy as np
import numpy.typing as npt

from sophia.kit.embeddings import Vectors

Floats = npt.NDArray[np.floating[Any]]
LEVELS = 127  # int8 codes in -127..127: symmetric, so a code's sign is its value's


class Codes:
    """int8 codes of a shard's vectors, row for row, each with its scale and its rounding error's norm."""

    def __init__(self, dimensions: int, capacity: int) -> None:
        self._codes = np.zeros((capacity, dimensions), dtype=np.int8)
        self._scale = np.ones(capacity, dtype=np.float32)  # code = vector * scale, rounded
        self._error = np.zeros(capacity, dtype=np.float32)  # ||v - v̂||
        self._norm = np.zeros(capacity, dtype=np.float32)  # ||v̂||

    def set(self, row: int, vector: Vectors) -> None:
        codes, scale = _quantise(vector)
        restored = codes / scale
        self._codes[row], self._scale[row] = codes, scale
        self._error[row] = np.linalg.norm(vector - restored)
        self._norm[row] = np.linalg.norm(restored)

    def move(self, source: int, target: int) -> None:
        for column in (self._codes, self._scale, self._error, self._norm):
            column[target] = column[source]

    def resize(self, capacity: int) -> None:
        self._codes = np.resize(self._codes, (capacity, self._codes.shape[1]))
        self._scale = np.resize(self._scale, capacity)
        self._error = np.resize(self._error, capacity)
        self._norm = np.resize(self._norm, capacity)

    def estimate(self, query: Vectors, count: int) -> tuple[Floats, Floats]:
        """For the first `count` rows: each one's estimated dot product with `query` and a bound on its error."""
        codes, scale = _quantise(query)
        restored = codes / scale
        dots = np.asarray(numkong.cdist(codes[None, :], self._codes[:count], "dot", out_dtype="float32"))[0]
        estimate: Floats = dots / (self._scale[:count] * scale)
        query_error = float(np.linalg.norm(query - restored))
        # float32 rounding of the products themselves: far below the quantisation error, bounded all the same.
        slack = 1e-5 * (1.0 + float(np.linalg.norm(query)))
        bound: Floats = self._error[:count] * float(np.linalg.norm(query)) + self._norm[:count] * query_error + slack
        return estimate, bound


def _quantise(vector: Vectors) -> tuple[npt.NDArray[np.int8], float]:
    peak = float(np.abs(vector).max())
    scale = LEVELS / peak if peak > 0 else 1.0
    return np.rint(vector * scale).astype(np.int8), scale
