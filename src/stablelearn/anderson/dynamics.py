"""AA as a variable-mass second-order ODE: the high-resolution coefficients of spec section 2.3 [D].

With beta_j = -gamma (newest first, j = 1..m_k) the AA step is a momentum step, and its
high-resolution limit (time t_k = k sqrt(h)) is

    M(t) X'' + c(t) X' + b(t) sqrt(h) Hess(phi) X' + grad phi(X) = 0,
    M = (1 + sum_j (2j - 1) beta_j) / 2,   c = (1 - beta_bar) / sqrt(h),   b = beta_bar,

with beta_bar = sum_j beta_j. The energy E = phi - phi* + M |X'|^2 / 2 obeys
dE/dt = (M'/2 - c) |X'|^2 - b sqrt(h) X'^T Hess(phi) X': a growing mass is negative damping.
The normalisation is the spec's derivation; the paper's could not be read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._conventions import check_float


def effective_mass(gamma: np.ndarray) -> float:
    """M = (1 + sum_j (2j - 1) beta_j) / 2 with beta = -gamma newest first (``gamma`` oldest first,
    as in ``StepInfo.gamma``); 1/2 for a plain step (empty gamma)."""
    beta = -np.asarray(gamma, dtype=float)[::-1]
    return 0.5 * (1.0 + float(np.sum((2 * np.arange(1, beta.size + 1) - 1) * beta)))


@dataclass(frozen=True)
class HighResolutionCoefficients:
    """Mass M, damping c and Hessian-damping weight b of the high-resolution ODE (spec 2.3)."""

    mass: float
    damping: float
    hessian_damping: float


def high_resolution_coefficients(gamma: np.ndarray, h: float) -> HighResolutionCoefficients:
    """The ODE coefficients of one AA step with least-squares coefficients ``gamma`` and step ``h``."""
    h = check_float(h, "h", low=0.0, low_inclusive=False)
    beta_bar = -float(np.sum(gamma))
    return HighResolutionCoefficients(effective_mass(gamma), (1.0 - beta_bar) / np.sqrt(h), beta_bar)
