"""Ray-search primitives shared by OPT, Sign-OPT, Prior-OPT, ARS-OPT and PARS-OPT.

All are generator functions used with ``yield from`` inside an attack's per-sample generator; every
point they yield is a counted query. Directions ``theta`` are flat float64 unit vectors and the ray point
is ``x + lam * theta`` (the ray objective f(theta) of OPT, Cheng et al. ICLR'19, used by arXiv 2512.21241
Sec. 3; f is 0-homogeneous, so theta is kept on the unit sphere as in the authors' code).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from stablelearn._conventions import limit_threads

from .base import Probe, Sample

__all__ = ["normalize", "local_bs", "bisect", "init_direction", "directional_derivative", "sign_probes",
           "orthonormal_basis", "surrogate_priors", "line_search", "LINE_SEARCHES"]


def normalize(v: np.ndarray, inplace: bool = False) -> np.ndarray:
    """v / ||v|| along the last axis (into ``v`` itself when ``inplace``); raises FloatingPointError on a zero
    or non-finite vector."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    if not np.all(np.isfinite(n)) or np.any(n == 0):
        raise FloatingPointError("zero or non-finite direction")
    if inplace:
        v /= n
        return v
    return v / n


def _adv(s: Sample, theta: np.ndarray, lam: float) -> Probe:
    return bool((yield (s.x + lam * theta)[None])[0])  # one probe: s.query without its generator frame


def local_bs(s: Sample, theta: np.ndarray, lam0: float, tol: float, expand: bool = True,
             cap: float | None = None) -> Probe:
    """Local boundary search along ``theta`` around ``lam0`` (authors' ``fine_grained_binary_search_local``,
    ``PARS_OPT/pars_opt_l2_norm_attack.py`` L86-130).

    Adversarial at ``lam0``: shrink the lower end by x0.99 until benign. Benign: return inf after that one
    query unless ``expand``, in which case grow by x1.01 until adversarial (inf beyond ``cap``, default
    ``max(100, lam0 + 100)``). Bisection stops at width ``tol``, after 200 halvings, or when the midpoint
    stops changing in floating point.

    Returns
    -------
    float
        The adversarial end of the final bracket (``x + lam * theta`` is adversarial), or ``inf``.
    """
    if not np.isfinite(lam0) or lam0 <= 0:
        raise FloatingPointError(f"non-finite or non-positive search start {lam0}")
    if (yield from _adv(s, theta, lam0)):
        hi, lo = lam0, lam0 * 0.99
        while (yield from _adv(s, theta, lo)):
            hi, lo = lo, lo * 0.99
    else:
        if not expand:
            return np.inf
        cap = max(100.0, lam0 + 100.0) if cap is None else cap
        lo, hi = lam0, lam0 * 1.01
        while not (yield from _adv(s, theta, hi)):
            lo, hi = hi, hi * 1.01
            if hi > cap:
                return np.inf
    return (yield from bisect(s, theta, lo, hi, tol))


def bisect(s: Sample, theta: np.ndarray, lo: float, hi: float, tol: float) -> Probe:
    """Bisection on [lo, hi] (lo benign, hi adversarial) to width ``tol``; returns the adversarial end."""
    for _ in range(200):
        if hi - lo <= tol:
            break
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if (yield from _adv(s, theta, mid)):
            hi = mid
        else:
            lo = mid
    return hi


def init_direction(s: Sample, n_dirs: int = 100, tol: float = 1e-3) -> Probe:
    """Initial direction and radius (authors' code, ``PARS_OPT/pars_opt_l2_norm_attack.py`` L590-610, L729-738)
    -> ``(theta, f)`` or ``(None, inf)``.

    With a starting point (targeted image x~ or the user's): theta_0 = x~ - x, bisection on [0, ||x~ - x||]
    to ``tol`` (1 check query first). Otherwise ``n_dirs`` Gaussian directions in pixel space (one batch);
    for each adversarial one, 1 query at the best radius so far when it is farther (discarded if benign),
    then bisection on [0, lam] to ``tol``. Fallback when none is adversarial (the "noise class" pitfall,
    docs/attacks.md "Provenance"; reconstructed): the same procedure on directions to the other samples' originals of another class
    (or of the target class).
    """
    candidates = []
    if s.start is not None:
        candidates.append(s.start[None] - s.x)
    else:
        candidates.append(s.rng.standard_normal((s.cap(n_dirs), s.d)))
    if len(s.others):
        candidates.append(s.others - s.x)
    for dirs in candidates:
        dirs = dirs[np.linalg.norm(dirs, axis=1) > 0]
        if not len(dirs):
            continue
        adv = yield from s.query(s.x + dirs)
        best, best_theta = np.inf, None
        for j in np.flatnonzero(adv):
            lam = float(np.linalg.norm(dirs[j]))
            th = dirs[j] / lam
            if lam > best:
                if not (yield from _adv(s, th, best)):
                    continue
                lam = best
            lam = yield from bisect(s, th, 0.0, lam, tol)
            if lam < best:
                best, best_theta = lam, th
        if best_theta is not None:
            return best_theta, best
    return None, np.inf


def directional_derivative(s: Sample, theta: np.ndarray, f: float, u: np.ndarray, eps: float,
                           tol: float, retry: bool = True) -> Probe:
    """Finite-difference directional derivative (f(normalize(theta + eps u)) - f) / eps by a local search.

    ``retry=True`` (ARS/PARS-OPT, authors' ``PARS_OPT/pars_opt_l2_norm_attack.py`` L395-422): an infinite
    search retries with eps <- -0.1 eps (eps > 0) or eps <- -eps (eps < 0); a result equal to the start
    nudges the start by x1.001; at most 10 tries, then 0 (no information). ``retry=False`` (Prior-OPT,
    ``PriorOPT/prior_opt_l2_norm_attack.py`` L379-395): one search (cap 100, or f + 100 beyond it); an
    infinite one returns ``None`` (the direction is skipped).
    """
    e, start = eps, f
    for _ in range(10 if retry else 1):
        f2 = yield from local_bs(s, normalize(theta + e * u), start, tol, expand=True, cap=max(100.0, f + 100.0))
        if not retry:
            return (f2 - f) / e if np.isfinite(f2) else None
        if not np.isfinite(f2):
            e = -0.1 * e if e > 0 else -e
            continue
        if f2 == start:
            start *= 1.001
            continue
        return (f2 - f) / e
    return 0.0


def sign_probes(s: Sample, theta: np.ndarray, f: float, U: np.ndarray, eps: float) -> Probe:
    """Single-query sign oracle, arXiv 2512.21241 Eq. 7 (Sign-OPT): +1 where ``x + f normalize(theta + eps u_j)`` is benign.

    All ``len(U)`` probes go out as one batch (built in one buffer: the same operations as
    ``x + f * normalize(theta + eps * U)``, each IEEE operation commuted at most)."""
    pts = eps * U
    pts += theta
    pts = normalize(pts, inplace=True)
    pts *= f
    pts += s.x
    adv = yield from s.query(pts)
    return np.where(adv, -1.0, 1.0)


def _resize(v: np.ndarray, shape: Sequence[int], size: tuple[int, int]) -> np.ndarray:
    t = torch.as_tensor(v.reshape((-1,) + tuple(shape)))
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False).reshape(len(v), -1).numpy()


def _qr(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reduced QR on one thread: for these thin matrices a multi-threaded BLAS is 5-30x slower on a
    busy CPU (measured), so torch's intra-op threads are limited to 1 for the call and restored."""
    with limit_threads(1):
        Q, R = torch.linalg.qr(torch.from_numpy(A))
    return Q.numpy(), R.numpy()


def orthonormal_basis(rng: np.random.Generator, shape: Sequence[int], n_random: int,
                      priors: np.ndarray | None = None, subspace: tuple[int, int] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Gram-Schmidt of [priors, r_1..r_n] with r ~ N(0, I) (arXiv 2512.21241 Sec. 4.2, P-RGF style;
    authors' ``PARS_OPT/pars_opt_l2_norm_attack.py`` L326-354).

    Returns ``(P, U)``: P (s, d) orthonormal basis of the priors' span (in their order, same orientation),
    U (n_random, d) orthonormal and orthogonal to P. ``subspace=(h, w)`` ("-S" variants, authors' L329-353):
    priors are downsampled to (C, h, w), everything is orthogonalised there, then bilinearly upsampled to
    ``shape`` and renormalised (so the result is only approximately orthogonal, as in the authors' code).
    """
    s = 0 if priors is None else len(priors)
    d = int(np.prod(shape))
    low = d if subspace is None else int(shape[0]) * subspace[0] * subspace[1]
    if s + n_random > low:
        raise ValueError(f"q (priors + random directions = {s} + {n_random}) must not exceed the dimension "
                         f"of the sampling space ({low})")
    R = rng.standard_normal((n_random, low))
    if s:
        pri = priors if subspace is None else _resize(priors, shape, subspace)
        R = np.concatenate([pri, R])
    Q, Rr = _qr(R.T)
    Q = (Q * np.where(np.diag(Rr) < 0, -1.0, 1.0)).T
    if subspace is not None:
        Q = normalize(_resize(Q, (shape[0],) + tuple(subspace), tuple(shape[1:])))
    return Q[:s], Q[s:]


def _margin(logits: torch.Tensor, y: int, target: int | None) -> torch.Tensor:
    """Margin h: psi_y - max_{j != y} psi_j (untargeted) or max_{j != t} psi_j - psi_t (targeted)
    (authors' ``cw_loss``, ``PARS_OPT/pars_opt_l2_norm_attack.py`` L229-247)."""
    c = y if target is None else target
    other = torch.cat([logits[:, :c], logits[:, c + 1:]], dim=1).max(dim=1).values
    return logits[:, c] - other if target is None else other - logits[:, c]


def _crossed(logits: torch.Tensor, y: int, target: int | None) -> bool:
    """``_margin(logits, y, target)[0] < 0`` without the subtraction: the margin is negative exactly when
    psi_y < max_{j != y} psi_j (untargeted) or max_{j != t} psi_j < psi_t (targeted), since an IEEE difference
    of two numbers has the sign of their comparison (and NaN fails both), so the decision is the same bit."""
    z = logits[0].tolist()
    c = y if target is None else target
    zc = z.pop(c)
    if any(v != v for v in z):  # torch's max propagates NaN, making the margin NaN: not crossed
        return False
    return zc < max(z) if target is None else max(z) < zc


def _surrogate_boundary(adv: Callable[[float], bool], f: float) -> float:
    """Boundary of a surrogate along the ray near the victim's radius ``f`` (tol 1e-3), or ``f`` if it has
    none (e.g. the surrogate misclassifies x itself). Bracketing steps double from 1% (reconstructed:
    the authors' code steps by x0.99 / x1.01, which is free of queries but can take thousands of surrogate calls)."""
    cap = max(100.0, f + 100.0)
    if adv(f):
        if adv(0.0):
            return f
        hi, step = f, 0.01
        lo = hi * (1 - step)
        while adv(lo):
            hi, step = lo, min(1.0, 2 * step)
            lo = hi * (1 - step)
    else:
        lo, step = f, 0.01
        hi = lo * (1 + step)
        while not adv(hi):
            if hi >= cap:
                return f
            lo, step = hi, 2 * step
            hi = min(cap, lo * (1 + step))
    while hi - lo > 1e-3:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if adv(mid) else (mid, hi)
    return hi


def surrogate_priors(s: Sample, surrogates: Sequence[torch.nn.Module], theta: np.ndarray, f: float) -> np.ndarray:
    """Transfer priors k_i = grad_theta h(theta, lam_i) at the current theta (arXiv 2512.21241 Alg. 1 lines 5-7;
    authors' ``g_function_bin_search``/``get_g_grad``, L249-315; free of queries).

    lam_i: boundary of surrogate i along theta by a local search from the victim's f (tol 1e-3, expansion
    allowed, fallback to f; :func:`_surrogate_boundary`); h is evaluated at ``x + lam_i theta/||theta||`` (clipped in clip mode), with
    autograd through the normalisation; inputs are bilinearly resized when the surrogate wants another size
    (attribute ``input_size=(H, W)``).
    """
    out = []
    for m in surrogates:
        dtype = next(m.parameters()).dtype
        device = next(m.parameters()).device
        size = getattr(m, "input_size", None)

        def inp(t: torch.Tensor) -> torch.Tensor:
            t = t.reshape((-1,) + tuple(s.shape))
            if s.clip is not None:
                t = t.clamp(*s.clip)
            if size is not None and tuple(t.shape[-2:]) != tuple(size):
                t = F.interpolate(t, size=size, mode="bilinear", align_corners=False)
            return t

        x = torch.as_tensor(s.x, dtype=dtype, device=device)
        th = torch.as_tensor(theta, dtype=dtype, device=device)
        with torch.no_grad():
            lam = _surrogate_boundary(lambda lam: _crossed(m(inp(x + lam * th)), s.y, s.target), f)
        th.requires_grad_(True)
        h = _margin(m(inp(x + lam * th / th.norm())), s.y, s.target).sum()
        (g,) = torch.autograd.grad(h, th)
        out.append(g.detach().cpu().double().numpy())
    return np.stack(out)


LINE_SEARCHES = ("reference", "cheap")


def line_search(s: Sample, theta: np.ndarray, f: float, g: np.ndarray, alpha: float, tol: float,
                mode: str = "reference", cap: float = 100.0, steps: int = 15) -> Probe:
    """Sign-OPT's step-size search -> ``(theta, f, alpha)``.

    Doubling from ``alpha`` while the candidate improves, else quartering until one improves (15 tries
    each); ``alpha`` persists across iterations (authors' ``SignOPT/sign_opt_l2_norm_attack.py`` L357-406).

    ``mode="reference"`` searches every candidate as the authors' baselines do: a candidate that is benign
    at the current radius is expanded by x1.01 up to ``cap`` and bisected to ``tol``, so a rejected
    candidate costs what it costs there (about 15-25 queries). ``mode="cheap"`` (our improvement, the
    rejection the authors gave only to PARS-OPT in commit ab71cb8): a benign candidate is rejected after
    its one query, with the same decision.
    """
    expand = mode == "reference"
    best_theta, best_f = theta, f
    for _ in range(steps):
        nt = normalize(theta - alpha * g)
        nf = yield from local_bs(s, nt, best_f, tol, expand=expand, cap=cap)
        alpha *= 2.0
        if nf < best_f:
            best_theta, best_f = nt, nf
        else:
            break
    if best_f >= f:
        for _ in range(steps):
            alpha *= 0.25
            nt = normalize(theta - alpha * g)
            nf = yield from local_bs(s, nt, best_f, tol, expand=expand, cap=cap)
            if nf < f:
                best_theta, best_f = nt, nf
                break
    return best_theta, best_f, alpha
