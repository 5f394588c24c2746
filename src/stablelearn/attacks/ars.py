"""ARS-OPT and PARS-OPT (arXiv 2512.21241, Algorithm 1; authors' ``PARS_OPT/pars_opt_l2_norm_attack.py``).

Accelerated random search on the ray objective f(theta): a main sequence theta_t and a momentum sequence
m_t; gradients are estimated at the lookahead theta~_t = normalize((1 - alpha_t) theta_t + alpha_t m_t) by
q - s single-query sign probes (Eq. 7) plus s + 1 directional derivatives; the biased g1 (Eq. 11, norm
clipped to g_max) drives theta, the unbiased g2 (Eq. 13) drives m. With surrogates (PARS-OPT) the first s
basis vectors are the orthonormalised transfer priors and the prior quality D_hat_t sets zeta_t
(Alg. 1 line 12). The details only the authors' code has (renormalising theta and m, D_hat <= 0.6, the
lookahead fallback, step halving without line search, skip-on-inf) are the defaults here; docs/attacks.md
("Provenance") lists them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from stablelearn._conventions import check_bool, check_choice, check_float, check_int

from .base import Attack, Probe, Sample
from .opt import _surrogates, check_surrogates
from .raysearch import (directional_derivative, init_direction, line_search, local_bs, normalize,
                        orthonormal_basis, sign_probes, surrogate_priors)

__all__ = ["ARSOPT", "PARSOPT", "ARSOPTSubspace", "PRESETS", "ars_schedule"]

#: The authors' presets (``configures/PARS_OPT.json``, ``PARS_OPT/attack.py`` L62) and ``"small"`` (ours:
#: ``q=None`` = d // 10, for d of about 1000). ``"digits"`` is ours, chosen by a pilot on digits-32 images
#: disjoint from the evaluation images (docs/attacks.md, "Preset study").
PRESETS: dict[str, dict[str, float | int | None]] = {
    "cifar": dict(lr=2.0, g_max=0.1, q=200, eps=1e-3, tol_grad=2e-6, tol_step=2e-6),
    "imagenet": dict(lr=0.4, g_max=1.0, q=200, eps=1e-3, tol_grad=2e-6, tol_step=1e-4),
    "imagenet-targeted": dict(lr=0.2, g_max=1.0, q=200, eps=1e-3, tol_grad=2e-6, tol_step=1e-4),
    "small": dict(lr=2.0, g_max=0.1, q=None, eps=1e-3, tol_grad=2e-6, tol_step=2e-6),
    "digits": dict(lr=2.0, g_max=0.3, q=100, eps=1e-3, tol_grad=2e-6, tol_step=2e-6),
}


def ars_schedule(d: int, q: int, lr: float, s: int = 0, D_hat: float = 0.0,
                 gamma: float | None = None) -> tuple[float, float, float]:
    """One step of the (P)ARS constants (arXiv 2512.21241 Alg. 1 line 12; authors' L392, L582, L616, L628-630).

    q_e = 1 + 2(q - s - 1)/pi; zeta = [D + (1-D) q_e/(d-s)] / (L [D + (1-D)(d-s)/q_e]) with L = 1/lr;
    alpha is the positive root of alpha^2 = zeta gamma (1 - alpha); gamma' = (1 - alpha) gamma.

    Parameters
    ----------
    d : int
        Input dimension (> s).
    q : int
        Probes per iteration (> s).
    lr : float
        Step size 1/L_hat (> 0).
    s : int, default 0
        Number of priors.
    D_hat : float, default 0.0
        Estimated prior quality, in [0, 1).
    gamma : float, optional
        Current gamma_t (> 0); ``None`` means gamma_0 = L.

    Returns
    -------
    tuple of float
        ``(zeta, alpha, gamma_next)``.
    """
    s = check_int(s, "s", low=0)
    d = check_int(d, "d", low=s + 1)
    q = check_int(q, "q", low=s + 1)
    lr = check_float(lr, "lr", low=0, low_inclusive=False)
    D_hat = check_float(D_hat, "D_hat", low=0, high=1, high_inclusive=False)
    if gamma is not None:
        gamma = check_float(gamma, "gamma", low=0, low_inclusive=False)
    L = 1.0 / lr
    gamma = L if gamma is None else gamma
    qe = 1.0 + 2.0 * (q - s - 1) / math.pi
    zeta = (D_hat + (1 - D_hat) * qe / (d - s)) / (L * (D_hat + (1 - D_hat) * (d - s) / qe))
    k = zeta * gamma
    alpha = (-k + math.sqrt(k * k + 4 * k)) / 2
    return zeta, alpha, (1 - alpha) * gamma


class ARSOPT(Attack):
    """ARS-OPT (arXiv 2512.21241 Sec. 4.1, Alg. 1 with s = 0); with ``surrogates`` it is PARS-OPT (Sec. 4.2).

    Defaults are the authors' ``"cifar"`` preset (``configures/PARS_OPT.json``) and their code's behaviour
    (``PARS_OPT/pars_opt_l2_norm_attack.py``): fixed step lr with halving, no line search.

    Parameters
    ----------
    surrogates : list of torch.nn.Module, optional
        Transfer-prior models (PARS-OPT); an ``input_size=(H, W)`` attribute resizes their inputs.
    lr : float, default 2.0
        Step size 1/L_hat (gamma_0 = L_hat).
    g_max : float, default 0.1
        Clip of g1's norm (Alg. 1 line 19; the authors' coefficient g_max / (||g1|| + 1e-6)).
    q : int or None, default 200
        Probes per iteration (``None``: d // 10, the ``"small"`` preset); must not exceed the sampling
        space's dimension (checked before any query).
    eps : float, default 1e-3
        Finite-difference size on the sphere.
    tol_grad, tol_step : float, default 2e-6
        Tolerances of the lookahead/DD/D_hat searches and of the update search.
    init_dirs : int, default 100
        Random initial directions (init tolerance 1e-3).
    D_max : float, default 0.6
        Clamp of D_hat (authors' code only).
    lookahead : bool, default True
        ``False`` is the alpha = 0 ablation (ours, not in the paper): a plain step from theta_t, no momentum.
    subspace : tuple of two ints, optional
        ``(h, w)``: random vectors drawn at low resolution and upsampled (the "-S" variants).
    line_search : bool, default False
        The authors' optional ``--line-search`` update (L490-544, off by default there): Sign-OPT's
        doubling/quartering search along g1 from the lookahead, with one-query rejections as in their code.
    max_iter : int, default 100000
        Iteration cap (the budget normally ends the run first).

    Notes
    -----
    Per-sample ``info["history"]`` holds one entry per iteration: ``D_hat``, ``zeta``, ``alpha``, ``g1_norm``
    (before clipping), ``clipped`` (whether g_max capped g1), ``m_step`` (the norm of the momentum step
    zeta/alpha * g2) and ``f`` (after each accepted step).
    """

    name = "ARS-OPT"

    def __init__(self, *, surrogates: Sequence[torch.nn.Module] | None = None, lr: float = 2.0,
                 g_max: float = 0.1, q: int | None = 200, eps: float = 1e-3, tol_grad: float = 2e-6,
                 tol_step: float = 2e-6, init_dirs: int = 100, D_max: float = 0.6, lookahead: bool = True,
                 subspace: tuple[int, int] | None = None, line_search: bool = False,
                 max_iter: int = 100_000) -> None:
        self.surrogates = _surrogates(surrogates, required=False)
        self.lr = check_float(lr, "lr", low=0, low_inclusive=False)
        self.g_max = check_float(g_max, "g_max", low=0, low_inclusive=False)
        self.q = None if q is None else check_int(q, "q", low=len(self.surrogates) + 2)
        self.eps = check_float(eps, "eps", low=0, low_inclusive=False)
        self.tol_grad = check_float(tol_grad, "tol_grad", low=0, low_inclusive=False)
        self.tol_step = check_float(tol_step, "tol_step", low=0, low_inclusive=False)
        self.init_dirs = check_int(init_dirs, "init_dirs", low=1)
        self.D_max = check_float(D_max, "D_max", low=0, high=1, high_inclusive=False)
        self.lookahead = check_bool(lookahead, "lookahead")
        self.line_search = check_bool(line_search, "line_search")
        if subspace is not None:
            if isinstance(subspace, (str, bytes)) or not isinstance(subspace, (tuple, list)) or len(subspace) != 2:
                raise TypeError(f"subspace must be None or a pair (h, w) of positive ints, got {subspace!r}")
            subspace = (check_int(subspace[0], "subspace[0]", low=1), check_int(subspace[1], "subspace[1]", low=1))
        self.subspace = subspace
        self.max_iter = check_int(max_iter, "max_iter", low=1)

    @classmethod
    def from_preset(cls, preset: str, **overrides: object) -> "ARSOPT":
        """Build from a named preset of :data:`PRESETS`, keyword arguments overriding it.

        Parameters
        ----------
        preset : str
            ``"cifar"``, ``"imagenet"``, ``"imagenet-targeted"``, ``"small"`` or ``"digits"``.
        **overrides
            Constructor arguments.

        Returns
        -------
        ARSOPT
        """
        preset = check_choice(preset, "preset", sorted(PRESETS))
        return cls(**{**PRESETS[preset], **overrides})

    def _subspace_for(self, shape: tuple[int, ...]) -> tuple[int, int] | None:
        return self.subspace

    def _q_for(self, d: int) -> int:
        return self.q if self.q is not None else max(len(self.surrogates) + 2, d // 10)

    def _check(self, shape: tuple[int, ...], x: np.ndarray, y: np.ndarray, target: np.ndarray | None) -> None:
        d = int(np.prod(shape))
        q, S = self._q_for(d), len(self.surrogates)
        sub = self._subspace_for(shape)
        if sub is not None and len(shape) != 3:
            raise ValueError(f"subspace sampling needs (C, H, W) inputs, got input shape {shape}")
        low = d if sub is None else int(shape[0]) * sub[0] * sub[1]
        if q > low:
            raise ValueError(f"q={q} probes (s={S} priors + {q - S} random directions) cannot exceed the "
                             f"dimension of the sampling space ({low}"
                             + (f" = {shape[0]}x{sub[0]}x{sub[1]} subspace" if sub is not None else "") + ")")
        check_surrogates(self.surrogates, x, y, target)

    def _attack(self, s: Sample) -> Probe:
        theta, f = yield from init_direction(s, self.init_dirs)
        if theta is None:
            return
        S, d = len(self.surrogates), s.d
        q = self._q_for(d)
        qe = 1.0 + 2.0 * (q - S - 1) / math.pi
        m, gamma, prev_norm2 = theta.copy(), 1.0 / self.lr, np.inf
        step, eps = self.lr, self.eps  # step size and eps of the optional line search (they persist)
        hist = s.info.setdefault("history", {k: [] for k in
                                             ("D_hat", "zeta", "alpha", "g1_norm", "clipped", "m_step", "f")})
        for _ in range(self.max_iter):
            # priors and their quality at theta_t (Alg. 1 lines 5-11)
            priors = surrogate_priors(s, self.surrogates, theta, f) if S else None
            P, U = orthonormal_basis(s.rng, s.shape, q - S, priors, self._subspace_for(s.shape))
            D_hat = 0.0
            if S and np.isfinite(prev_norm2):  # D_hat_0 = 0 without spending the s searches
                num = 0.0
                for p in P:
                    num += (yield from directional_derivative(s, theta, f, p, eps, self.tol_grad)) ** 2
                D_hat = min(num / prev_norm2, self.D_max)
            zeta, alpha, gamma_next = ars_schedule(d, q, self.lr, S, D_hat, gamma)
            # lookahead point (lines 13-14) with the authors' fallback (L441-444)
            if self.lookahead:
                gamma = gamma_next
                y = normalize((1 - alpha) * theta + alpha * m)
                fy = yield from local_bs(s, y, f, self.tol_grad, expand=True)
                if not np.isfinite(fy):
                    y, fy, m = theta, f, theta.copy()
            else:
                alpha, y, fy = 0.0, theta, f
            # gradient estimates at the lookahead (lines 15-20)
            signs = yield from sign_probes(s, y, fy, U, eps)
            v = normalize(signs @ U)
            a_v = yield from directional_derivative(s, y, fy, v, eps, self.tol_grad)
            a_p = []
            for p in P:
                a_p.append((yield from directional_derivative(s, y, fy, p, eps, self.tol_grad)))
            prior_part = np.asarray(a_p) @ P if S else 0.0
            g1 = a_v * v + prior_part
            n1 = float(np.linalg.norm(g1))
            coef = self.g_max / (n1 + 1e-6)  # the authors' clip_grad_norm (L461-471)
            if coef < 1:
                g1 = g1 * coef
            g2 = (d - S) / qe * a_v * v + prior_part
            norm2 = float(np.sum(np.square(a_p)) + (d - S) / qe * a_v ** 2 + 1e-10)
            for key, val in (("D_hat", D_hat), ("zeta", zeta), ("alpha", alpha), ("g1_norm", n1),
                             ("clipped", coef < 1), ("m_step", zeta / alpha * float(np.linalg.norm(g2))
                                                     if self.lookahead and alpha > 0 else 0.0)):
                hist[key].append(val)
            prev_norm2 = norm2
            if self.line_search:  # optional update (L490-544): theta stays at y when no candidate improves
                nt, nf, step = yield from line_search(s, y, fy, g1, step, self.tol_step, "cheap")
                if step < 1e-4:
                    step, eps = 1.0, max(eps * 0.1, 1e-8)
            else:  # fixed step 1/L_hat, halved only to stay adversarial at radius f(y) (L545-575)
                eta = self.lr
                while True:
                    nt = normalize(y - eta * g1)
                    nf = yield from local_bs(s, nt, fy, self.tol_step, expand=False)
                    if not np.isfinite(nf) and eta > 1e-4:
                        eta /= 2
                    else:
                        break
                if not np.isfinite(nf):
                    continue  # skip: queries spent, theta and m unchanged (L567-569)
            if self.lookahead:
                m = normalize(m - (zeta / alpha) * g2)
            theta, f = nt, nf
            hist["f"].append(f)


class PARSOPT(ARSOPT):
    """PARS-OPT (arXiv 2512.21241 Sec. 4.2, Alg. 1 with s >= 1): ARS-OPT with transfer priors.

    Parameters
    ----------
    surrogates : list of torch.nn.Module
        A non-empty list of differentiable surrogates (an ``input_size=(H, W)`` attribute resizes inputs);
        checked on one input before any query (input size, number of classes).
    **kw
        As :class:`ARSOPT`.
    """

    name = "PARS-OPT"

    def __init__(self, surrogates: Sequence[torch.nn.Module], **kw: object) -> None:
        _surrogates(surrogates, required=True)
        super().__init__(surrogates=surrogates, **kw)


class ARSOPTSubspace(ARSOPT):
    """ARS-OPT-S / PARS-OPT-S (arXiv 2512.21241 Sec. 5, Table 1 "D" column; authors' ``--dim-reduce-factor``).

    Random vectors are drawn at ``subspace=(h, w)`` and bilinearly upsampled; priors are downsampled and
    orthogonalised there (authors' L329-353). Default: side // ``factor`` per axis (the authors' factor 4).
    A subspace too small for the ``q`` probes is refused before any query.

    Parameters
    ----------
    subspace : tuple of two ints, optional
        Explicit ``(h, w)``; overrides ``factor``.
    factor : int, default 4
        Downsampling factor per spatial axis when ``subspace`` is not given.
    **kw
        As :class:`ARSOPT`.
    """

    name = "ARS-OPT-S"

    def __init__(self, *, subspace: tuple[int, int] | None = None, factor: int = 4, **kw: object) -> None:
        super().__init__(subspace=subspace, **kw)
        self.factor = check_int(factor, "factor", low=1)

    def _subspace_for(self, shape: tuple[int, ...]) -> tuple[int, int]:
        if self.subspace is not None:
            return self.subspace
        if len(shape) != 3:
            raise ValueError(f"ARSOPTSubspace needs (C, H, W) inputs, got input shape {shape}")
        return (max(1, shape[1] // self.factor), max(1, shape[2] // self.factor))
