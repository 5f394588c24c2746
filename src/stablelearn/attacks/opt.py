"""The line-search ray attacks: OPT, Sign-OPT, Prior-Sign-OPT, Prior-OPT (the paper's baselines, arXiv
2512.21241 Sec. 5, Table 1).

They share one loop (:class:`LineSearchRayAttack`): estimate a gradient of f at theta_t, then Sign-OPT's
doubling/quartering line search; when the step size collapses below 1e-4 it is reset to 1 and the
finite-difference size beta shrinks x0.1, floored at ``beta_min`` (authors' ``SignOPT/sign_opt_l2_norm_attack.py``
L407-413, ``PriorOPT/prior_opt_l2_norm_attack.py`` L657-663): the attack keeps going until its budget ends.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from stablelearn._conventions import check_choice, check_float, check_int

from .base import Attack, Probe, Sample
from .raysearch import (LINE_SEARCHES, directional_derivative, init_direction, line_search, local_bs, normalize,
                        orthonormal_basis, sign_probes, surrogate_priors)

__all__ = ["OPT", "SignOPT", "PriorSignOPT", "PriorOPT", "LineSearchRayAttack"]


def _surrogates(surrogates: Sequence[torch.nn.Module] | None, required: bool) -> list[torch.nn.Module]:
    """Validated list of surrogate modules (a list or tuple; each a module with parameters), in eval mode."""
    if surrogates is None:
        sur = []
    elif isinstance(surrogates, (list, tuple)):
        sur = list(surrogates)
    else:
        raise TypeError(f"surrogates must be a list of torch.nn.Module, got {type(surrogates).__name__}")
    if required and not sur:
        raise ValueError("surrogates must be a non-empty list of differentiable torch.nn.Module surrogates")
    for m in sur:
        if not isinstance(m, torch.nn.Module) or not list(m.parameters()):
            raise TypeError(f"each surrogate must be a torch.nn.Module with parameters, got {type(m).__name__}")
        m.eval()
    return sur


def check_surrogates(surrogates: Sequence[torch.nn.Module], x: np.ndarray, y: np.ndarray,
                     target: np.ndarray | None) -> None:
    """Refuse surrogates that cannot score ``x`` or have too few classes for the labels, before any query.

    Raises
    ------
    ValueError
        Naming ``surrogates`` when a surrogate fails on one input of ``x``'s shape, does not return
        ``(1, C)`` scores, or ``C`` does not cover every label in ``y`` / ``target`` (labels must lie in
        ``[0, C)`` for the surrogates' margins).
    """
    labels = np.concatenate([y, target]) if target is not None else y
    for k, m in enumerate(surrogates):
        p = next(m.parameters())
        inp = torch.as_tensor(x[:1], dtype=p.dtype, device=p.device)
        size = getattr(m, "input_size", None)
        if size is not None:
            inp = torch.nn.functional.interpolate(inp, size=tuple(size), mode="bilinear", align_corners=False)
        try:
            with torch.no_grad():
                out = m(inp)
        except Exception as e:  # noqa: BLE001 - any failure of the user's module is a configuration error
            raise ValueError(f"surrogates[{k}] cannot score inputs of shape {tuple(x.shape[1:])}: "
                             f"{type(e).__name__}: {e}") from e
        if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 1 or out.shape[1] < 2:
            raise ValueError(f"surrogates[{k}] must return (N, C>=2) logits, got "
                             f"{getattr(out, 'shape', type(out).__name__)}")
        if labels.min() < 0 or labels.max() >= out.shape[1]:
            raise ValueError(f"surrogates[{k}] returns {out.shape[1]} classes but the labels span "
                             f"[{labels.min()}, {labels.max()}]: labels must lie in [0, {out.shape[1]})")


class LineSearchRayAttack(Attack):
    """Common loop of the OPT-family attacks; subclasses define ``_gradient(s, theta, f, beta)``.

    Parameters
    ----------
    q : int
        Directions (probes) per gradient estimate.
    alpha : float, default 0.2
        Initial step size of the line search.
    beta : float, default 1e-3
        Finite-difference size on the sphere (also sets the search tolerance beta/500).
    init_dirs : int, default 100
        Random initial directions.
    beta_min : float, default 1e-8
        Floor of beta when the line search stalls (the attack goes on, as the authors' code).
    max_iter : int, default 100000
        Iteration cap (the budget normally ends the run first).
    line_search : {"reference", "cheap"}, default "reference"
        ``"reference"``: a rejected candidate is searched (expanded and bisected) as in the authors'
        baselines and costs what it costs there; ``"cheap"``: rejected after one query (our improvement).
    """

    #: expansion cap of the line search's candidate searches (untargeted, targeted); SignOPT L42-55, L81-93.
    ls_caps = (20.0, 100.0)

    def __init__(self, *, q: int, alpha: float = 0.2, beta: float = 1e-3, init_dirs: int = 100,
                 beta_min: float = 1e-8, max_iter: int = 100_000, line_search: str = "reference") -> None:
        self.q = check_int(q, "q", low=1)
        self.alpha = check_float(alpha, "alpha", low=0, low_inclusive=False)
        self.beta = check_float(beta, "beta", low=0, low_inclusive=False)
        self.init_dirs = check_int(init_dirs, "init_dirs", low=1)
        self.beta_min = check_float(beta_min, "beta_min", low=0, low_inclusive=False)
        self.max_iter = check_int(max_iter, "max_iter", low=1)
        self.line_search = check_choice(line_search, "line_search", LINE_SEARCHES)

    def _gradient(self, s: Sample, theta: np.ndarray, f: float, beta: float) -> Probe:  # pragma: no cover
        raise NotImplementedError

    def _cap(self, s: Sample, f: float) -> float:
        return self.ls_caps[s.target is not None]

    def _attack(self, s: Sample) -> Probe:
        theta, f = yield from init_direction(s, self.init_dirs)
        if theta is None:
            return
        alpha, beta = self.alpha, self.beta
        for _ in range(self.max_iter):
            g = yield from self._gradient(s, theta, f, beta)
            theta, f, alpha = yield from line_search(s, theta, f, g, alpha, beta / 500, self.line_search,
                                                     self._cap(s, f))
            if alpha < 1e-4:
                alpha, beta = 1.0, max(beta * 0.1, self.beta_min)


class OPT(LineSearchRayAttack):
    """OPT (Cheng et al., ICLR'19): RGF estimate sum_j (f(theta + beta u_j) - f) / beta u_j / q over ``q``
    normalised Gaussian u_j, each f by a local binary search (tol beta/500), then the line search.

    Parameters are those of :class:`LineSearchRayAttack` (default ``q=20``).
    """

    name = "OPT"

    def __init__(self, *, q: int = 20, alpha: float = 0.2, beta: float = 1e-3, **kw: object) -> None:
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
    """Sign-OPT (Cheng et al., ICLR'20; authors' ``SignOPT/sign_opt_l2_norm_attack.py``).

    g = mean_j sign_j u_j over ``q`` normalised Gaussian u_j (not orthogonalised), signs from the
    single-query oracle (arXiv 2512.21241 Eq. 7, one batch), then the line search. Parameters are those of
    :class:`LineSearchRayAttack` (default ``q=200``, the authors' CLI value, ``SignOPT/attack.py`` L79).
    """

    name = "Sign-OPT"

    def __init__(self, *, q: int = 200, alpha: float = 0.2, beta: float = 1e-3, **kw: object) -> None:
        super().__init__(q=q, alpha=alpha, beta=beta, **kw)

    def _gradient(self, s: Sample, theta: np.ndarray, f: float, beta: float) -> Probe:
        U = normalize(s.rng.standard_normal((s.cap(self.q), s.d)), inplace=True)
        signs = yield from sign_probes(s, theta, f, U, beta)
        return signs @ U / self.q


def _clip_norm(g: np.ndarray, g_max: float | None) -> np.ndarray:
    """The authors' ``clip_grad_norm``: g * g_max / (||g|| + 1e-6) when that coefficient is below 1."""
    if g_max is None:
        return g
    coef = g_max / (np.linalg.norm(g) + 1e-6)
    return g * coef if coef < 1 else g


class _PriorAttack(LineSearchRayAttack):
    """Shared construction of Prior-OPT and Prior-Sign-OPT (Ma et al., ICLR'25; authors'
    ``PriorOPT/prior_opt_l2_norm_attack.py``)."""

    ls_caps = (100.0, 100.0)  # PriorOPT L84-100: max_high_bound 100, or f + 50 beyond it

    def __init__(self, surrogates: Sequence[torch.nn.Module], *, q: int = 200, alpha: float = 0.2,
                 beta: float = 1e-3, g_max: float | None = 0.1, **kw: object) -> None:
        super().__init__(q=q, alpha=alpha, beta=beta, **kw)
        self.surrogates = _surrogates(surrogates, required=True)
        if self.q <= len(self.surrogates):
            raise ValueError(f"q must exceed the number of surrogates ({len(self.surrogates)}): q - s random "
                             f"directions carry the sign probes, got q={self.q}")
        self.g_max = None if g_max is None else check_float(g_max, "g_max", low=0, low_inclusive=False)

    def _cap(self, s: Sample, f: float) -> float:
        return 100.0 if f <= 100.0 else f + 50.0

    def _check(self, shape: tuple[int, ...], x: np.ndarray, y: np.ndarray, target: np.ndarray | None) -> None:
        d = int(np.prod(shape))
        if self.q > d:
            raise ValueError(f"q={self.q} orthonormal directions cannot exceed the input dimension d={d}")
        check_surrogates(self.surrogates, x, y, target)

    def _basis(self, s: Sample, theta: np.ndarray, f: float) -> tuple[np.ndarray, np.ndarray]:
        return orthonormal_basis(s.rng, s.shape, self.q - len(self.surrogates),
                                 surrogate_priors(s, self.surrogates, theta, f))


class PriorSignOPT(_PriorAttack):
    """Prior-Sign-OPT (Ma et al., ICLR'25; authors' ``PriorOPT/prior_opt_l2_norm_attack.py`` L405-454, ``--sign``).

    Sign-OPT's sign average over ``q`` orthonormal vectors whose first ``s`` span the surrogates' transfer
    priors, divided by q, norm clipped to ``g_max`` (L601; 0.1 is ``configures/PriorOPT.json``'s CIFAR l2
    value, ``None`` disables it), then the line search.

    Parameters
    ----------
    surrogates : list of torch.nn.Module
        Differentiable surrogate classifiers (calls are free; an ``input_size=(H, W)`` attribute resizes).
    q, alpha, beta, **kw
        As :class:`LineSearchRayAttack` (default ``q=200``).
    g_max : float or None, default 0.1
        Clip of the gradient estimate's norm.
    """

    name = "Prior-Sign-OPT"

    def _gradient(self, s: Sample, theta: np.ndarray, f: float, beta: float) -> Probe:
        P, U = self._basis(s, theta, f)
        B = np.concatenate([P, U])
        signs = yield from sign_probes(s, theta, f, B, beta)
        return _clip_norm(signs @ B / self.q, self.g_max)


class PriorOPT(_PriorAttack):
    """Prior-OPT (Ma et al., ICLR'25; authors' ``PriorOPT/prior_opt_l2_norm_attack.py`` L300-400, L601).

    At theta_t: p_i the orthonormalised transfer priors, v the normalised sign sum over q - s random
    vectors orthogonal to them; directional derivatives a_i, a_v by one local search each (tol ``dd_tol``,
    0.01 the CLI default of ``PriorOPT/attack.py`` L105; a direction whose search fails is skipped);
    g = (sum_i a_i p_i + a_v v) / (number of successful derivatives) (L399-400), norm clipped to ``g_max``
    (L601; 0.1 ``configures/PriorOPT.json`` CIFAR l2), then Sign-OPT's line search; no momentum.

    Parameters
    ----------
    surrogates : list of torch.nn.Module
        Differentiable surrogate classifiers; ``len(surrogates) < q``.
    q, alpha, beta, **kw
        As :class:`LineSearchRayAttack` (default ``q=200``).
    dd_tol : float, default 0.01
        Tolerance of the directional-derivative searches.
    g_max : float or None, default 0.1
        Clip of the gradient estimate's norm (``None``: no clip).
    """

    name = "Prior-OPT"

    def __init__(self, surrogates: Sequence[torch.nn.Module], *, q: int = 200, alpha: float = 0.2,
                 beta: float = 1e-3, dd_tol: float = 0.01, g_max: float | None = 0.1, **kw: object) -> None:
        super().__init__(surrogates, q=q, alpha=alpha, beta=beta, g_max=g_max, **kw)
        self.dd_tol = check_float(dd_tol, "dd_tol", low=0, low_inclusive=False)

    def _gradient(self, s: Sample, theta: np.ndarray, f: float, beta: float) -> Probe:
        P, U = self._basis(s, theta, f)
        signs = yield from sign_probes(s, theta, f, U, beta)
        v = normalize(signs @ U)
        g, n = np.zeros(s.d), 0
        for u in [*P, v]:
            a = yield from directional_derivative(s, theta, f, u, beta, self.dd_tol, retry=False)
            if a is not None:
                g, n = g + a * u, n + 1
        return _clip_norm(g / max(n, 1), self.g_max)
