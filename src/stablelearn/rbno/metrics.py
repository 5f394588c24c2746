"""Error metrics of arXiv 2512.21319: relative Bochner errors, FOSLS residuals, effectivity."""

from __future__ import annotations

from typing import Any

import numpy as np

from stablelearn._conventions import check_array, check_choice

from .fosls import FOSLSProblem


def relative_error(problem: FOSLSProblem, x: Any, x_ref: Any, kind: str = "X", mu: Any = None) -> float:
    """``sqrt(sum_i ||x_i - ref_i||^2 / sum_i ||ref_i - lift||^2)`` in the X or L (L2 x L2) norm.

    The denominator uses the homogeneous parts, as the paper's errors are of (sigma°, u°).
    ``mu`` (one row per field): each sample's own X product where it is parameter-weighted
    (elasticity's energy norm); ignored otherwise. For elasticity the authors' code measures in the
    energy norm at the mean parameter: pass ``mu=None`` for that (``docs/rbno.md``).
    """
    kind = check_choice(kind, "kind", ("X", "L"))
    x, x_ref = np.atleast_2d(problem.check_x(x, True)), np.atleast_2d(problem.check_x(x_ref, True, "x_ref"))
    if x.shape != x_ref.shape:
        raise ValueError(f"x and x_ref must have the same shape, got {x.shape} and {x_ref.shape}")
    e = problem.norm(x - x_ref, mu=mu, kind=kind)
    return float(np.sqrt(np.sum(e ** 2) / np.sum(problem.norm(x_ref - problem.lift, mu=mu, kind=kind) ** 2)))


def fosls_values(problem: FOSLSProblem, mu: Any, fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """FOSLS value ``J(x_i; mu_i)`` of every field set in ``fields`` (one assembly per parameter)."""
    mu = problem.check_mu(mu)
    fields = {k: problem.check_x(X, True, f"fields[{k!r}]") for k, X in fields.items()}
    for k, X in fields.items():
        if np.atleast_2d(X).shape[0] != len(mu):
            raise ValueError(f"fields[{k!r}] must have one row per parameter ({len(mu)}), got {np.atleast_2d(X).shape[0]}")
    fields = {k: np.atleast_2d(X) for k, X in fields.items()}
    out = {k: np.zeros(len(mu)) for k in fields}
    for i, m in enumerate(mu):
        K, F, c0 = problem.assemble(m)
        for k, X in fields.items():
            x = X[i]
            out[k][i] = x @ (K @ x) - 2 * F @ x + c0
    return out


def effectivity(problem: FOSLSProblem, x: Any, x_ref: Any, estimate: Any, mu: Any = None) -> np.ndarray:
    """``rho_i = ||x_i - ref_i||_X / eta_i`` (the paper's ratio; the effectivity index is 1/rho)."""
    x, x_ref = np.atleast_2d(problem.check_x(x, True)), np.atleast_2d(problem.check_x(x_ref, True, "x_ref"))
    eta = check_array(estimate, "estimate", ndim=1)
    if x.shape != x_ref.shape or len(eta) != len(x):
        raise ValueError(f"x, x_ref and estimate must have matching rows, got {x.shape}, {x_ref.shape}, {eta.shape}")
    if np.any(eta <= 0):
        raise ValueError("estimate must be > 0 for every field")
    return problem.norm(x - x_ref, mu=mu) / eta
