"""HopSkipJumpAttack (Chen, Jordan, Wainwright, S&P'20), l2, budget-exact (a baseline of arXiv 2512.21241 Table 1).

Per iteration t >= 1 at the boundary point x_b: gradient direction from B_t = min(B_0 sqrt(t), B_max)
sign-weighted (baseline-corrected) random unit vectors at probe radius delta_t (0.1 of the box width at
t = 1, then sqrt(d) theta dist_{t-1} with theta = gamma / d^1.5); geometric step xi = dist / sqrt(t)
halved until adversarial; binary search back to the boundary (threshold theta in blend units). It runs
until the oracle's budget ends (the official code's ``max_num_evals`` is per iteration, not total).
"""
from __future__ import annotations

import math

import numpy as np

from stablelearn._conventions import check_float, check_int

from .base import Attack, Probe, Sample

__all__ = ["HopSkipJump"]


def _blend_bisect(s: Sample, x_adv: np.ndarray, tol: float) -> Probe:
    """Binary search on the segment x -> x_adv (x_adv adversarial) to width ``tol``; returns the adversarial end."""
    lo, hi = 0.0, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if (yield from s.query((1 - mid) * s.x + mid * x_adv))[0]:
            hi = mid
        else:
            lo = mid
    return (1 - hi) * s.x + hi * x_adv


class HopSkipJump(Attack):
    """HSJA, l2 version, as an attack object on a :class:`HardLabelOracle`.

    Parameters
    ----------
    gamma : float, default 1.0
        Sets the boundary threshold theta = gamma / d^1.5 (1.0 as the authors' ``configures/HSJA.json``).
    init_evals : int, default 100
        B_0, the first iteration's number of gradient probes.
    max_evals : int, default 10000
        Cap of B_t = B_0 sqrt(t).
    init_dirs : int, default 100
        Uniform-noise (clip mode) or Gaussian (no clip) initial candidates in one batch, then directions
        to the other images of another class (docs/attacks.md, "Provenance").
    max_iter : int, default 100000
        Iteration cap (the budget normally ends the run first).
    """

    name = "HSJA"

    def __init__(self, *, gamma: float = 1.0, init_evals: int = 100, max_evals: int = 10_000,
                 init_dirs: int = 100, max_iter: int = 100_000) -> None:
        self.gamma = check_float(gamma, "gamma", low=0, low_inclusive=False)
        self.init_evals = check_int(init_evals, "init_evals", low=1)
        self.max_evals = check_int(max_evals, "max_evals", low=1)
        self.init_dirs = check_int(init_dirs, "init_dirs", low=1)
        self.max_iter = check_int(max_iter, "max_iter", low=1)

    def _attack(self, s: Sample) -> Probe:
        d = s.d
        lo, hi = s.clip if s.clip is not None else (-np.inf, np.inf)
        width = (s.clip[1] - s.clip[0]) if s.clip is not None else 1.0
        theta = self.gamma / (d * math.sqrt(d))
        if s.start is not None:
            cands = [s.start[None]]
        elif s.clip is not None:
            cands = [s.rng.uniform(lo, hi, (s.cap(self.init_dirs), d))]
        else:
            cands = [s.x + s.rng.standard_normal((s.cap(self.init_dirs), d))]
        if len(s.others):
            cands.append(s.others)
        x_adv = None
        for c in cands:
            adv = yield from s.query(c)
            if adv.any():
                x_adv = c[np.argmax(adv)]
                break
        if x_adv is None:
            return
        x_adv = yield from _blend_bisect(s, x_adv, 1e-3)
        x_b = yield from _blend_bisect(s, x_adv, theta)
        dist = float(np.linalg.norm(x_b - s.x))
        for t in range(1, self.max_iter + 1):
            delta = 0.1 * width if t == 1 else math.sqrt(d) * theta * dist
            n = s.cap(min(int(self.init_evals * math.sqrt(t)), self.max_evals))
            rv = s.rng.standard_normal((n, d))
            rv /= np.linalg.norm(rv, axis=1, keepdims=True)
            pert = np.clip(x_b + delta * rv, lo, hi)
            rv = (pert - x_b) / delta
            fval = np.where((yield from s.query(pert)), 1.0, -1.0)
            mean = fval.mean()
            if mean in (1.0, -1.0):
                grad = mean * rv.mean(axis=0)
            else:
                grad = (fval - mean) @ rv / n
            gn = np.linalg.norm(grad)
            if not np.isfinite(gn):
                raise FloatingPointError("non-finite HSJA gradient estimate")
            if gn == 0:
                continue
            grad /= gn
            eps = dist / math.sqrt(t)
            for _ in range(60):
                cand = np.clip(x_b + eps * grad, lo, hi)
                if (yield from s.query(cand))[0]:
                    break
                eps /= 2
            else:
                return
            x_b = yield from _blend_bisect(s, cand, theta)
            dist = float(np.linalg.norm(x_b - s.x))
