"""The line-search ray attacks: OPT, Sign-OPT, Prior-Sign-OPT, Prior-OPT (spec sections 3 and 7).

They share one loop (:class:`LineSearchRayAttack`): estimate a gradient of f at theta_t, then the
doubling/quartering line search of Sign-OPT; when the step size collapses below 1e-4 it is reset to 1
and the finite-difference size beta shrinks x0.1 (attackbox rule, stop once beta < ``beta_min``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .base import Attack, Probe, Sample
from .raysearch import (directional_derivative, init_direction, line_search, local_bs, normalize,
                        orthonormal_basis, sign_probes, surrogate_priors)

__all__ = ["OPT", "SignOPT", "PriorSignOPT", "PriorOPT", "LineSearchRayAttack"]


def _positive(name: str, v: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    return float(v)


def _count(name: str, v: int, low: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
    return int(v)


def _surrogates(surrogates: Sequence[torch.nn.Module] | None, required: bool) -> list[torch.nn.Module]:
    sur = list(surrogates or [])
    if required and not sur:
        raise ValueError("surrogates must be a non-empty list of differentiable torch.nn.Module surrogates")
    for m in sur:
        if not isinstance(m, torch.nn.Module) or not list(m.parameters()):
            raise TypeError(f"each surrogate must be a torch.nn.Module with parameters, got {type(m).__name__}")
        m.eval()
    return sur


class LineSearchRayAttack(Attack):
    """Common loop of OPT-family attacks; subclasses define ``_gradient(s, theta, f, beta)``."""

    def __init__(self, *, q: int, alpha: float = 0.2, beta: float = 1e-3, init_dirs: int = 100,
                 beta_min: float = 1e-8, max_iter: int = 100_000) -> None:
        self.q = _count("q", q)
        self.alpha = _positive("alpha", alpha)
        self.beta = _positive("beta", beta)
        self.init_dirs = _count("init_dirs", init_dirs)
        self.beta_min = _positive("beta_min", beta_min)
        self.max_iter = _count("max_iter", max_iter)

    def _gradient(self, s: Sample, theta: np.ndarray, f: float, beta: float) -> Probe:  # pragma: no cover
        raise NotImplementedError

    def _attack(self, s: Sample) -> Probe:
        theta, f = yield from init_direction(s, self.init_dirs)
        if theta is None:
            return
        alpha, beta = self.alpha, self.beta
        for _ in range(self.max_iter):
            g = yield from self._gradient(s, theta, f, beta)
            theta, f, alpha = yield from line_search(s, theta, f, g, alpha, beta / 500)
            if alpha < 1e-4:
                alpha, beta = 1.0, beta * 0.1
                if beta < self.beta_min:
                    return


class OPT(LineSearchRayAttack):
    """OPT (Cheng et al., ICLR'19; spec section 7): RGF estimate sum_j (f(theta + beta u_j) - f) / beta u_j / q
    over ``q`` normalised Gaussian u_j, each f by a local binary search (tol beta/500), then line search."""

    name = "OPT"

    def __init__(self, *, q: int = 20, alpha: float = 0.2, beta: float = 1e-3, **kw: int | float) -> None:
        super().__init__(q=q, alpha=alpha, beta=beta, **kw)

    def _gradient(self, s: Sample, theta: np.ndarray, f: float, beta: float) -> Probe:
        g = np.zeros(s.d)
        for _ in range(self.q):
            u = normalize(s.rng.standard_normal(s.d))
            f2 = yield from local_bs(s, normalize(theta + beta * u), f, beta / 500, expand=True)
            if np.isfinite(f2):
                g += (f2 - f) / beta * u
        return g / self.q


class SignOPT(LineSearchRayAttack):
    """Sign-OPT (Cheng et al., ICLR'20; spec sections 1 and 7): g = mean_j sign_j u_j over ``q`` normalised
    Gaussian u_j, signs from the single-query oracle Eq. 7 (one batch), then line search."""

    name = "Sign-OPT"

    def __init__(self, *, q: int = 200, alpha: float = 0.2, beta: float = 1e-3, **kw: int | float) -> None:
        super().__init__(q=q, alpha=alpha, beta=beta, **kw)

    def _gradient(self, s: Sample, theta: np.ndarray, f: float, beta: float) -> Probe:
        U = normalize(s.rng.standard_normal((self.q, s.d)))
        signs = yield from sign_probes(s, theta, f, U, beta)
        return signs @ U / self.q


class PriorSignOPT(LineSearchRayAttack):
    """Prior-Sign-OPT (Ma et al., ICLR'25; spec section 3): Sign-OPT's sign average over ``q`` orthonormal
    vectors whose first ``s`` span the surrogates' transfer priors."""

    name = "Prior-Sign-OPT"

    def __init__(self, surrogates: Sequence[torch.nn.Module], *, q: int = 200, alpha: float = 0.2,
                 beta: float = 1e-3, **kw: int | float) -> None:
        super().__init__(q=q, alpha=alpha, beta=beta, **kw)
        self.surrogates = _surrogates(surrogates, required=True)

    def _gradient(self, s: Sample, theta: np.ndarray, f: float, beta: float) -> Probe:
        P, U = orthonormal_basis(s.rng, s.shape, self.q - len(self.surrogates),
                                 surrogate_priors(s, self.surrogates, theta, f))
        B = np.concatenate([P, U])
        signs = yield from sign_probes(s, theta, f, B, beta)
        return signs @ B / self.q


class PriorOPT(LineSearchRayAttack):
    """Prior-OPT (Ma et al., ICLR'25; spec section 3): at theta_t, g = a_v v + sum_i a_i p_i with p_i the
    orthonormalised priors, v the normalised sign sum over q - s random vectors orthogonal to them, and a_*
    directional derivatives by binary search (tol ``dd_tol``, 0.01 per the spec); Sign-OPT line search,
    no momentum. The plain sum (no averaging weights) is reconstructed."""

    name = "Prior-OPT"

    def __init__(self, surrogates: Sequence[torch.nn.Module], *, q: int = 200, alpha: float = 0.2,
                 beta: float = 1e-3, dd_tol: float = 0.01, **kw: int | float) -> None:
        super().__init__(q=q, alpha=alpha, beta=beta, **kw)
        self.surrogates = _surrogates(surrogates, required=True)
        self.dd_tol = _positive("dd_tol", dd_tol)

    def _gradient(self, s: Sample, theta: np.ndarray, f: float, beta: float) -> Probe:
        P, U = orthonormal_basis(s.rng, s.shape, self.q - len(self.surrogates),
                                 surrogate_priors(s, self.surrogates, theta, f))
        signs = yield from sign_probes(s, theta, f, U, beta)
        v = normalize(signs @ U)
        g = (yield from directional_derivative(s, theta, f, v, beta, self.dd_tol)) * v
        for p in P:
            g = g + (yield from directional_derivative(s, theta, f, p, beta, self.dd_tol)) * p
        return g
