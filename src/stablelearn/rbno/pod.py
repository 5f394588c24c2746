"""Proper orthogonal decomposition in the X inner product (arXiv 2512.21319, reduced basis;
method of snapshots as in the authors' ``*_pod_basis.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from stablelearn._conventions import check_array, check_int


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
        """Number of modes."""
        return self.modes.shape[1]

    def tail(self, r: int | None = None) -> float:
        """``sum_{k > r} lambda_k / N_s``: the mean squared X projection error of the snapshots."""
        r = self.r if r is None else check_int(r, "r", low=0, high=len(self.eigenvalues))
        return float(self.eigenvalues[r:].sum() / self.n_snapshots)


def pod(snapshots: Any, product: sp.spmatrix | np.ndarray, r: int) -> PODBasis:
    """POD of ``snapshots`` in the inner product ``product`` (arXiv 2512.21319, reduced basis).

    Parameters
    ----------
    snapshots : array (N_s, ndofs)
        Pass homogeneous parts (snapshot minus lift) so every mode satisfies the homogeneous
        essential boundary conditions.
    product : sparse or dense (ndofs, ndofs) symmetric positive definite matrix
        The X Gram matrix (``problem.product()``).
    r : int
        Number of modes, at most ``N_s`` and the numerical rank of the snapshots.

    Returns
    -------
    PODBasis

    Notes
    -----
    Method of snapshots without mean subtraction, as the authors' code: ``G = S M S^T``,
    ``G w_k = lambda_k w_k``, ``V = S^T W_r Lambda_r^{-1/2}``.
    """
    S = check_array(snapshots, "snapshots", ndim=2)
    if getattr(product, "shape", None) != (S.shape[1], S.shape[1]):
        raise ValueError(f"product must be a ({S.shape[1]}, {S.shape[1]}) matrix, "
                         f"got shape {getattr(product, 'shape', None)}")
    r = check_int(r, "r", low=1)
    if r > S.shape[0]:
        raise ValueError(f"r must be at most the number of snapshots {S.shape[0]}, got {r}")
    G = S @ (product @ S.T)
    G = 0.5 * (G + G.T)
    if not np.all(np.isfinite(G)):
        raise ValueError("product must be finite, got a snapshot Gram matrix with NaN or inf")
    lam, W = np.linalg.eigh(G)
    lam, W = lam[::-1], W[:, ::-1]
    if lam[-1] < -1e-8 * max(abs(lam[0]), 1e-300):
        raise ValueError(f"product must be positive semi-definite on the snapshots, got a Gram eigenvalue "
                         f"{lam[-1]:.3g} (largest {lam[0]:.3g})")
    if lam[r - 1] <= 1e-13 * max(lam[0], 1e-300):
        raise ValueError(f"r must not exceed the numerical rank of the snapshots, got r = {r} "
                         f"(lambda_r/lambda_1 = {lam[r - 1] / max(lam[0], 1e-300):.2e})")
    V = S.T @ (W[:, :r] / np.sqrt(lam[:r]))
    return PODBasis(modes=V, eigenvalues=np.maximum(lam, 0.0), n_snapshots=S.shape[0])
