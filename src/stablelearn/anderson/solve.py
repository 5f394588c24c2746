"""``solve``: one driver for GD/ISTA, FISTA (+ restart), AA-II, AA-II with the SCS residual safeguard,
AA-I-S and EG-AA on a composite problem min F = phi + psi or a plain fixed-point map T.

The driver evaluates T at the current point, records the history, checks the stopping rules and asks
a method-specific stepper for the next point. NumPy arrays and torch tensors go through the same code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

from . import _backend as B
from ._checks import check_int, check_number
from .aa1 import TypeOneSafeguarded
from .accelerator import GOVERNORS, GUARD_REFS, Accelerator, StepInfo
from .maps import estimate_L, gd_map, prox_grad_map

Array = Any

METHODS = ("gd", "fista", "fista_restart", "aa", "aa_safe", "aa1_safe", "egaa")
PRESETS = {  # EG-AA presets (spec 3.2/3.3; both reconstructed)
    "faithful": {"governor": "dissipative"},  # guard + dissipative governor: the spec's reading of the paper
    "robust": {"governor": "none"},  # guard only: best measured on the raw, badly scaled problems
}
ENERGIES = ("potential", "residual")
DIVERGENCE_FACTOR = 1e8


@dataclass
class History:
    """Per-iterate arrays (length n_iter + 1): ``F`` (objective at the recorded point; NaN when no F),
    ``residual`` ||T(z) - z|| at the point where T was evaluated. Per-step arrays (length n_iter):
    ``theta`` (gain factor, 1 for steps without extrapolation), ``beta_bar`` (aggregate momentum
    after the governor), ``beta_bar_raw`` (before it), ``mass`` (effective mass M, spec 2.3),
    ``accepted``, ``restarted``."""

    F: np.ndarray
    residual: np.ndarray
    theta: np.ndarray
    beta_bar: np.ndarray
    beta_bar_raw: np.ndarray
    mass: np.ndarray
    accepted: np.ndarray
    restarted: np.ndarray


@dataclass
class SolveResult:
    """Outcome of ``solve``. ``status``: "converged" (||r_k|| <= tol ||r_0||), "max_iter", "diverged"
    (||r_k|| or F(x_k) - F(x_0) grew by DIVERGENCE_FACTOR), "non-finite" (T or F returned NaN/inf;
    ``x`` is then the last finite iterate). ``n_grad`` counts evaluations of T (one gradient and one
    prox each); ``n_F`` counts the objective evaluations the method itself needs (guard, restart
    test), not those made only to fill ``history.F``; the one or two gradient calls made at x0 to
    validate shapes (and to estimate L when it is not given) are not counted either."""

    x: Array
    converged: bool
    status: str
    n_iter: int
    n_grad: int
    n_F: int
    history: History
    method: str
    wall_time: float = 0.0
    info: dict = field(default_factory=dict)


class _Oracle:
    """T and F with counters and a small identity cache (a point's T/F is never computed twice)."""

    def __init__(self, T: Callable, F: Callable | None, size: int = 4) -> None:
        self._T, self._F = T, F
        self.n_T = self.n_F = 0
        self._tc: list[tuple[Array, Array]] = []
        self._fc: list[tuple[Array, float]] = []
        self.size = size

    @staticmethod
    def _find(cache: list, y: Array) -> Any:
        for obj, val in cache:
            if obj is y:
                return val
        return None

    def _put(self, cache: list, y: Array, val: Any) -> None:
        cache.append((y, val))
        del cache[: -self.size]

    def seed(self, y: Array, Ty: Array) -> None:
        """Record an evaluation of T made outside the oracle (counted)."""
        self.n_T += 1
        self._put(self._tc, y, Ty)

    def T(self, y: Array) -> Array:
        val = self._find(self._tc, y)
        if val is None:
            self.n_T += 1
            val = self._T(y)
            self._put(self._tc, y, val)
        return val

    def F(self, y: Array, count: bool = True) -> float:
        val = self._find(self._fc, y)
        if val is None:
            if count:
                self.n_F += 1
            val = float(self._F(y))
            self._put(self._fc, y, val)
        return val

    def residual_energy(self, y: Array) -> float:
        Ty = self.T(y)
        return B.norm(Ty - y) if B.all_finite(Ty) else np.inf


class _Base:
    """GD / ISTA: x <- T(x)."""

    def __init__(self) -> None:
        self.info = StepInfo()

    def primal(self, z: Array) -> Array:
        return z

    def step(self, z: Array, Tz: Array) -> Array:
        return Tz


class _Fista(_Base):
    """FISTA (Beck & Teboulle 2009), optionally with function-value restart (O'Donoghue & Candes 2015):
    if F(x_{k+1}) > F(x_k) the momentum is reset (t = 1, y = x_{k+1}). T is evaluated at y_k; the
    recorded iterate is x_k."""

    def __init__(self, x0: Array, oracle: _Oracle, restart: bool) -> None:
        super().__init__()
        self.x, self.t, self.oracle, self.restart = x0, 1.0, oracle, restart

    def primal(self, z: Array) -> Array:
        return self.x

    def step(self, y: Array, Ty: Array) -> Array:
        self.info = StepInfo()
        x_new = Ty
        if self.restart and self.oracle.F(x_new) > self.oracle.F(self.x):
            self.t, y_new = 1.0, x_new
            self.info.restarted = True
        else:
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * self.t**2))
            self.info.beta_bar = (self.t - 1.0) / t_new
            self.info.mass = 0.5 * (1.0 + self.info.beta_bar)  # M of a constant-momentum step (spec 2.3)
            y_new = x_new + self.info.beta_bar * (x_new - self.x)
            self.t = t_new
        self.x = x_new
        return y_new


class _Accelerated(_Base):
    """AA-II / AA-II-safe / EG-AA: an ``Accelerator`` with an energy for its guard (or none)."""

    def __init__(self, acc: Accelerator, energy: Callable | None) -> None:
        super().__init__()
        self.acc, self.energy = acc, energy

    def step(self, z: Array, Tz: Array) -> Array:
        out = self.acc.step(z, Tz, energy=self.energy)
        self.info = self.acc.info
        return out


class _TypeOne(_Base):
    def __init__(self, stepper: TypeOneSafeguarded) -> None:
        super().__init__()
        self.stepper = stepper

    def step(self, z: Array, Tz: Array) -> Array:
        out = self.stepper.step(z, Tz)
        self.info = self.stepper.info
        return out


def _choice(value: Any, name: str, options: tuple) -> Any:
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def _check_output(y: Array, x0: Array, name: str) -> None:
    if not hasattr(y, "shape") or tuple(y.shape) != tuple(x0.shape):
        raise ValueError(f"{name}(x0) must return an array of shape {tuple(x0.shape)}, "
                         f"got {getattr(y, 'shape', type(y).__name__)}")


def solve(
    x0: Array,
    *,
    grad: Callable[[Array], Array] | None = None,
    F: Callable[[Array], float] | None = None,
    prox: Callable[[Array, float], Array] | None = None,
    T: Callable[[Array], Array] | None = None,
    L: float | None = None,
    h: float | None = None,
    method: str = "egaa",
    preset: str = "faithful",
    m: int = 5,
    reg: float = 1e-10,
    governor: str | None = None,
    a: float = 4.0,
    beta_max: float = 1.0,
    energy: str | None = None,
    guard_ref: str = "base_step",
    sigma: float = 0.0,
    restart_on_reject: bool = True,
    relaxation: float = 1.0,
    tol: float = 1e-10,
    max_iter: int = 1000,
    callback: Callable[[int, Array, StepInfo], None] | None = None,
    seed: int | None = None,
    progress: bool = False,
) -> SolveResult:
    """Minimise F = phi + psi (``grad`` of phi, ``prox`` of psi, step ``h = 1/L``) or find a fixed
    point of ``T``, with one of ``METHODS``:

    * ``"gd"``: x <- T(x) (ISTA when ``prox`` is given); ``"fista"``, ``"fista_restart"``;
    * ``"aa"``: type-II AA(m) (spec 2.1), regularised least squares on a QR factor;
    * ``"aa_safe"``: AA with the SCS-style safeguard: reject when ||r(x_AA)|| > ||r(x_k)||, reset;
    * ``"aa1_safe"``: AA-I-S of Zhang, O'Donoghue & Boyd (2020), see ``aa1``;
    * ``"egaa"``: Energy-Guarded AA (spec 3.2, reconstructed [I]). ``preset="faithful"`` (guard +
      dissipative governor) or ``"robust"`` (guard only); ``governor`` overrides the preset. The
      energy is F (``"potential"``) or ||T(y) - y|| (``"residual"``, default when F is None); the
      guard compares with F(T x_k) (``guard_ref="base_step"``) or F(x_k) (``"monotone"``).

    ``F`` is the full objective phi + psi. ``tol`` is relative: stop when ||r_k|| <= tol ||r_0||. If
    neither ``L`` nor ``h`` is given, L is estimated by power iteration on finite-difference
    Hessian-vector products at x0 (seeded by ``seed``) and h = 1/(2 L_est) as a safety margin.
    Returns a ``SolveResult`` (history of NumPy arrays; x keeps x0's backend, dtype and device).
    """
    _choice(method, "method", METHODS)
    _choice(preset, "preset", tuple(PRESETS))
    if governor is not None:
        _choice(governor, "governor", GOVERNORS)
    if energy is not None:
        _choice(energy, "energy", ENERGIES)
    _choice(guard_ref, "guard_ref", GUARD_REFS)
    check_int(m, "m")
    check_int(max_iter, "max_iter")
    check_number(reg, "reg", strict=False)
    tol = check_number(tol, "tol", strict=False)
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable")
    for name, fn in (("grad", grad), ("F", F), ("prox", prox), ("T", T)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable")
    x0 = B.as_vector(x0, "x0")

    if T is not None:
        if grad is not None or prox is not None:
            raise ValueError("give either T, or grad (and prox), not both")
        Tmap = T
    else:
        if grad is None:
            raise ValueError("one of grad or T is required")
        _check_output(grad(x0), x0, "grad")
        if h is None:
            if L is None:
                g0 = grad(x0)
                eps = 1e-6 * max(1.0, B.norm(x0))
                L = 2.0 * estimate_L(lambda v: (grad(x0 + eps * v) - g0) / eps, x0, seed=seed)
            h = 1.0 / check_number(L, "L")
        elif L is not None:
            check_number(L, "L")
        h = check_number(h, "h")
        Tmap = prox_grad_map(grad, prox, h) if prox is not None else gd_map(grad, h)
    T0 = Tmap(x0)
    _check_output(T0, x0, "T")

    if method == "fista_restart" and F is None:
        raise ValueError("method='fista_restart' needs F")
    if energy == "potential" and F is None:
        raise ValueError("energy='potential' needs F")
    if method == "egaa" and energy is None:
        energy = "potential" if F is not None else "residual"

    oracle = _Oracle(Tmap, F)
    oracle.seed(x0, T0)
    if method == "gd":
        stepper: _Base = _Base()
    elif method in ("fista", "fista_restart"):
        stepper = _Fista(x0, oracle, restart=method == "fista_restart")
    elif method == "aa1_safe":
        stepper = _TypeOne(TypeOneSafeguarded(m))
    else:
        if method == "aa":
            acc = Accelerator(m, reg=reg, governor="none", relaxation=relaxation)
            fn = None
        elif method == "aa_safe":
            acc = Accelerator(m, reg=reg, governor="none", guard_ref="monotone", relaxation=relaxation)
            fn = oracle.residual_energy
        else:
            gov = governor if governor is not None else PRESETS[preset]["governor"]
            acc = Accelerator(m, reg=reg, governor=gov, a=a, beta_max=beta_max, guard_ref=guard_ref,
                              sigma=sigma, restart_on_reject=restart_on_reject, relaxation=relaxation, h=h)
            fn = oracle.F if energy == "potential" else oracle.residual_energy
        stepper = _Accelerated(acc, fn)

    step_keys = ("theta", "beta_bar", "beta_bar_raw", "mass", "accepted", "restarted")
    rec: dict[str, list] = {k: [] for k in ("F", "residual", *step_keys)}
    z = x0
    status, r0, F0 = "max_iter", None, None
    x_out = x0
    t0 = time.perf_counter()
    bar = tqdm(total=max_iter, desc=f"solve[{method}]", disable=not progress, leave=False)
    k = 0
    while True:
        Tz = oracle.T(z)
        primal = stepper.primal(z)
        Fk = oracle.F(primal, count=False) if F is not None else np.nan
        if not B.all_finite(Tz) or (F is not None and not np.isfinite(Fk)):
            status = "non-finite"
            break
        x_out = primal
        rk = B.norm(Tz - z)
        rec["F"].append(Fk)
        rec["residual"].append(rk)
        if r0 is None:
            r0, F0 = rk, Fk
        if rk <= tol * r0:
            status = "converged"
            break
        if rk > DIVERGENCE_FACTOR * max(r0, np.finfo(float).tiny) or (
                F is not None and Fk - F0 > DIVERGENCE_FACTOR * max(abs(F0), 1.0)):
            status = "diverged"
            break
        if k >= max_iter:
            break
        z = stepper.step(z, Tz)
        info = stepper.info
        for key in step_keys:
            rec[key].append(getattr(info, key))
        k += 1
        bar.update(1)
        if callback is not None:
            callback(k, z, info)
    bar.close()
    n_iter = len(rec["theta"])
    if status == "non-finite":  # the failing step's info stays, its point is not recorded
        n_iter = len(rec["F"]) - 1 if rec["F"] else 0
        for key in step_keys:
            del rec[key][n_iter:]
    hist = History(
        F=np.asarray(rec["F"], dtype=float), residual=np.asarray(rec["residual"], dtype=float),
        theta=np.asarray(rec["theta"], dtype=float), beta_bar=np.asarray(rec["beta_bar"], dtype=float),
        beta_bar_raw=np.asarray(rec["beta_bar_raw"], dtype=float), mass=np.asarray(rec["mass"], dtype=float),
        accepted=np.asarray(rec["accepted"], dtype=bool), restarted=np.asarray(rec["restarted"], dtype=bool),
    )
    return SolveResult(x=x_out, converged=status == "converged", status=status, n_iter=n_iter,
                       n_grad=oracle.n_T, n_F=oracle.n_F, history=hist, method=method,
                       wall_time=time.perf_counter() - t0, info={"h": h})
