"""ARS-OPT and PARS-OPT (arXiv 2512.21241, Algorithm 1; spec sections 2 and 3).

Accelerated random search on the ray objective f(theta): a main sequence theta_t and a momentum sequence
m_t; gradients are estimated at the lookahead theta~_t = normalize((1 - alpha_t) theta_t + alpha_t m_t) by
q - s single-query sign probes (Eq. 7) plus s + 1 directional derivatives; the biased g1 (Eq. 11, norm
clipped to g_max) drives theta, the unbiased g2 (Eq. 13) drives m. With surrogates (PARS-OPT) the first s
basis vectors are the orthonormalised transfer priors and the prior quality D_hat_t sets zeta_t
(Alg. 1 line 12). Everything the spec tags [CODE] (renormalising theta and m, D_hat <= 0.6, the
lookahead fallback, step halving without line search, skip-on-inf) is the default here.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from .base import Attack, Probe, Sample
from .opt import _count, _positive, _surrogates
from .raysearch import (directional_derivative, init_direction, local_bs, normalize, orthonormal_basis,
                        sign_probes, surrogate_priors)

__all__ = ["ARSOPT", "PARSOPT", "ARSOPTSubspace", "PRESETS", "ars_schedule"]

#: Spec section 2 table ([CODE] configures/PARS_OPT.json) and section 7 item 6. ``q=None`` = d // 10.
PRESETS: dict[str, dict[str, float | int | None]] = {
    "cifar": dict(lr=2.0, g_max=0.1, q=200, eps=1e-3, tol_grad=2e-6, tol_step=2e-6),
    "imagenet": dict(lr=0.4, g_max=1.0, q=200, eps=1e-3, tol_grad=2e-6, tol_step=1e-4),
    "imagenet-targeted": dict(lr=0.2, g_max=1.0, q=200, eps=1e-3, tol_grad=2e-6, tol_step=1e-4),
    "small": dict(lr=2.0, g_max=0.1, q=None, eps=1e-3, tol_grad=2e-6, tol_step=2e-6),
}


def ars_schedule(d: int, q: int, lr: float, s: int = 0, D_hat: float = 0.0,
                 gamma: float | None = None) -> tuple[float, float, float]:
    """One step of the (P)ARS constants (Alg. 1 line 12, spec sections 2-3) -> ``(zeta, alpha, gamma')``.

    q_e = 1 + 2(q - s - 1)/pi; zeta = [D + (1-D) q_e/(d-s)] / (L [D + (1-D)(d-s)/q_e]) with L = 1/lr;
    alpha is the positive root of alpha^2 = zeta gamma (1 - alpha); gamma' = (1 - alpha) gamma;
    ``gamma=None`` means gamma_0 = L.
    """
    L = 1.0 / lr
    gamma = L if gamma is None else gamma
    qe = 1.0 + 2.0 * (q - s - 1) / math.pi
    zeta = (D_hat + (1 - D_hat) * qe / (d - s)) / (L * (D_hat + (1 - D_hat) * (d - s) / qe))
    k = zeta * gamma
    alpha = (-k + math.sqrt(k * k + 4 * k)) / 2
    return zeta, alpha, (1 - alpha) * gamma


class ARSOPT(Attack):
    """ARS-OPT (spec section 2); with ``surrogates`` it is PARS-OPT (section 3).

    Parameters (defaults = the ``"cifar"`` preset, [CODE]): ``lr`` = 1/L_hat = gamma_0^-1, ``g_max`` clip of
    g1, ``q`` probes per iteration (``None``: d // 10, the ``"small"`` preset), ``eps`` finite-difference size
    on the sphere, ``tol_grad`` tolerance of the lookahead/DD/D_hat searches, ``tol_step`` of the update
    search, ``init_dirs`` random initial directions (init tol 1e-3), ``D_max`` clamp of D_hat (0.6, [CODE]
    only), ``lookahead=False`` the ablation alpha == 0 (not in the paper, spec section 3: plain projected
    step from theta_t, no momentum sequence), ``subspace=(h, w)`` the "-S" sampling of random vectors at low
    resolution (spec section 3). Per-sample ``info`` holds the histories of D_hat, zeta and alpha.
    """

    name = "ARS-OPT"

    def __init__(self, *, surrogates: Sequence[torch.nn.Module] | None = None, lr: float = 2.0,
                 g_max: float = 0.1, q: int | None = 200, eps: float = 1e-3, tol_grad: float = 2e-6,
                 tol_step: float = 2e-6, init_dirs: int = 100, D_max: float = 0.6, lookahead: bool = True,
                 subspace: tuple[int, int] | None = None, max_iter: int = 100_000) -> None:
        self.surrogates = _surrogates(surrogates, required=False)
        self.lr = _positive("lr", lr)
        self.g_max = _positive("g_max", g_max)
        self.q = None if q is None else _count("q", q, low=len(self.surrogates) + 2)
        self.eps = _positive("eps", eps)
        self.tol_grad = _positive("tol_grad", tol_grad)
        self.tol_step = _positive("tol_step", tol_step)
        self.init_dirs = _count("init_dirs", init_dirs)
        if not 0 <= D_max < 1:
            raise ValueError(f"D_max must be in [0, 1), got {D_max!r}")
        self.D_max = float(D_max)
        self.lookahead = bool(lookahead)
        if subspace is not None and (len(subspace) != 2 or min(subspace) < 1):
            raise ValueError(f"subspace must be None or (h, w) with positive ints, got {subspace!r}")
        self.subspace = None if subspace is None else (int(subspace[0]), int(subspace[1]))
        self.max_iter = _count("max_iter", max_iter)

    @classmethod
    def from_preset(cls, preset: str, **overrides: object) -> "ARSOPT":
        """Build from a named preset of :data:`PRESETS` (``"cifar"``, ``"imagenet"``, ``"imagenet-targeted"``,
        ``"small"``), keyword arguments overriding it."""
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
        return cls(**{**PRESETS[preset], **overrides})

    def _subspace_for(self, shape: tuple[int, ...]) -> tuple[int, int] | None:
        return self.subspace

    def _attack(self, s: Sample) -> Probe:
        theta, f = yield from init_direction(s, self.init_dirs)
        if theta is None:
            return
        S, d = len(self.surrogates), s.d
        q = self.q if self.q is not None else max(S + 2, d // 10)
        m, gamma, prev_norm2 = theta.copy(), 1.0 / self.lr, np.inf
        hist = s.info.setdefault("history", {"D_hat": [], "zeta": [], "alpha": [], "f": []})
        for _ in range(self.max_iter):
            # priors and their quality at theta_t (Alg. 1 lines 5-11)
            priors = surrogate_priors(s, self.surrogates, theta, f) if S else None
            P, U = orthonormal_basis(s.rng, s.shape, q - S, priors, self._subspace_for(s.shape))
            D_hat = 0.0
            if S and np.isfinite(prev_norm2):  # D_hat_0 = 0 without spending the s searches
                num = 0.0
                for p in P:
                    num += (yield from directional_derivative(s, theta, f, p, self.eps, self.tol_grad)) ** 2
                D_hat = min(num / prev_norm2, self.D_max)
            zeta, alpha, gamma_next = ars_schedule(d, q, self.lr, S, D_hat, gamma)
            # lookahead point (line 13-14) with the [CODE] fallback
            if self.lookahead:
                gamma = gamma_next
                y = normalize((1 - alpha) * theta + alpha * m)
                fy = yield from local_bs(s, y, f, self.tol_grad, expand=True)
                if not np.isfinite(fy):
                    y, fy, m = theta, f, theta.copy()
            else:
                alpha, y, fy = 0.0, theta, f
            hist["D_hat"].append(D_hat)
            hist["zeta"].append(zeta)
            hist["alpha"].append(alpha)
            # gradient estimates at the lookahead (lines 15-20)
            signs = yield from sign_probes(s, y, fy, U, self.eps)
            v = normalize(signs @ U)
            a_v = yield from directional_derivative(s, y, fy, v, self.eps, self.tol_grad)
            a_p = []
            for p in P:
                a_p.append((yield from directional_derivative(s, y, fy, p, self.eps, self.tol_grad)))
            prior_part = np.asarray(a_p) @ P if S else 0.0
            qe = 1.0 + 2.0 * (q - S - 1) / math.pi
            g1 = a_v * v + prior_part
            n1 = np.linalg.norm(g1)
            if n1 > self.g_max:
                g1 = g1 * (self.g_max / n1)
            g2 = (d - S) / qe * a_v * v + prior_part
            norm2 = float(np.sum(np.square(a_p)) + (d - S) / qe * a_v ** 2 + 1e-10)
            # update of theta (fixed step 1/L_hat, halved only to stay adversarial at radius f(y))
            eta = self.lr
            while True:
                nt = normalize(y - eta * g1)
                nf = yield from local_bs(s, nt, fy, self.tol_step, expand=False)
                if not np.isfinite(nf) and eta > 1e-4:
                    eta /= 2
                else:
                    break
            prev_norm2 = norm2
            if not np.isfinite(nf):
                continue  # skip: queries spent, theta and m unchanged
            if self.lookahead:
                m = normalize(m - (zeta / alpha) * g2)
            theta, f = nt, nf
            hist["f"].append(f)


class PARSOPT(ARSOPT):
    """PARS-OPT (spec section 3): ARS-OPT with ``surrogates`` (a non-empty list of differentiable
    ``torch.nn.Module``; an ``input_size=(H, W)`` attribute makes their inputs bilinearly resized)."""

    name = "PARS-OPT"

    def __init__(self, surrogates: Sequence[torch.nn.Module], **kw: object) -> None:
        _surrogates(surrogates, required=True)
        super().__init__(surrogates=surrogates, **kw)


class ARSOPTSubspace(ARSOPT):
    """ARS-OPT-S / PARS-OPT-S (spec section 3): random vectors drawn at ``subspace=(h, w)`` and bilinearly
    upsampled. Default [INF, spec section 8]: side/4 per axis (the [CODE] factor-4 rule; the paper's
    56x56 for 224-pixel inputs), resolved per input shape."""

    name = "ARS-OPT-S"

    def __init__(self, *, subspace: tuple[int, int] | None = None, factor: int = 4, **kw: object) -> None:
        super().__init__(subspace=subspace, **kw)
        self.factor = _count("factor", factor)

    def _subspace_for(self, shape: tuple[int, ...]) -> tuple[int, int]:
        if self.subspace is not None:
            return self.subspace
        if len(shape) != 3:
            raise ValueError(f"ARSOPTSubspace needs (C, H, W) inputs, got shape {shape}")
        return (max(1, shape[1] // self.factor), max(1, shape[2] // self.factor))
