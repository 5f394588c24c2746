"""AA as a variable-mass second-order ODE: the high-resolution coefficients (arXiv 2512.21269, abstract:
"AA converges to a second-order ODE with a variable effective mass"; the derivation below is ours,
docs/anderson.md, "Momentum form").

With beta_j = -gamma (newest first, j = 1..m_k) the AA step is a momentum step, and its
high-resolution limit (time t_k = k sqrt(h)) is

    M(t) X'' + c(t) X' + b(t) sqrt(h) Hess(phi) X' + grad phi(X) = 0,
    M = (1 + sum_j (2j - 1) beta_j) / 2,   c = (1 - beta_bar) / sqrt(h),   b = beta_bar,

with beta_bar = sum_j beta_j. The energy E = phi - phi* + M |X'|^2 / 2 obeys
dE/dt = (M'/2 - c) |X'|^2 - b sqrt(h) X'^T Hess(phi) X': a growing mass is negative damping.
The normalisation is our derivation [derived]; the paper's could not be read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._conventions import check_float


_WEIGHTS = 2.0 * np.arange(1, 65) - 1.0  # (2j - 1), j = 1, 2, ...


def effective_mass(gamma: np.ndarray) -> float:
    """Effective mass ``M = (1 + sum_j (2j - 1) beta_j) / 2`` of one AA step.

    Parameters
    ----------
    gamma : ndarray
        Least-squares coefficients, oldest first (as in ``StepInfo.gamma``); ``beta = -gamma`` newest first.

    Returns
    -------
    float
        ``M``; 1/2 for a plain step (empty ``gamma``).
    """
    g = np.asarray(gamma, dtype=float)
    weights = _WEIGHTS[: g.size] if g.size <= _WEIGHTS.size else 2.0 * np.arange(1, g.size + 1) - 1.0
    return 0.5 * (1.0 - float(g[::-1] @ weights))


@dataclass(frozen=True)
class HighResolutionCoefficients:
    """Mass ``M``, damping ``c`` and Hessian-damping weight ``b`` of the high-resolution ODE
    ``M X'' + c X' + b sqrt(h) Hess(phi) X' + grad phi(X) = 0`` (docs/anderson.md, "Momentum form")."""

    mass: float
    damping: float
    hessian_damping: float


def high_resolution_coefficients(gamma: np.ndarray, h: float) -> HighResolutionCoefficients:
    """The ODE coefficients of one AA step.

    Parameters
    ----------
    gamma : ndarray
        Least-squares coefficients, oldest first.
    h : float
        Step size of the base map (> 0).

    Returns
    -------
    HighResolutionCoefficients
        ``M`` (:func:`effective_mass`), ``c = (1 - beta_bar) / sqrt(h)`` and ``b = beta_bar``.
    """
    h = check_float(h, "h", low=0.0, low_inclusive=False)
    beta_bar = -float(np.sum(gamma))
    return HighResolutionCoefficients(effective_mass(gamma), (1.0 - beta_bar) / np.sqrt(h), beta_bar)
