"""Analytic stability laws as plain functions (docs/stability.md, "Laws").

All are standard derivations or edge-of-stability anchors from the literature; which of them the paper
(arXiv 2512.21208) states is reconstructed: its abstract names "a discrete CFL-type condition", "parametric
and temporal stability laws for SGD" and (v3) "mean-square contraction", but its formulas could not be read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from stablelearn._conventions import check_array, check_float

__all__ = [
    "GROWTH_VERDICTS",
    "adam_edge",
    "classify_growth",
    "contraction_factor",
    "dissipative_factor",
    "finite_time_exponents",
    "gd_max_step",
    "growth_exponent",
    "heavy_ball_max_step",
    "horizon_verdict",
    "mean_square_factor",
    "mean_square_step",
    "residual_max_step",
]

GROWTH_VERDICTS = ("decaying", "bounded", "subexponential growth", "exponential growth")


def gd_max_step(lam_max: float) -> float:
    """Largest stable GD step 2 / lambda_max(H) (exact 'iff' for quadratic losses)."""
    return 2.0 / check_float(lam_max, "lam_max", low=0.0, low_inclusive=False)


def heavy_ball_max_step(lam_max: float, beta: float) -> float:
    """Largest stable heavy-ball step (2 + 2 beta) / lambda_max for momentum 0 <= beta < 1."""
    beta = check_float(beta, "beta", low=0.0)
    if beta >= 1:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    return (2.0 + 2.0 * beta) / check_float(lam_max, "lam_max", low=0.0, low_inclusive=False)


def adam_edge(eta: float, beta1: float = 0.9) -> float:
    """Adam's edge of stability for the preconditioned sharpness lambda_max(P^-1 H):
    (2 + 2 beta1) / ((1 - beta1) eta), i.e. 38/eta at beta1 = 0.9."""
    beta1 = check_float(beta1, "beta1", low=0.0)
    if beta1 >= 1:
        raise ValueError(f"beta1 must be in [0, 1), got {beta1}")
    return (2.0 + 2.0 * beta1) / ((1.0 - beta1) * check_float(eta, "eta", low=0.0, low_inclusive=False))


def residual_max_step(mu: float, L: float) -> float:
    """Discrete CFL step bound 2 mu / L^2 for x_{k+1} = x_k + h f(x_k) with f mu-dissipative and L-Lipschitz
   ; 0 when mu <= 0 (no step is guaranteed to contract)."""
    mu = check_float(mu, "mu")
    L = check_float(L, "L", low=0.0, low_inclusive=False)
    return max(2.0 * mu / L**2, 0.0)


def dissipative_factor(h: float, mu: float, L: float) -> float:
    """Squared contraction factor 1 - 2 h mu + h^2 L^2 of a forward-Euler step of a mu-dissipative,
    L-Lipschitz field; the same form bounds SGD's mean-square factor."""
    h = check_float(h, "h", low=0.0, low_inclusive=False)
    L = check_float(L, "L", low=0.0)
    return 1.0 - 2.0 * h * check_float(mu, "mu") + (h * h) * (L * L)  # products overflow to inf, not an error


def contraction_factor(eta: float, lam_min: float, lam_max: float) -> float:
    """||I - eta H|| = max(|1 - eta lambda_min|, |1 - eta lambda_max|): the local per-step
    bound on parameter perturbations; < 1 iff 0 < eta < 2/lambda_max when lambda_min > 0."""
    eta = check_float(eta, "eta", low=0.0, low_inclusive=False)
    lo, hi = check_float(lam_min, "lam_min"), check_float(lam_max, "lam_max")
    if lo > hi:
        raise ValueError(f"lam_min ({lo}) must be <= lam_max ({hi})")
    return max(abs(1 - eta * lo), abs(1 - eta * hi))


def _batch_hessians(batch_hessians: object) -> np.ndarray:
    h = check_array(batch_hessians, "batch_hessians", ndim=3)
    if h.shape[1] != h.shape[2] or h.shape[0] == 0:
        raise ValueError(f"batch_hessians must have shape (m, d, d) with m >= 1, got {h.shape}")
    if not np.allclose(h, np.swapaxes(h, 1, 2), rtol=1e-10, atol=1e-12 * max(float(np.abs(h).max()), 1e-300)):
        raise ValueError("batch_hessians must be symmetric matrices H_B")
    return h


def _second_moment(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = h.shape[1]
    mean = h.mean(axis=0)
    kron = np.einsum("bij,bkl->ikjl", h, h).reshape(d * d, d * d) / h.shape[0]
    return mean, kron


def _ms_radius(eta: float, mean: np.ndarray, kron: np.ndarray) -> float:
    d = mean.shape[0]
    eye = np.eye(d)
    m = np.eye(d * d) - eta * (np.kron(mean, eye) + np.kron(eye, mean)) + eta**2 * kron
    return float(np.max(np.abs(np.linalg.eigvalsh((m + m.T) / 2))))


def mean_square_factor(eta: float, batch_hessians: np.ndarray) -> float:
    """rho_ms = rho(I - eta (H x I + I x H) + eta^2 E[H_B x H_B]):
    E||delta_{t+1}||^2 <= rho_ms E||delta_t||^2 under synchronous coupling. ``batch_hessians``: (m, d, d),
    the mini-batch Hessians H_B, sampled uniformly (their mean is H)."""
    eta = check_float(eta, "eta", low=0.0, low_inclusive=False)
    return _ms_radius(eta, *_second_moment(_batch_hessians(batch_hessians)))


def mean_square_step(batch_hessians: np.ndarray, *, rtol: float = 1e-6) -> float:
    """The mean-square threshold eta_ms where rho_ms(eta) = 1, by bisection; the bracket starts at
    2/lambda_max(E[H_B]) and doubles until rho_ms > 1 (docs/stability.md, "Laws", mean-square law).

    Parameters
    ----------
    batch_hessians : array of shape (m, d, d)
        Symmetric mini-batch Hessians whose mean has a positive top eigenvalue.
    rtol : float
        Relative width of the final bracket, in (0, 1).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For ``rtol`` outside (0, 1), or a mean Hessian without positive curvature (then no step contracts:
        rho_ms >= 1 for every eta > 0).
    """
    rtol = check_float(rtol, "rtol", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    h = _batch_hessians(batch_hessians)
    mean, kron = _second_moment(h)
    top = float(np.linalg.eigvalsh(mean)[-1])
    if not top > 0:
        raise ValueError(f"batch_hessians: the mean Hessian must have a positive top eigenvalue, got {top:.3g} (no "
                         "step size contracts in mean square)")
    lo, hi = 0.0, 2.0 / top
    for _ in range(200):
        if _ms_radius(hi, mean, kron) > 1.0:
            break
        lo, hi = hi, 2 * hi
    else:  # pragma: no cover - rho_ms grows like eta^2 once eta^2 E[H_B x H_B] dominates
        raise ValueError("batch_hessians: rho_ms stays <= 1 for every step size tried")
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _ms_radius(mid, mean, kron) <= 1.0 else (lo, mid)
    return 0.5 * (lo + hi)


def _norms(norms: Sequence[float] | np.ndarray) -> np.ndarray:
    a = check_array(norms, "norms", finite=False).reshape(-1)
    if a.size < 2:
        raise ValueError(f"norms must hold at least 2 values ||Phi(t,0)||, t = 0..T, got {a.size}")
    if np.isnan(a).any():
        raise ValueError("norms contains NaN")
    if (a < 0).any():
        raise ValueError("norms must be >= 0")
    if a[0] == 0:
        raise ValueError("norms[0] must be > 0 (the initial perturbation)")
    return a


def finite_time_exponents(norms: Sequence[float] | np.ndarray) -> np.ndarray:
    """chi_t = (1/t) log(||Phi(t,0)|| / ||Phi(0,0)||) for t = 1..T."""
    a = _norms(norms)
    with np.errstate(divide="ignore"):
        return np.log(a[1:] / a[0]) / np.arange(1, a.size)


def growth_exponent(norms: Sequence[float] | np.ndarray) -> float:
    """The finite-time stability exponent chi_T = (1/T) log(||Phi(T,0)|| / ||Phi(0,0)||)."""
    return float(finite_time_exponents(norms)[-1])


def classify_growth(norms: Sequence[float] | np.ndarray, *, tol: float = 1e-3, flat: float = 0.02) -> str:
    """Three-way (+ exponential) verdict on a window of norms ||Phi(t,0)||, t = 0..T.

    - ``"decaying"``: chi_T < -tol;
    - ``"exponential growth"``: chi_T > tol and the sup grows faster over the last doubling of the horizon
      than over the one before (log S(T) - log S(T/2) >= 1.5 (log S(T/2) - log S(T/4))), or a norm is inf;
    - ``"bounded"``: the running sup S(T) = max_{t<=T} ||Phi(t,0)|| is flat over the last doubling
      (S(T) <= (1 + flat) S(T/2));
    - ``"subexponential growth"`` otherwise: e.g. the Jordan block, ||A^T|| ~ T, whose exponent tends to 0
      (v3: a nonpositive exponent is not boundedness). A Jordan-type growth is never called bounded.
    """
    a = _norms(norms)
    tol = check_float(tol, "tol", low=0.0, low_inclusive=False)
    flat = check_float(flat, "flat", low=0.0, low_inclusive=False)
    if np.isinf(a).any():
        return "exponential growth"
    chi = growth_exponent(a)
    if chi < -tol:
        return "decaying"
    sup = np.maximum.accumulate(a)
    T = a.size - 1
    return horizon_verdict(sup[[T // 4, T // 2, T]], grows=chi > tol and T >= 4, flat=flat)


def horizon_verdict(sups: Sequence[float] | np.ndarray, *, grows: bool = True, flat: float = 0.02) -> str:
    """Verdict from a sup-norm (or sqrt of a sup-energy c2) measured on three doubling horizons T/4, T/2, T
   : flat over the last doubling = "bounded"; accelerating growth (last log-gain
    >= 1.5x the previous, and ``grows``) = "exponential growth"; else "subexponential growth"."""
    s = check_array(sups, "sups", finite=False)
    if s.shape != (3,) or not np.all(s > 0):
        raise ValueError(f"sups must be 3 positive values (horizons T/4, T/2, T), got {s}")
    if np.isinf(s).any():
        return "exponential growth"
    if s[2] <= (1 + flat) * s[1]:
        return "bounded"
    d1, d2 = math.log(s[2] / s[1]), math.log(s[1] / s[0])
    return "exponential growth" if grows and d1 >= 1.5 * d2 else "subexponential growth"
