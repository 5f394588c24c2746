"""Error metrics of spec section 5: relative Bochner errors, FOSLS residuals, effectivity."""

from __future__ import annotations

import numpy as np

from .fosls import FOSLSProblem


def relative_error(problem: FOSLSProblem, x: np.ndarray, x_ref: np.ndarray, kind: str = "X",
                   mu: np.ndarray | None = None) -> float:
    """``sqrt(sum_i ||x_i - ref_i||^2 / sum_i ||ref_i - lift||^2)`` in the X or L (L2 x L2) norm.

    The denominator uses the homogeneous parts, as the paper's errors are of (sigma°, u°).
    ``mu`` (one row per field): each sample's own X product where it is parameter-weighted
    (elasticity's energy norm, spec 2b); ignored otherwise.
    """
    x, x_ref = np.atleast_2d(x), np.atleast_2d(x_ref)
    if x.shape != x_ref.shape:
        raise ValueError(f"x and x_ref must have the same shape; got {x.shape} and {x_ref.shape}")
    e = problem.norm(x - x_ref, mu=mu, kind=kind)
    return float(np.sqrt(np.sum(e ** 2) / np.sum(problem.norm(x_ref - problem.lift, mu=mu, kind=kind) ** 2)))


def fosls_values(problem: FOSLSProblem, mu: np.ndarray, fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """FOSLS value ``J(x_i; mu_i)`` of every field set in ``fields`` (one assembly per parameter)."""
    mu = problem.check_mu(mu)
    out = {k: np.zeros(len(mu)) for k in fields}
    for i, m in enumerate(mu):
        K, F, c0 = problem.assemble(m)
        for k, X in fields.items():
            x = X[i]
            out[k][i] = x @ (K @ x) - 2 * F @ x + c0
    return out


def effectivity(problem: FOSLSProblem, x: np.ndarray, x_ref: np.ndarray, estimate: np.ndarray,
                mu: np.ndarray | None = None) -> np.ndarray:
    """``rho_i = ||x_i - ref_i||_X / eta_i`` (spec section 4; the effectivity index is 1/rho)."""
    return problem.norm(np.atleast_2d(x) - np.atleast_2d(x_ref), mu=mu) / np.asarray(estimate)
