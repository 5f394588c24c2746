"""Type-II Anderson acceleration with the EG-AA inertial governor and energy guard.

* :class:`QRWindow`: the window of residual differences Delta R = Q R kept as a thin QR factorisation,
  updated by one Gram-Schmidt append (with re-orthogonalisation) and one small re-triangularisation
  when the oldest column is dropped (Walker & Ni 2011, section 4). The least-squares problem of type-II
  AA is solved on the small (m x m) factor: never the normal equations.
* :class:`Accelerator`: a stateful AA(m) step ``x_{k+1} = T x_k - Delta T_k gamma^k`` with the inertial
  governor and the energy guard of EG-AA (arXiv 2512.21269, abstract; the algorithm is reconstructed,
  see docs/anderson.md, "What is implemented, and what is reconstructed"), usable in one's own loop.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.linalg import lapack as _lapack

from .._conventions import check_bool, check_choice, check_float, check_int
from . import _backend as B
from ._backend import Array
from .dynamics import effective_mass

#: Inertial governors (docs/anderson.md, "The governor"): "trust" (the "bracket" and "trust" presets),
#: "hybrid" (trust, dissipative after a stagnation test fires), "dissipative" (the "faithful" preset), "cap", "none".
GOVERNORS = ("trust", "dissipative", "cap", "none", "hybrid")
#: What the accelerator does with its memory when the guard rejects a candidate.
ON_REJECT = ("restart", "keep", "drop_newest", "lookahead")
#: What the energy guard compares a candidate with (docs/anderson.md, "The guard").
GUARD_REFS = ("auto", "descent", "base_step", "monotone")
#: The "descent" guard treats a candidate within this many units of the dtype's epsilon (relative to
#: E(x)) of its reference as a tie, and accepts it.
TIE_ULPS = 8.0
#: ``on_reject="lookahead"``: by default at most this many trial points in a row before falling back to the
#: last point the guard passed (chosen on the tuning set, docs/anderson.md, "Sixth pass").
LOOKAHEAD_STEPS = 6


_EPS64 = float(np.finfo(np.float64).eps)
_TINY64 = float(np.finfo(np.float64).tiny)
_UPPER: dict[int, np.ndarray] = {}  # upper-triangular masks by size


def _small_qr(H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reduced QR of a small float64 matrix through LAPACK directly (``numpy.linalg.qr``'s Python
    overhead is several times the work at m <= 20)."""
    qr, tau, _, info = _lapack.dgeqrf(H)
    if info != 0:  # pragma: no cover - LAPACK argument error
        return np.linalg.qr(H)
    n = H.shape[1]
    Q, _, info = _lapack.dorgqr(qr[:, :n], tau)
    upper = _UPPER.get(n)
    if upper is None:
        upper = _UPPER[n] = np.triu(np.ones((n, n)))
    return (Q, qr[:n, :n] * upper) if info == 0 else np.linalg.qr(H)


def _small_svd(R: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SVD of a small float64 matrix through LAPACK directly (see :func:`_small_qr`)."""
    U, s, Vt, info = _lapack.dgesdd(R)
    return (U, s, Vt) if info == 0 else np.linalg.svd(R)


def _host(v: Array) -> np.ndarray:
    """``B.to_host`` without its call overhead for what NumPy float64 products already are."""
    return v if type(v) is np.ndarray and v.dtype == np.float64 else B.to_host(v)


def _sq(v: float) -> float:
    """``v * v`` (inf rather than Python's OverflowError from ``v ** 2``)."""
    return v * v


def resolve_on_reject(on_reject: str | None, restart_on_reject: bool | None = None) -> str:
    """The one ``on_reject`` value from it and its deprecated alias ``restart_on_reject``.

    Parameters
    ----------
    on_reject : {"restart", "keep", "drop_newest", "lookahead"} or None
        None: ``"restart"``, or what ``restart_on_reject`` says.
    restart_on_reject : bool or None
        Deprecated: True is ``"restart"``, False ``"keep"``; warns with :class:`DeprecationWarning`.

    Returns
    -------
    str
        One of :data:`ON_REJECT`.

    Raises
    ------
    ValueError
        If the two are given and contradict each other, or ``on_reject`` is not in :data:`ON_REJECT`.
    """
    if on_reject is not None:
        on_reject = check_choice(on_reject, "on_reject", ON_REJECT)
    if restart_on_reject is None:
        return on_reject or "restart"
    alias = "restart" if check_bool(restart_on_reject, "restart_on_reject") else "keep"
    warnings.warn("restart_on_reject is deprecated: use on_reject='restart' (True) or on_reject='keep' (False)",
                  DeprecationWarning, stacklevel=3)
    if on_reject is not None and on_reject != alias:
        raise ValueError(f"restart_on_reject={restart_on_reject!r} (on_reject={alias!r}) contradicts "
                         f"on_reject={on_reject!r}: give on_reject only")
    return alias


class QRWindow:
    """Sliding window of the last ``m`` differences with Delta R = Q R (Q stored as orthonormal rows).

    Parameters
    ----------
    m : int
        Number of columns kept.
    like : array or tensor, 1-D
        Fixes the length ``n``, backend, dtype and device of the stored vectors.
    keep_dx : bool, default False
        Also keep the Delta X columns (needed for relaxation).

    Notes
    -----
    Storage: Q as an (m, n) array of rows, the Delta T (and optionally Delta X) columns in a ring
    buffer, R as a small float64 host matrix. Cost per update O(n m) plus O(m^3) on the host.
    """

    def __init__(self, m: int, like: Array, keep_dx: bool = False) -> None:
        n = like.shape[0]
        m = min(m, n)  # more than n difference columns are linearly dependent: never useful
        self.m, self.n = m, n
        self.Q = B.zeros((m, n), like)
        self._spare = B.zeros((m, n), like)
        self.dT = B.zeros((m, n), like)
        self.dX = B.zeros((m, n), like) if keep_dx else None
        self.R = np.zeros((m, m))
        self.order: list[int] = []  # physical rows of dT/dX, oldest first
        self._tiny = 100.0 * B.eps(like)
        self._kind = (type(like), like.dtype, getattr(like, "device", None))

    def compatible(self, x: Array) -> bool:
        """Whether ``x`` has the backend, dtype and device of the stored vectors."""
        return (type(x), x.dtype, getattr(x, "device", None)) == self._kind

    @property
    def k(self) -> int:
        """Number of stored columns."""
        return len(self.order)

    def clear(self) -> None:
        """Forget every column (the buffers are kept)."""
        self.order = []
        self.R[:] = 0.0

    def drop_newest(self) -> None:
        """Forget the newest column (the last column of R: Q and the other columns are unchanged)."""
        k = self.k
        if k:
            self.order.pop()
            self.R[:, k - 1] = 0.0

    def _drop_oldest(self) -> None:
        k = self.k
        self.order.pop(0)
        if k == 1:
            self.R[:] = 0.0
            return
        # Delta R without its first column = Q R[:, 1:], R[:, 1:] upper Hessenberg: re-triangularise.
        Qt, Rt = _small_qr(self.R[:k, 1:k])
        # a dependent column left a zero row in R; the re-triangularisation may then return a
        # basis vector that is not needed (zero row of Rt) and not orthonormal: drop it
        row_max = np.abs(Rt).max(axis=1)
        threshold = self._tiny * max(row_max.max(), _TINY64)
        if any(v <= threshold for v in row_max.tolist()):
            dead = row_max <= threshold
            Qt[:, dead] = 0.0
            Rt[dead, :] = 0.0
        Qt_T = Qt.T  # C-contiguous: LAPACK returns Qt in Fortran order
        if type(self.Q) is np.ndarray and Qt_T.flags.c_contiguous and self.Q.dtype == np.float64:
            np.matmul(Qt_T, self.Q[:k], out=self._spare[: k - 1])
        else:
            B.matmul_into(B.from_host(np.ascontiguousarray(Qt_T), self.Q), self.Q[:k], self._spare[: k - 1])
        self.Q, self._spare = self._spare, self.Q
        self.R.fill(0.0)
        self.R[: k - 1, : k - 1] = Rt

    def append(self, r: Array, r_prev: Array, Tx: Array, Tx_prev: Array, x: Array | None = None,
               x_prev: Array | None = None) -> None:
        """Push the column ``(r - r_prev, Tx - Tx_prev[, x - x_prev])``, dropping the oldest when full."""
        if self.k == self.m:
            self._drop_oldest()
        order = self.order
        phys = len(order) if not order or order[0] == 0 else order[0] - 1  # a free row of dT/dX
        if phys in order:
            phys = next(i for i in range(self.m) if i not in order)
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
                h = _host(Qk @ d)
                B.minus_combination(d, h, Qk, inplace=True)
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

    def solve(self, r: Array, reg: float, nr: float | None = None) -> tuple[np.ndarray, float]:
        """Regularised least squares on the small QR factor.

        Parameters
        ----------
        r : array or tensor
            Current residual.
        reg : float
            Relative Tikhonov weight.
        nr : float, optional
            ``||r||`` if already known.

        Returns
        -------
        gamma : ndarray
            ``argmin ||r - Delta R gamma||^2 + reg ||Delta R||_F^2 ||gamma||^2``, oldest column first.
        theta : float
            Gain factor ``||r - Delta R gamma|| / ||r||`` in [0, 1] (docs/anderson.md, "Momentum form").
        """
        k = self.k
        R = self.R[:k, :k]
        c = _host(self.Q[:k] @ r)
        if nr is None:
            nr = B.norm(r)
        # Tikhonov solution through the SVD of the small factor: stable for rank-deficient R,
        # gamma = V diag(s / (s^2 + lam)) U^T c (s = 0 directions are dropped); ||Delta R||_F^2 = sum s^2
        U, s, Vt = _small_svd(R)
        s2 = s * s
        lam = reg * float(s2.sum())
        # s = 0 directions are dropped (lam = 0: lstsq's rcond); the tiny shift only guards 0/0
        filt = s / (s2 + (lam + _TINY64))
        cut = _EPS64 * k * s[0] if lam == 0 else 0.0
        if s[-1] <= cut:  # (s is sorted, largest first; NaN stays NaN either way)
            filt = filt * (s > cut)
        gamma = Vt.T @ (filt * (U.T @ c))
        if not math.isfinite(gamma.sum()):  # only if the history itself holds overflowed values
            gamma = np.zeros(k)
        if not 0.0 < nr < np.inf:
            return gamma, 0.0
        cn, resn = c / nr, (c - R @ gamma) / nr  # scaled by ||r||: no overflow for huge residuals
        res2 = max(1.0 - float(cn @ cn), 0.0) + float(resn @ resn)
        theta = math.sqrt(min(res2, 1.0))
        return gamma, theta

    def _scatter(self, gamma: np.ndarray) -> np.ndarray:
        """``gamma`` (oldest first) placed at the physical rows of the ring buffer, zeros elsewhere."""
        g = np.zeros(self.m)
        for row, value in zip(self.order, gamma.tolist()):
            g[row] = value
        return g

    def combine(self, gamma: np.ndarray, which: str = "T") -> Array:
        """``Delta T gamma`` (``which="T"``) or ``Delta X gamma`` (``"X"``), ``gamma`` oldest first."""
        M = self.dT if which == "T" else self.dX
        return B.from_host(self._scatter(gamma), M) @ M

    def subtract_from(self, y: Array, gamma: np.ndarray, which: str = "T") -> Array:
        """``y - Delta T gamma`` (or ``Delta X``) as a new array, in one pass (:meth:`combine`)."""
        return B.minus_combination(y, self._scatter(gamma), self.dT if which == "T" else self.dX)


@dataclass
class StepInfo:
    """What one accelerator step did.

    Attributes
    ----------
    theta : float
        Gain factor ``||r - Delta R gamma|| / ||r||`` in [0, 1] (1 for a step without extrapolation).
    beta_bar, beta_bar_raw : float
        Aggregate momentum ``-sum(gamma)`` after and before the governor (the momentum form of AA,
        arXiv 2512.21269, abstract; docs/anderson.md, "Momentum form").
    gamma : ndarray
        Least-squares coefficients after the governor, oldest difference first.
    accepted : bool
        False when the guard (or a non-finite candidate) made the step fall back to ``T x``.
    restarted : bool
        The memory was cleared at this step.
    governed : bool
        The governor shrank ``gamma`` at this step.
    n_energy : int
        Energy (objective) evaluations made by this step.
    mass : float
        Effective mass ``M`` of the step (``dynamics.effective_mass``; 1/2 for a plain step).
    trial : bool
        The rejected candidate was returned as a trial point (``on_reject="lookahead"``).
    """

    theta: float = 1.0
    beta_bar: float = 0.0
    beta_bar_raw: float = 0.0
    gamma: np.ndarray = field(default_factory=lambda: np.zeros(0))
    accepted: bool = True
    restarted: bool = False
    governed: bool = False
    n_energy: int = 0
    mass: float = 0.5
    trial: bool = False


class Accelerator:
    """Stateful AA-II(m) / EG-AA step for your own fixed-point loop.

    ``step(x, Tx, energy)`` records ``(x, r = Tx - x, Tx)``, solves the regularised least squares,
    lets the governor bound the aggregate momentum, forms the candidate ``Tx - Delta T gamma`` and,
    when ``energy`` is given, accepts it only if it passes the energy guard. A rejected or non-finite
    candidate is replaced by the base step ``Tx`` and the memory is treated as ``on_reject`` says (cleared by default).
    Non-finite candidates are never returned.

    Parameters
    ----------
    m : int, default 5
        Window (number of stored differences); 0 gives the base iteration.
    reg : float, default 1e-10
        Relative Tikhonov weight: the penalty is ``reg * ||Delta R||_F^2 * ||gamma||^2``; raised to
        the dtype's epsilon for float32.
    governor : {"trust", "dissipative", "cap", "none"}, default "trust"
        Bound on the aggregate momentum ``beta_bar = -sum(gamma)`` (the effective mass grows with it).
        ``"trust"``: ``beta_bar <= bound``, where the bound is multiplied by ``growth`` after every
        accepted extrapolation and reset to ``beta_max`` after a rejection (reconstructed; chosen on a
        tuning set, docs/anderson.md, "The governor"). ``"dissipative"``:
        ``beta_bar <= min(beta_max, (a + max(beta_bar_prev, 0)) / (a + 1))``, the discrete form of
        ``M' <= 2 c`` with ``M = (1 + beta)/2`` (reconstructed). ``"cap"``: ``beta_bar <= beta_max``.
        ``"none"``: plain AA. ``"hybrid"``: ``"trust"``, except for ``stall_steps`` steps (0: for good) after
        a stagnation test fires (``||r||`` has not fallen by the factor ``stall_factor`` over the last
        ``stall_window`` steps, none of them a rejection), during which it is ``"dissipative"``
        (reconstructed, docs/anderson.md, "The governor"). The governor shrinks ``gamma``, keeping its
        direction.
    a : float, default 4.0
        Rate constant of the dissipative governor.
    beta_max : float, default 1.0
        Cap of ``"cap"``, ceiling of ``"dissipative"``, and reset value of ``"trust"``'s bound.
    growth : float, default 10.0
        Factor by which ``"trust"``'s bound grows after an accepted extrapolation.
    guard_ref : {"auto", "descent", "base_step", "monotone"}, default "auto"
        The guard accepts a candidate ``y`` iff ``E(y) <= ref``: ``"base_step"``: ``ref = E(Tx)``, the
        value of the plain (prox-)gradient step; ``"descent"``: ``ref = E(x) - ||r||^2 / (2 h)``, the
        decrease that step is guaranteed for ``h <= 1/L`` (needs ``h``); ``"monotone"``:
        ``ref = E(x) - sigma ||r||^2 / h``; ``"auto"``: ``"base_step"`` when ``smooth`` (or without
        ``h``), else ``"descent"``. E is evaluated only where the bounds that ``h`` and ``smooth``
        give cannot decide (docs/anderson.md, "The guard"); the decisions are those of the fully
        evaluated guard. "descent" and "base_step" treat a candidate within 8 units of the dtype's
        epsilon (relative to E) of the reference as a tie, and accept it.
    sigma : float, default 0.0
        Margin of ``"monotone"``.
    on_reject : {"restart", "keep", "drop_newest", "lookahead"}, default "restart"
        What a rejection does to the memory: clear it, keep it, or forget its newest column; or
        ``"lookahead"`` (the watchdog technique of Chamberlain, Powell, Lemarechal & Pedersen 1982): the
        rejected candidate is returned as a *trial point* (``info.trial``) with the memory kept, and the
        next steps go on from it as plain AA would, for at most ``lookahead_steps`` trial points; the first
        of their candidates that passes the rejected step's guard reference is accepted, and otherwise the
        step falls back to that step's ``T x`` and restarts. The guarded sequence (:meth:`iterate`) stays
        monotone; the trial points need not. Reconstructed (docs/anderson.md, "Sixth pass").
    restart_on_reject : bool, optional
        Deprecated alias: True means ``on_reject="restart"``, False ``on_reject="keep"``
        (:class:`DeprecationWarning`; a :class:`ValueError` if it contradicts ``on_reject``).
    stall_window, stall_factor, stall_steps : int, float, int, default 20, 0.9, 20
        The stagnation test and the length of the dissipative episode of ``governor="hybrid"``.
    stall_momentum : float, optional
        With ``governor="hybrid"``, let the stagnation test fire only if the median raw momentum beta_bar of
        the last ``stall_window`` steps (all accepted extrapolations) is within ``stall_momentum`` of 1: AA
        stalling as an undamped heavy ball, not making progress through large cancelling extrapolations
        (reconstructed, chosen on the tuning set; docs/anderson.md, "Sixth pass"). None: no such condition.
    lookahead_steps : int, default :data:`LOOKAHEAD_STEPS`
        Trial points allowed in a row with ``on_reject="lookahead"``.
    relaxation : float, default 1.0
        Mixing ``beta_mix`` in (0, 2]: ``beta_mix (Tx - Delta T gamma) + (1 - beta_mix)(x - Delta X gamma)``.
    cooldown : int, optional
        Plain base steps taken after a rejection before extrapolating again (they need no energy
        evaluation). Default: 1 where ``guard_ref="auto"`` resolves to ``"descent"`` (no free lower
        bound on ``E(T x)``: each rejection would otherwise cost one more evaluation), else 0.
    h : float, optional
        Step size of the base map ``T(x) = prox_{h psi}(x - h grad phi(x))`` of the energy
        ``E = phi + psi``; giving it declares ``h <= 1/L``, so the descent lemma
        ``E(T x) <= E(x) - ||r||^2 / (2h)`` holds. Required by ``guard_ref="descent"`` and ``sigma > 0``.
    smooth : bool, default False
        Declare moreover that ``psi = 0`` and ``E`` is convex (``T(x) = x - h grad E(x)``): convexity
        then bounds ``E(T x)`` from below and ``E`` of a rejected point from both sides, and rules out
        some candidates before their energy is evaluated.

    Notes
    -----
    ``step`` keeps references to ``x`` and ``Tx`` (no copy) for the next difference: do not modify
    them in place after the call. The momentum form, the effective mass and the governor follow
    arXiv 2512.21269 (abstract); the exact rules are reconstructed (docs/anderson.md).

    Examples
    --------
    >>> import numpy as np
    >>> from stablelearn.anderson import Accelerator
    >>> T = lambda x: 0.5 * x + 1.0                 # fixed point x = 2
    >>> acc, x = Accelerator(m=2, governor="none"), np.zeros(3)
    >>> for _ in range(5):
    ...     x = acc.step(x, T(x))
    >>> bool(np.allclose(x, 2.0))
    True
    """

    def __init__(self, m: int = 5, *, reg: float = 1e-10, governor: str = "trust", a: float = 4.0,
                 beta_max: float = 1.0, growth: float = 10.0, guard_ref: str = "auto", sigma: float = 0.0,
                 restart_on_reject: bool | None = None, relaxation: float = 1.0, cooldown: int | None = None,
                 h: float | None = None, smooth: bool = False, on_reject: str | None = None,
                 stall_window: int = 20, stall_factor: float = 0.9, stall_steps: int = 20,
                 stall_momentum: float | None = None, lookahead_steps: int = LOOKAHEAD_STEPS) -> None:
        self.m = check_int(m, "m", low=0)
        self.reg = check_float(reg, "reg", low=0.0)
        self.governor = check_choice(governor, "governor", GOVERNORS)
        self.a = check_float(a, "a", low=0.0, low_inclusive=False)
        self.beta_max = check_float(beta_max, "beta_max", low=0.0, low_inclusive=False)
        self.growth = check_float(growth, "growth", low=1.0)
        self.guard_ref = check_choice(guard_ref, "guard_ref", GUARD_REFS)
        self.sigma = check_float(sigma, "sigma", low=0.0)
        self.on_reject = resolve_on_reject(on_reject, restart_on_reject)
        self.stall_window = check_int(stall_window, "stall_window", low=1)
        self.stall_factor = check_float(stall_factor, "stall_factor", low=0.0, high=1.0, low_inclusive=False)
        self.stall_steps = check_int(stall_steps, "stall_steps", low=0)
        self.stall_momentum = None if stall_momentum is None else check_float(stall_momentum, "stall_momentum", low=0.0)
        self.lookahead_steps = check_int(lookahead_steps, "lookahead_steps", low=1)
        self.relaxation = check_float(relaxation, "relaxation", low=0.0, high=2.0, low_inclusive=False)
        self.h = None if h is None else check_float(h, "h", low=0.0, low_inclusive=False)
        self.smooth = check_bool(smooth, "smooth")
        # "auto": compare with E(T x) where convexity brackets it for free (smooth, h), else with the
        # base step's guaranteed decrease (h), else with E(T x) evaluated
        self._ref = (self.guard_ref if self.guard_ref != "auto" else
                     "base_step" if self.smooth or self.h is None else "descent")
        auto_cool = 1 if self.guard_ref == "auto" and self._ref == "descent" else 0
        self.cooldown = auto_cool if cooldown is None else check_int(cooldown, "cooldown", low=0)
        self.info = StepInfo()
        self._window: QRWindow | None = None
        self._dtype, self._eps, self._tie = None, 0.0, 0.0
        self.reset()

    def reset(self) -> None:
        """Forget the memory and the governor's state (the window buffers are kept)."""
        if self._window is not None:
            self._window.clear()
        self._prev: tuple[Array, Array, Array] | None = None
        self._beta_prev = 0.0
        self._cool = 0
        self._bound = np.inf
        self._stalled = 0  # steps left under the dissipative bound (-1: for good)
        self._res_hist: list[float] = []
        self._beta_hist: list[float] = []  # raw beta_bar of the latest run of accepted extrapolations (stall_momentum)
        self._known: _Bracket | None = None  # what is known of the energy of the point last returned
        self._trial: _Trial | None = None  # set while the point last returned is a lookahead trial

    @property
    def memory(self) -> int:
        """Number of difference columns currently stored."""
        return 0 if self._window is None else self._window.k

    def _cap(self) -> float:
        if self.governor == "dissipative" or (self.governor == "hybrid" and self._stalled):
            return min(self.beta_max, (self.a + max(self._beta_prev, 0.0)) / (self.a + 1.0))
        if self.governor == "cap":
            return self.beta_max
        if self.governor in ("trust", "hybrid"):
            return self._bound
        return np.inf

    @staticmethod
    def _energy(point: Array, energy: Callable[[Array], float], info: StepInfo) -> float:
        """E(point), counted in ``info.n_energy``; non-finite values become inf."""
        info.n_energy += 1
        val = float(energy(point))
        return val if math.isfinite(val) else np.inf

    def _evaluate(self, b: "_Bracket", energy: Callable[[Array], float], info: StepInfo) -> float:
        """The exact energy of ``b.point`` (evaluated once)."""
        if b.lo != b.hi:
            b.lo = b.hi = self._energy(b.point, energy, info)
        return b.hi

    def _threshold(self, e: float, margin: float) -> float:
        """The acceptance threshold for a reference point of energy ``e``: ``e - margin``, plus for "descent" and
        "base_step" the tie rule: a candidate within the rounding error of E (TIE_ULPS units of the dtype's
        epsilon, relative) is not a failure; without it, candidates at rounding level are rejected at random
        and each rejection costs one more evaluation (docs/anderson.md, "The guard"). Increasing in ``e``, so a
        bracket on ``e`` brackets the threshold."""
        return e - margin + self._tie * abs(e) if math.isfinite(e) else e

    def _bracket_of(self, x: Array, r: Array, nr: float) -> "_Bracket":
        """What is known of E(x) for the point the last step returned: exact if it evaluated it; after a
        rejection, bounds from the point it was the base step of (docs/anderson.md, "The guard")."""
        known = self._known
        if known is None or known.point is not x:
            return _Bracket(x)
        if known.parent is not None and self.smooth:
            # F convex and L-smooth, x = T x_p = x_p + r_p, grad F(x) = -r / h (h <= 1/L):
            # F(x_p) - (|r_p|^2 + 2<r, r_p> - |r|^2)/(2h) <= F(x) <= F(x_p) - (|r_p|^2 + |r|^2)/(2h)
            lo_p, hi_p, r_p, nr_p = known.parent
            c = B.vdot(r, r_p)
            h2 = 2.0 * self.h
            known.lo = max(known.lo, lo_p - (_sq(nr_p) + 2.0 * c - _sq(nr)) / h2)
            known.hi = min(known.hi, hi_p - (_sq(nr_p) + _sq(nr)) / h2)
            if known.lo > known.hi:  # rounding: the bounds crossed; the midpoint is within rounding of both
                known.lo = known.hi = 0.5 * (known.lo + known.hi)
        known.parent = None
        return known

    def _base_step_bracket(self, bx: "_Bracket", Tx: Array, nr: float) -> "_Bracket":
        """Bounds on E(T x) from those on E(x), ``nr = |T x - x|``: the descent lemma (``h`` given:
        ``E(Tx) <= E(x) - |r|^2/(2h)``) and, for ``smooth``, convexity (``E(Tx) >= E(x) - |r|^2/h``)."""
        if self.h is None:
            return _Bracket(Tx)
        q = _sq(nr) / self.h
        lo = bx.lo - q if self.smooth else -np.inf
        return _Bracket(Tx, lo, bx.hi - 0.5 * q)

    def _reference(self, bx: "_Bracket", Tx: Array, nr: float) -> tuple["_Bracket", float]:
        """The guard's reference point, with what is known of its energy, and the margin below it
        (``nr = |T x - x|``)."""
        if self._ref == "base_step":
            return self._base_step_bracket(bx, Tx, nr), 0.0
        scale = 0.5 if self._ref == "descent" else self.sigma
        return bx, (scale * _sq(nr) / self.h if scale > 0 else 0.0)

    def _guard(self, bx: "_Bracket", r: Array, cand: Array, ref: "_Bracket", margin: float,
               energy: Callable[[Array], float], info: StepInfo) -> tuple[bool, float]:
        """The energy guard ``E(cand) <= threshold(E(ref)) `` (:meth:`_threshold`), evaluating E only where the
        known bounds cannot decide: the decision is the one the fully evaluated guard would take
        (docs/anderson.md, "The guard"). Returns the decision and E(cand) (inf if not evaluated)."""
        hi_ref = self._threshold(ref.hi, margin)
        if self.smooth and self.h is not None and math.isfinite(bx.lo):
            # convexity: E(cand) >= E(x) + <grad E(x), cand - x> = E(x) - <r, cand - x> / h
            if bx.lo - (float(r @ cand) - float(r @ bx.point)) / self.h > hi_ref:
                return False, np.inf  # certainly rejected: E(cand) is not needed
        e_cand = self._energy(cand, energy, info)
        if e_cand == np.inf or e_cand > hi_ref:  # (a NaN or infinite E(cand) is inf here, and fails)
            return False, e_cand
        if e_cand <= self._threshold(ref.lo, margin):
            return True, e_cand
        return e_cand <= self._threshold(self._evaluate(ref, energy, info), margin), e_cand

    def step(self, x: Array, Tx: Array, energy: Callable[[Array], float] | None = None) -> Array:
        """One AA/EG-AA step.

        Parameters
        ----------
        x : array or tensor, 1-D
            Current point.
        Tx : array or tensor, 1-D
            ``T(x)``, same shape, backend and dtype as ``x``; must be finite.
        energy : callable, optional
            ``energy(y) -> float`` for the guard (the objective F, or a residual norm); without it
            there is no guard.

        Returns
        -------
        array or tensor
            The next iterate (the accepted candidate or ``Tx``), in the backend of ``x``.

        Raises
        ------
        ValueError
            If ``x`` and ``Tx`` differ in shape or are not 1-D, if either holds NaN or infinity, or if
            the guard needs ``h`` and none was given.
        """
        if not (B.is_real_float(x) and B.is_real_float(Tx)):
            raise TypeError("x and Tx must be NumPy arrays or torch tensors of a real floating dtype, got "
                            f"{type(x).__name__} ({getattr(x, 'dtype', '-')}) and {type(Tx).__name__} "
                            f"({getattr(Tx, 'dtype', '-')})")
        if tuple(Tx.shape) != tuple(x.shape) or x.ndim != 1:
            raise ValueError(f"x and Tx must be 1-D of equal shape, got {tuple(x.shape)} and {tuple(Tx.shape)}")
        if B.is_torch(x) != B.is_torch(Tx):
            raise TypeError("x and Tx must both be NumPy arrays or both torch tensors")
        return self._step(x, Tx, energy, None, None)

    def _step(self, x: Array, Tx: Array, energy: Callable[[Array], float] | None, r: Array | None,
              nr: float | None) -> Array:
        """:meth:`step`, optionally given ``r = Tx - x`` and its norm (``solve`` has both already)."""
        if energy is not None and self.h is None and (self._ref == "descent" or self.sigma > 0):
            raise ValueError(f"guard_ref={self.guard_ref!r} needs h, the step size of T (Accelerator(h=...)), "
                             "or use guard_ref='base_step'")
        if r is None:
            r = Tx - x
            nr = B.norm(r)
        if not math.isfinite(nr):  # one check covers NaN/inf in x or Tx and an overflowing difference
            bad = "x" if not B.all_finite(x) else "Tx"
            raise ValueError(f"{bad} must be finite (found NaN or inf, or Tx - x overflowed); stop the loop or "
                             "restart from a finite point")
        if self.governor == "hybrid":
            if self._stalled > 0:
                self._stalled -= 1
            if self._stalled == 0:
                hist = self._res_hist
                hist.append(nr)
                if len(hist) > self.stall_window and nr > self.stall_factor * hist.pop(0) and self._heavy_ball():
                    # stagnation: ||r|| has not fallen by stall_factor over stall_window steps
                    self._stalled = self.stall_steps or -1
                    hist.clear()
        info = StepInfo()
        if self._dtype is None or x.dtype != self._dtype:  # (numpy reads dtype != None as != float64)
            self._dtype, self._eps = x.dtype, B.eps(x)
            self._tie = TIE_ULPS * self._eps if self._ref != "monotone" else 0.0
        if self.m > 0 and self._prev is not None:
            if self._window is None or self._window.n != x.shape[0] or not self._window.compatible(x):
                self._window = QRWindow(self.m, x, keep_dx=self.relaxation != 1.0)
            xp, rp, Txp = self._prev
            if tuple(xp.shape) == tuple(x.shape):
                self._window.append(r, rp, Tx, Txp, x, xp)
            else:  # a new problem size: start a fresh memory
                self._window.clear()
        self._prev = (x, r, Tx)
        trial, self._trial = self._trial, None
        if trial is not None and trial.point is not x:  # the caller did not go on from the trial point
            trial = None
        k = self.memory
        if self._cool > 0:  # plain steps after a rejection (see ``cooldown``)
            self._cool -= 1
            k = 0
        out = Tx
        bx = self._bracket_of(x, r, nr) if energy is not None else None
        ref, rejected = None, False
        if k > 0:
            reg = self.reg if self._eps < 1e-10 else max(self.reg, self._eps)
            gamma, info.theta = self._window.solve(r, reg, nr)
            info.beta_bar_raw = info.beta_bar = float(-gamma.sum())
            cap = self._cap()
            if info.beta_bar > cap:
                gamma = gamma * (cap / info.beta_bar)
                info.beta_bar, info.governed = cap, True
            info.gamma = gamma
            info.mass = effective_mass(gamma)
            cand = self._window.subtract_from(Tx, gamma, "T")
            if self.relaxation != 1.0:
                cand = self.relaxation * cand + (1.0 - self.relaxation) * self._window.subtract_from(x, gamma, "X")
            ok = finite = B.all_finite(cand)
            e_cand = np.inf
            if ok and energy is not None:
                # a lookahead step answers to the reference of the step whose candidate it follows
                ref, margin = (trial.ref, trial.margin) if trial is not None else self._reference(bx, Tx, nr)
                ok, e_cand = self._guard(bx, r, cand, ref, margin, energy, info)
            if ok:
                out = cand
                if energy is not None:
                    self._known = _Bracket(cand, e_cand, e_cand)
                self._bound = self._bound * self.growth
            elif self.on_reject == "lookahead" and finite and (trial is None or trial.left > 0):
                # the rejected candidate becomes a trial point: the next steps go on from it, and their
                # candidates must pass the anchor's reference, else the anchor's base step is taken
                if trial is None:
                    trial = _Trial(cand, x, r, nr, Tx, bx, ref, margin, info.beta_bar_raw, self.lookahead_steps)
                trial.point, trial.left = cand, trial.left - 1
                self._trial = trial
                self._known = _Bracket(cand, e_cand, e_cand) if math.isfinite(e_cand) else _Bracket(cand)
                out, info.accepted, info.trial = cand, False, True
            else:
                rejected = True
        if rejected:
            info.accepted = False
            beta_raw = info.beta_bar_raw
            if trial is not None:  # the lookahead failed: the anchor's base step, as if rejected there
                x, r, nr, Tx, bx, ref = trial.x, trial.r, trial.nr, trial.Tx, trial.bx, trial.ref
                beta_raw = trial.beta_raw
                out = Tx
                self._prev = (x, r, Tx)
            self._res_hist.clear()  # the stagnation test counts steps the guard accepts
            self._bound = max(self.beta_max, abs(beta_raw) / self.growth)
            self._cool = self.cooldown
            if self.on_reject in ("restart", "lookahead"):
                self._window.clear()
                info.restarted = True
            elif self.on_reject == "drop_newest":
                self._window.drop_newest()
        if energy is not None and out is Tx:  # what is known of E(T x), for the next step's guard
            bT = ref if ref is not None and ref.point is Tx else self._base_step_bracket(bx, Tx, nr)
            if bT.lo != bT.hi and self.smooth and self.h is not None:
                bT.parent = (bx.lo, bx.hi, r, nr)
            self._known = bT
        self._beta_prev = info.beta_bar if (info.accepted and k > 0) else 0.0
        if self.stall_momentum is not None and not info.trial:
            if info.accepted and k > 0:
                self._beta_hist.append(info.beta_bar_raw)
                del self._beta_hist[: -self.stall_window]
            else:
                self._beta_hist.clear()
        self.info = info
        return out

    def _heavy_ball(self) -> bool:
        """Whether a stagnation may switch on the dissipative bound: always, or with ``stall_momentum``, only if
        the last ``stall_window`` steps were accepted extrapolations whose median raw momentum beta_bar is within
        ``stall_momentum`` of 1 (AA moving as an undamped heavy ball, the regime the bound is for; not AA's
        large cancelling extrapolations, beta_bar of 1e3-1e4 either sign, which are making progress)."""
        if self.stall_momentum is None:
            return True
        bh = self._beta_hist
        return len(bh) >= self.stall_window and abs(float(np.median(bh)) - 1.0) <= self.stall_momentum

    def iterate(self, y: Array) -> Array:
        """The point of the guarded (monotone) sequence that ``y``, the point the last step returned, stands
        for: with ``on_reject="lookahead"``, the last point the guard passed while ``y`` is a trial point
        (``info.trial``), else ``y`` itself."""
        trial = self._trial
        return trial.x if trial is not None and trial.point is y else y

    def energy_of(self, y: Array) -> float | None:
        """The energy of ``y`` if the last step evaluated it (saves an objective call), else None."""
        known = self._known
        return known.hi if known is not None and known.point is y and known.lo == known.hi else None


class _Trial:
    """A rejected candidate taken as a trial point (``on_reject="lookahead"``): the point, the step it was
    rejected at (x, r, |r|, T x, the bracket of E(x)), that step's guard reference and margin, the rejected
    candidate's raw momentum, and the trial points still allowed."""

    __slots__ = ("point", "x", "r", "nr", "Tx", "bx", "ref", "margin", "beta_raw", "left")

    def __init__(self, *values: object) -> None:
        for name, value in zip(self.__slots__, values):
            setattr(self, name, value)


class _Bracket:
    """What is known of the energy of one point: ``lo <= E(point) <= hi`` (``lo == hi`` once evaluated);
    ``parent`` = (lo, hi, r, |r|) of the point whose base step this point is (bounds refined by convexity
    once this point's residual is known)."""

    __slots__ = ("point", "lo", "hi", "parent")

    def __init__(self, point: Array, lo: float = -np.inf, hi: float = np.inf) -> None:
        self.point, self.lo, self.hi, self.parent = point, lo, hi, None
