"""Proper orthogonal decomposition in the X inner product (spec 3a, method of snapshots)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class PODBasis:
    """Result of :func:`pod`.

    Attributes
    ----------
    modes : (ndofs, r) array, columns orthonormal in the product used (``V^T M V = I``).
    eigenvalues : all eigenvalues of the snapshot Gram matrix ``S M S^T``, descending (>= 0).
    n_snapshots : number of snapshots N_s.
    """

    modes: np.ndarray
    eigenvalues: np.ndarray
    n_snapshots: int

    @property
    def r(self) -> int:
        return self.modes.shape[1]

    def tail(self, r: int | None = None) -> float:
        """``sum_{k > r} lambda_k / N_s``: the mean squared X projection error of the snapshots."""
        r = self.r if r is None else r
        if not 0 <= r <= len(self.eigenvalues):
            raise ValueError(f"r must be in [0, {len(self.eigenvalues)}]; got {r}")
        return float(self.eigenvalues[r:].sum() / self.n_snapshots)


def pod(snapshots: np.ndarray, product: sp.spmatrix | np.ndarray, r: int) -> PODBasis:
    """POD of ``snapshots`` (N_s, ndofs) in the inner product ``product`` (ndofs, ndofs) (spec 3a).

    Method of snapshots without mean subtraction: ``G = S M S^T``, ``G w_k = lambda_k w_k``,
    ``V = S^T W_r Lambda_r^{-1/2}``. Pass homogeneous parts (snapshot minus lift) so every mode
    satisfies the homogeneous essential boundary conditions.
    """
    S = np.asarray(snapshots, dtype=float)
    if S.ndim != 2:
        raise ValueError(f"snapshots must be a 2-D array (N_s, ndofs); got shape {S.shape}")
    if not np.all(np.isfinite(S)):
        raise ValueError("snapshots must be finite; got NaN or inf")
    if getattr(product, "shape", None) != (S.shape[1], S.shape[1]):
        raise ValueError(f"product must be a ({S.shape[1]}, {S.shape[1]}) matrix; got shape {getattr(product, 'shape', None)}")
    if not isinstance(r, (int, np.integer)) or r < 1:
        raise ValueError(f"r must be a positive integer; got {r!r}")
    if r > S.shape[0]:
        raise ValueError(f"r = {r} is larger than the number of snapshots {S.shape[0]}")
    G = S @ (product @ S.T)
    G = 0.5 * (G + G.T)
    lam, W = np.linalg.eigh(G)
    lam, W = lam[::-1], W[:, ::-1]
    if lam[r - 1] <= 1e-13 * max(lam[0], 1e-300):
        raise ValueError(f"r = {r} exceeds the numerical rank of the snapshots (lambda_r/lambda_1 = {lam[r - 1] / lam[0]:.2e})")
    V = S.T @ (W[:, :r] / np.sqrt(lam[:r]))
    return PODBasis(modes=V, eigenvalues=np.maximum(lam, 0.0), n_snapshots=S.shape[0])
