"""Safeguarded type-I Anderson acceleration, AA-I-S (Zhang, O'Donoghue & Boyd, SIAM J. Optim. 2020,
"Globally convergent type-I Anderson acceleration for nonsmooth fixed-point iterations", Alg. 3).

A baseline for the EG-AA comparison (docs/anderson.md, "Reproduction"). Written from the paper's description, not from
its code: good-Broyden inverse update ``H`` kept in low-rank form ``H = I + sum_j u_j v_j^T``,
Gram-Schmidt-orthogonalised directions ``s_hat``, Powell regularisation (theta_bar = 0.01), restart
when the memory is full or ``||s_hat|| < tau ||s||`` (tau = 0.001), and the safeguard: the AA point
is taken only while ``||g_k|| <= D ||g_0|| (n_AA + 1)^-(1 + eps)`` (D = 1e6, eps = 1e-6), otherwise the
averaged step ``(1 - alpha) x + alpha T(x)`` with alpha = 0.9. Sign convention: g = x - T(x) = -r.
Powell's ``B_{k-1} s_{k-1}`` is computed exactly from a low-rank copy of B = H^-1 (the paper writes
it as ``-g_{k-1}``, which is the same after an accepted AA step and differs after restarts/fallbacks).
"""

from __future__ import annotations

import numpy as np

from .._conventions import check_float, check_int
from . import _backend as B
from ._backend import Array
from .accelerator import StepInfo


class TypeOneSafeguarded:
    """AA-I-S stepper: ``step(x, Tx) -> next x``; ``info`` as for :class:`Accelerator`.

    Parameters
    ----------
    m : int, default 5
        Memory; the method restarts when it is full.
    theta_bar : float, default 0.01
        Powell regularisation threshold, in (0, 1).
    tau : float, default 1e-3
        Restart when ``||s_hat|| < tau ||s||``, in (0, 1).
    D, eps : float, default 1e6, 1e-6
        Safeguard: the AA point is taken while ``||g_k|| <= D ||g_0|| (n_AA + 1)^-(1 + eps)``.
    alpha : float, default 0.9
        Weight of ``T(x)`` in the averaged fallback step, in (0, 1].
    """

    def __init__(self, m: int = 5, *, theta_bar: float = 0.01, tau: float = 1e-3, D: float = 1e6,
                 eps: float = 1e-6, alpha: float = 0.9) -> None:
        check_int(m, "m", low=0)
        check_float(theta_bar, "theta_bar", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        check_float(tau, "tau", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        check_float(D, "D", low=0.0, low_inclusive=False)
        check_float(eps, "eps", low=0.0, low_inclusive=False)
        check_float(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False)
        self.m, self.theta_bar, self.tau, self.D, self.eps, self.alpha = int(m), theta_bar, tau, D, eps, alpha
        self.info = StepInfo()
        self.reset()

    def reset(self) -> None:
        """Forget the memory and the safeguard's counters."""
        # H = I + sum_j u_j v_j^T and B = H^-1 = I + sum_j p_j q_j^T, with q_j = shat_j / (shat_j^T s_j)
        self._u: list[Array] = []
        self._v: list[Array] = []
        self._shat: list[Array] = []
        self._p: list[Array] = []
        self._q: list[Array] = []
        self._prev: tuple[Array, Array] | None = None  # (x_{k-1}, g_{k-1})
        self._g0norm: float | None = None
        self._n_aa = 0

    def _H(self, z: Array) -> Array:
        out = z
        for u, v in zip(self._u, self._v):
            out = out + B.vdot(v, z) * u
        return out

    def _HT(self, z: Array) -> Array:
        out = z
        for u, v in zip(self._u, self._v):
            out = out + B.vdot(u, z) * v
        return out

    def _B(self, z: Array) -> Array:
        out = z
        for p, q in zip(self._p, self._q):
            out = out + B.vdot(q, z) * p
        return out

    def _clear(self) -> None:
        self._u, self._v, self._shat, self._p, self._q = [], [], [], [], []

    def _powell(self, eta: float) -> float:
        if abs(eta) >= self.theta_bar:
            return 1.0
        sgn = 1.0 if eta >= 0 else -1.0
        return (1.0 - sgn * self.theta_bar) / (1.0 - eta)

    def step(self, x: Array, Tx: Array) -> Array:
        """One AA-I-S step from ``x`` with ``Tx = T(x)``; returns the next iterate."""
        info = StepInfo()
        g = x - Tx
        gnorm = B.norm(g)
        if self._g0norm is None:
            self._g0norm = gnorm
        restarted = False
        if self._prev is not None and self.m > 0:
            xp, gp = self._prev
            s, y = x - xp, g - gp
            if len(self._shat) >= self.m:  # memory full: restart
                self._clear()
                restarted = True
            shat = s
            for sj in self._shat:
                shat = shat - (B.vdot(sj, s) / B.vdot(sj, sj)) * sj
            if B.norm(shat) < self.tau * B.norm(s):
                self._clear()
                shat, restarted = s, True
            ss = B.vdot(shat, shat)
            if ss > 0:
                v = self._HT(shat)
                theta = self._powell(B.vdot(v, y) / ss)
                Bs = self._B(s)
                ytil = theta * y + (1.0 - theta) * Bs
                Hy = self._H(ytil)
                denom = B.vdot(v, ytil)
                sts = B.vdot(shat, s)
                if denom != 0 and np.isfinite(denom) and sts != 0:
                    self._u.append((s - Hy) / denom)
                    self._v.append(v)
                    self._shat.append(shat)
                    self._p.append(ytil - Bs)
                    self._q.append(shat / sts)
        self._prev = (x, g)
        info.restarted = restarted
        if self._u:
            cand = x - self._H(g)
            bound = self.D * self._g0norm * (self._n_aa + 1) ** (-(1.0 + self.eps))
            if gnorm <= bound and B.all_finite(cand):
                self._n_aa += 1
                self.info = info
                return cand
            info.accepted = False
        self.info = info
        return (1.0 - self.alpha) * x + self.alpha * Tx if info.accepted is False else Tx
