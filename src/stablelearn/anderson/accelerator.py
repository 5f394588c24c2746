"""Type-II Anderson acceleration with the EG-AA inertial governor and energy guard.

* ``QRWindow``: the window of residual differences Delta R = Q R kept as a thin QR factorisation,
  updated by one Gram-Schmidt append (with re-orthogonalisation) and one small re-triangularisation
  when the oldest column is dropped (Walker & Ni 2011, section 4). The least-squares problem of
  spec section 2.1 is then solved on the small (m x m) factor: never the normal equations.
* ``Accelerator``: a stateful AA(m) step ``x_{k+1} = T x_k - Delta T_k gamma^k`` (spec 2.1) with the
  governor (spec 3.2 step 1, reconstructed) and the energy guard with fallback and restart (spec 3.2
  step 2, reconstructed), usable in one's own loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import _backend as B
from ._checks import check_int, check_number
from .dynamics import effective_mass

Array = Any

GOVERNORS = ("dissipative", "cap", "none")
GUARD_REFS = ("base_step", "monotone")


class QRWindow:
    """Sliding window of the last ``m`` differences with Delta R = Q R (Q orthonormal rows here).

    Storage: Q as an (m, n) array of rows, the Delta T (and optionally Delta X) columns in a ring
    buffer, R as a small float64 host matrix. Cost per update O(n m) plus O(m^3) on the host.
    """

    def __init__(self, m: int, like: Array, keep_dx: bool = False) -> None:
        n = like.shape[0]
        self.m = m
        self.Q = B.zeros((m, n), like)
        self._spare = B.zeros((m, n), like)
        self.dT = B.zeros((m, n), like)
        self.dX = B.zeros((m, n), like) if keep_dx else None
        self.R = np.zeros((m, m))
        self.order: list[int] = []  # physical rows of dT/dX, oldest first
        self._tiny = 100.0 * B.eps(like)

    @property
    def k(self) -> int:
        return len(self.order)

    def clear(self) -> None:
        self.order = []
        self.R[:] = 0.0

    def _drop_oldest(self) -> None:
        k = self.k
        self.order.pop(0)
        if k == 1:
            self.R[:] = 0.0
            return
        # Delta R without its first column = Q R[:, 1:], R[:, 1:] upper Hessenberg: re-triangularise.
        Qt, Rt = np.linalg.qr(self.R[:k, 1:k])
        # a dependent column left a zero row in R; the re-triangularisation may then return a
        # basis vector that is not needed (zero row of Rt) and not orthonormal: drop it
        row_max = np.abs(Rt).max(axis=1)
        dead = row_max <= self._tiny * max(row_max.max(), np.finfo(float).tiny)
        Qt[:, dead] = 0.0
        Rt[dead, :] = 0.0
        B.matmul_into(B.from_host(np.ascontiguousarray(Qt.T), self.Q), self.Q[:k], self._spare[: k - 1])
        self.Q, self._spare = self._spare, self.Q
        self.R[:] = 0.0
        self.R[: k - 1, : k - 1] = Rt

    def append(self, r: Array, r_prev: Array, Tx: Array, Tx_prev: Array, x: Array | None = None,
               x_prev: Array | None = None) -> None:
        """Push the column (r - r_prev, Tx - Tx_prev[, x - x_prev]); drops the oldest when full."""
        if self.k == self.m:
            self._drop_oldest()
        used = set(self.order)
        phys = next(i for i in range(self.m) if i not in used)
        B.sub_into(Tx, Tx_prev, self.dT[phys])
        if self.dX is not None:
            B.sub_into(x, x_prev, self.dX[phys])
        k = self.k
        d = self.Q[k]
        B.sub_into(r, r_prev, d)
        nd0 = B.norm(d)
        col = np.zeros(self.m)
        nd = nd0
        if k > 0 and nd0 > 0:
            Qk = self.Q[:k]
            for _ in range(2):  # classical Gram-Schmidt, repeated once if cancellation ("twice is enough")
                h = B.to_host(Qk @ d)
                d -= B.from_host(h, d) @ Qk
                col[:k] += h
                nd_new = B.norm(d)
                done = nd_new >= 0.7071 * nd
                nd = nd_new
                if done:
                    break
        if nd <= self._tiny * nd0 or nd == 0.0:  # dependent (or zero) column: keep it, with a zero q
            d *= 0.0
            nd = 0.0
        else:
            d /= nd
        col[k] = nd
        self.R[:, k] = col
        self.order.append(phys)

    def solve(self, r: Array, reg: float) -> tuple[np.ndarray, float]:
        """gamma = argmin ||r - Delta R gamma||^2 + reg ||Delta R||_F^2 ||gamma||^2 (oldest first) and the
        gain factor theta = ||r - Delta R gamma|| / ||r|| (spec 2.4), both from the small QR factor."""
        k = self.k
        R = self.R[:k, :k]
        c = B.to_host(self.Q[:k] @ r)
        rr = B.norm(r) ** 2
        lam = reg * float(np.sum(R * R))
        # Tikhonov solution through the SVD of the small factor: stable for rank-deficient R,
        # gamma = V diag(s / (s^2 + lam)) U^T c (s = 0 directions are dropped)
        U, s, Vt = np.linalg.svd(R)
        keep = s > (np.finfo(float).eps * k * s[0] if lam == 0 else 0.0)  # lam = 0: lstsq's rcond
        filt = np.zeros_like(s)
        filt[keep] = s[keep] / (s[keep] ** 2 + lam)
        gamma = Vt.T @ (filt * (U.T @ c))
        if not np.all(np.isfinite(gamma)):  # only if the history itself holds overflowed values
            gamma = np.zeros(k)
        res2 = max(rr - float(c @ c), 0.0) + float(np.sum((c - R @ gamma) ** 2))
        theta = float(np.sqrt(min(res2 / rr, 1.0))) if rr > 0 else 0.0
        return gamma, theta

    def combine(self, gamma: np.ndarray, which: str = "T") -> Array:
        """Delta T gamma (or Delta X gamma) with gamma oldest first."""
        g = np.zeros(self.m)
        g[self.order] = gamma
        M = self.dT if which == "T" else self.dX
        return B.from_host(g, M) @ M


@dataclass
class StepInfo:
    """What one accelerator step did (spec section 3.2). ``beta_bar`` is the aggregate momentum
    -sum(gamma) after the governor, ``beta_bar_raw`` before it; ``theta`` the gain factor; ``mass``
    the effective mass M of the step (spec 2.3, ``dynamics.effective_mass``; 1/2 for a plain step)."""

    theta: float = 1.0
    beta_bar: float = 0.0
    beta_bar_raw: float = 0.0
    gamma: np.ndarray = field(default_factory=lambda: np.zeros(0))
    accepted: bool = True
    restarted: bool = False
    governed: bool = False
    n_energy: int = 0
    mass: float = 0.5


class Accelerator:
    """Stateful AA-II(m) / EG-AA step for your own fixed-point loop.

    >>> acc = Accelerator(m=5)                    # EG-AA "faithful": dissipative governor
    >>> for _ in range(100):                      # doctest: +SKIP
    ...     x = acc.step(x, T(x), energy=F)       # guard on F; without energy: no guard

    ``step(x, Tx, energy)`` records ``(x, r = Tx - x, Tx)``, solves the regularised least squares
    (spec 2.1), applies the governor, forms the candidate ``Tx - Delta T gamma`` (with ``relaxation``
    beta_mix: ``beta_mix (Tx - Delta T gamma) + (1 - beta_mix)(x - Delta X gamma)``) and, when
    ``energy`` is given, accepts it only if ``energy(candidate) <= ref - sigma ||r||^2 / h`` with
    ``ref = energy(Tx)`` (``guard_ref="base_step"``) or ``energy(x)`` (``"monotone"``). A rejected or
    non-finite candidate is replaced by the base step ``Tx`` and, if ``restart_on_reject``, the
    memory is cleared. Non-finite candidates are never returned.

    Reconstructed [spec I]: the governor (``"dissipative"``: beta_bar <= min(beta_max,
    (a + max(beta_bar_prev, 0)) / (a + 1)), from M' <= 2c with M = (1 + beta)/2, a = 4; ``"cap"``:
    beta_bar <= beta_max; ``"none"``), its action (shrink gamma, direction kept), the energy test and
    the restart. The paper's exact algorithm could not be read (spec section 0).

    ``reg`` is relative: the penalty is ``reg * ||Delta R||_F^2 * ||gamma||^2``; for float32 inputs it
    is raised to at least the dtype's epsilon. ``step`` keeps references to ``x`` and ``Tx`` (no copy)
    for the next difference: do not modify them in place after the call.
    """

    def __init__(self, m: int = 5, *, reg: float = 1e-10, governor: str = "dissipative", a: float = 4.0,
                 beta_max: float = 1.0, guard_ref: str = "base_step", sigma: float = 0.0,
                 restart_on_reject: bool = True, relaxation: float = 1.0, h: float | None = None) -> None:
        check_int(m, "m")
        check_number(reg, "reg", strict=False)
        if governor not in GOVERNORS:
            raise ValueError(f"governor must be one of {GOVERNORS}, got {governor!r}")
        check_number(a, "a")
        check_number(beta_max, "beta_max")
        if guard_ref not in GUARD_REFS:
            raise ValueError(f"guard_ref must be one of {GUARD_REFS}, got {guard_ref!r}")
        check_number(sigma, "sigma", strict=False)
        if sigma > 0 and (h is None or not h > 0):
            raise ValueError("sigma > 0 needs the step size h > 0")
        if not (0.0 < relaxation <= 2.0):
            raise ValueError(f"relaxation must be in (0, 2], got {relaxation!r}")
        self.m, self.reg, self.governor, self.a, self.beta_max = int(m), float(reg), governor, float(a), float(beta_max)
        self.guard_ref, self.sigma, self.restart_on_reject = guard_ref, float(sigma), bool(restart_on_reject)
        self.relaxation, self.h = float(relaxation), h
        self.info = StepInfo()
        self.reset()

    def reset(self) -> None:
        """Forget the memory and the governor's state (the window buffers are kept)."""
        self._window: QRWindow | None = getattr(self, "_window", None)
        if self._window is not None:
            self._window.clear()
        self._prev: tuple[Array, Array, Array] | None = None
        self._beta_prev = 0.0
        self._last: tuple[Array, float] | None = None  # (returned point, its energy) when known

    @property
    def memory(self) -> int:
        """Number of difference columns currently stored."""
        return 0 if self._window is None else self._window.k

    def _cap(self) -> float:
        if self.governor == "dissipative":
            return min(self.beta_max, (self.a + max(self._beta_prev, 0.0)) / (self.a + 1.0))
        if self.governor == "cap":
            return self.beta_max
        return np.inf

    def _energy(self, y: Array, energy: Callable[[Array], float], info: StepInfo) -> float:
        if self._last is not None and self._last[0] is y:
            return self._last[1]
        info.n_energy += 1
        val = float(energy(y))
        return val if np.isfinite(val) else np.inf

    def step(self, x: Array, Tx: Array, energy: Callable[[Array], float] | None = None) -> Array:
        """One AA/EG-AA step from ``x`` with ``Tx = T(x)``; returns the next iterate (see class doc)."""
        if tuple(Tx.shape) != tuple(x.shape) or x.ndim != 1:
            raise ValueError(f"x and Tx must be 1-D of equal shape, got {tuple(x.shape)} and {tuple(Tx.shape)}")
        info = StepInfo()
        r = Tx - x
        if self.m > 0 and self._prev is not None:
            if self._window is None or self._window.Q.shape[1] != x.shape[0]:
                self._window = QRWindow(self.m, x, keep_dx=self.relaxation != 1.0)
            xp, rp, Txp = self._prev
            self._window.append(r, rp, Tx, Txp, x, xp)
        self._prev = (x, r, Tx)
        k = self.memory
        out = Tx
        if k > 0:
            reg = self.reg if B.eps(x) < 1e-10 else max(self.reg, B.eps(x))
            gamma, info.theta = self._window.solve(r, reg)
            info.beta_bar_raw = info.beta_bar = float(-gamma.sum())
            cap = self._cap()
            if info.beta_bar > cap:
                gamma = gamma * (cap / info.beta_bar)
                info.beta_bar, info.governed = cap, True
            info.gamma = gamma
            info.mass = effective_mass(gamma)
            cand = Tx - self._window.combine(gamma, "T")
            if self.relaxation != 1.0:
                cand = self.relaxation * cand + (1.0 - self.relaxation) * (x - self._window.combine(gamma, "X"))
            ok = B.all_finite(cand)
            if ok and energy is not None:
                e_cand = self._energy(cand, energy, info)
                ref = self._energy(Tx if self.guard_ref == "base_step" else x, energy, info)
                margin = self.sigma * B.norm(r) ** 2 / self.h if self.sigma > 0 else 0.0
                ok = bool(np.isfinite(e_cand) and e_cand <= ref - margin)
                self._last = (cand, e_cand) if ok else (Tx, ref) if self.guard_ref == "base_step" else None
            if ok:
                out = cand
            else:
                info.accepted = False
                if self.restart_on_reject:
                    self._window.clear()
                    info.restarted = True
        self._beta_prev = info.beta_bar if (info.accepted and k > 0) else 0.0
        self.info = info
        return out

    def energy_of(self, y: Array) -> float | None:
        """The energy of ``y`` if the last step evaluated it (saves an objective call), else None."""
        return self._last[1] if self._last is not None and self._last[0] is y else None
