"""``solve``: one driver for GD/ISTA, FISTA (+ restart), AA-II, AA-II with the SCS residual safeguard,
AA-I-S and EG-AA on a composite problem ``min F = phi + psi`` or a plain fixed-point map ``T``.

The driver evaluates T at the current point, records the history, checks the stopping rules and asks
a method-specific stepper for the next point. NumPy arrays and torch tensors go through the same code.
EG-AA is arXiv 2512.21269's method as reconstructed in docs/anderson.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

from .._conventions import check_bool, check_choice, check_float, check_int, check_statuses, progress_disabled
from . import _backend as B
from ._backend import Array
from .aa1 import TypeOneSafeguarded
from .accelerator import GOVERNORS, GUARD_REFS, LOOKAHEAD_STEPS, Accelerator, StepInfo
from .maps import estimate_L, gd_map, prox_grad_map

METHODS = ("gd", "fista", "fista_restart", "aa", "aa_safe", "aa1_safe", "egaa")
#: EG-AA presets (docs/anderson.md, "Presets"; all reconstructed). "watchdog" is the default.
PRESETS: dict[str, dict[str, Any]] = {
    # "hybrid" whose stagnation test fires only while AA moves as a heavy ball (median beta_bar within 0.25
    # of 1), and whose rejected candidates become trial points (sixth pass)
    "watchdog": {"governor": "hybrid", "guard_ref": "auto", "on_reject": "lookahead", "stall_momentum": 0.25},
    # "bracket" + the dissipative bound for stall_steps steps after a stagnation test fires (third pass)
    "hybrid": {"governor": "hybrid", "guard_ref": "auto"},
    # guard F(T x) where convexity brackets it for free, else the descent bound; trust-region governor
    "bracket": {"governor": "trust", "guard_ref": "auto"},
    "trust": {"governor": "trust", "guard_ref": "descent"},  # descent guard + trust-region governor (first default)
    "faithful": {"governor": "dissipative", "guard_ref": "base_step"},  # guard F(T x) + dissipative governor
    "robust": {"governor": "none", "guard_ref": "base_step"},  # guard F(T x) only
}
DEFAULT_PRESET = "watchdog"
ENERGIES = ("potential", "residual")
DIVERGENCE_FACTOR = 1e8
_TINY = float(np.finfo(float).tiny)
#: The statuses a :class:`SolveResult` can carry (words of ``stablelearn._conventions.STATUS_WORDS``).
STATUSES = check_statuses(("converged", "max_iter", "diverged", "non_finite"), "anderson")

#: Default values of the method-specific options, and which methods use each one.
_DEFAULTS: dict[str, Any] = {"m": 5, "reg": 1e-10, "relaxation": 1.0, "preset": DEFAULT_PRESET, "a": 4.0,
                             "beta_max": 1.0, "growth": 10.0, "sigma": 0.0, "restart_on_reject": None,
                             "cooldown": None, "on_reject": None, "stall_window": 20, "stall_factor": 0.9,
                             "stall_steps": 20, "stall_momentum": None, "lookahead_steps": LOOKAHEAD_STEPS}
_USES: dict[str, set[str]] = {
    "gd": set(), "fista": set(), "fista_restart": set(),
    "aa": {"m", "reg", "relaxation"},
    "aa_safe": {"m", "reg", "relaxation"},
    "aa1_safe": {"m"},
    "egaa": {"m", "reg", "relaxation", "preset", "governor", "a", "beta_max", "growth", "energy", "guard_ref",
             "sigma", "restart_on_reject", "cooldown", "on_reject", "stall_window", "stall_factor",
             "stall_steps", "stall_momentum", "lookahead_steps"},
}
_GOVERNOR_OPTIONS = {"a": ("dissipative", "hybrid"), "beta_max": ("dissipative", "cap", "trust", "hybrid"),
                     "growth": ("trust", "hybrid"), "stall_window": ("hybrid",), "stall_factor": ("hybrid",),
                     "stall_steps": ("hybrid",), "stall_momentum": ("hybrid",)}


@dataclass
class History:
    """Per-iteration record of a :func:`solve` run (NumPy arrays).

    Attributes
    ----------
    F : ndarray, length ``n_iter + 1``
        Objective at each recorded iterate (NaN when no ``F`` was given).
    residual : ndarray, length ``n_iter + 1``
        ``||T(z) - z||`` at the point where T was evaluated.
    theta, beta_bar, beta_bar_raw, mass : ndarray, length ``n_iter``
        Gain factor, aggregate momentum after and before the governor, and effective mass of each
        step (:class:`StepInfo`).
    accepted, restarted : ndarray of bool, length ``n_iter``
        Whether the guard accepted the extrapolation, and whether the memory was restarted.
    """

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
    """Outcome of :func:`solve`.

    Attributes
    ----------
    x : array or tensor
        The last finite iterate, in the backend, dtype and device of ``x0``.
    converged : bool
        ``status == "converged"``.
    status : str
        One of :data:`STATUSES`: ``"converged"`` (``||r_k|| <= tol ||r_0||``), ``"max_iter"``,
        ``"diverged"`` (``||r_k||`` or ``F(x_k) - F(x_0)`` grew by ``DIVERGENCE_FACTOR``) or
        ``"non_finite"`` (T or F returned NaN or infinity, or the residual norm overflowed; ``x`` is
        then the last finite iterate).
    n_iter : int
        Iterations taken.
    n_grad : int
        Evaluations of T (one gradient and one prox each).
    n_F : int
        Objective evaluations the method itself needs (guard, restart test), not those made only to
        fill ``history.F``. The one or two gradient calls made at ``x0`` to validate shapes (and to
        estimate L when it is not given) are not counted.
    history : History
        Per-iteration arrays.
    method : str
        The method that ran.
    wall_time : float
        Seconds spent in the iteration loop.
    info : dict
        ``h`` (the step size used) and, for EG-AA, the resolved ``options``.
    """

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


def _as_array_output(y: Any, x: Array, name: str) -> Array:
    """Check what T or grad returned at ``x``: same backend and shape as ``x``."""
    if type(y) is np.ndarray and type(x) is np.ndarray and y.shape == x.shape:  # the common case, checked first
        return y
    if not hasattr(y, "shape"):
        raise TypeError(f"{name} must return an array of shape {tuple(x.shape)}, got {type(y).__name__}")
    if B.is_torch(y) != B.is_torch(x):
        raise TypeError(f"{name} must return a {'torch tensor' if B.is_torch(x) else 'NumPy array'} like x0, "
                        f"got {type(y).__name__}")
    if tuple(y.shape) != tuple(x.shape):
        raise ValueError(f"{name} must return an array of shape {tuple(x.shape)}, got shape {tuple(y.shape)}")
    return y


def _checked(fn: Callable[[Array], Array], name: str) -> Callable[[Array], Array]:
    return lambda x: _as_array_output(fn(x), x, name)


class _Shared:
    """``grad`` and ``F`` served by one ``value_and_grad`` call per point: the objective and the gradient at
    the same point usually share most of their work (a matrix product, a forward pass), and EG-AA asks for
    F(x~) one iteration before it asks for grad(x~). The last few points are kept by identity (the solver's
    points are never changed in place); ``calls`` counts the calls of ``value_and_grad``."""

    def __init__(self, value_and_grad: Callable[[Array], tuple[float, Array]], size: int = 3) -> None:
        self._vg, self.size, self.calls = value_and_grad, size, 0
        self._cache: list[tuple[Array, float, Array]] = []

    def _at(self, x: Array) -> tuple[Array, float, Array]:
        entry = _Oracle._find(self._cache, x)
        if entry is not None:
            return entry
        out = self._vg(x)
        try:
            value, g = out
        except (TypeError, ValueError):
            raise TypeError(f"value_and_grad must return a pair (F(x), grad(x)), got {type(out).__name__}") from None
        self.calls += 1
        entry = (x, value, g)  # (solve checks the gradient's shape and backend where it uses it)
        self._cache.append(entry)
        del self._cache[: -self.size]
        return entry

    def grad(self, x: Array) -> Array:
        return self._at(x)[2]

    def F(self, x: Array) -> float:
        return self._at(x)[1]


class _Oracle:
    """T and F with counters and a small identity cache (a point's T or F is never computed twice).

    ``n_F`` counts a point's objective once, the first time the *method* asks for it, even when the
    history asked first (``count=False``).
    """

    def __init__(self, T: Callable, F: Callable | None, size: int = 4) -> None:
        self._T, self._F = T, F
        self.n_T = self.n_F = 0
        self._tc: list[tuple[Array, Array]] = []
        self._fc: list[list] = []  # [point, value, counted]
        self.size = size

    @staticmethod
    def _find(cache: list, y: Array) -> Any:
        for entry in cache:
            if entry[0] is y:
                return entry
        return None

    def seed(self, y: Array, Ty: Array) -> None:
        """Record an evaluation of T made outside the oracle (counted)."""
        self.n_T += 1
        self._tc.append((y, Ty))
        del self._tc[: -self.size]

    def T(self, y: Array) -> Array:
        """``T(y)``, counted once per point."""
        entry = self._find(self._tc, y)
        if entry is not None:
            return entry[1]
        self.n_T += 1
        val = _as_array_output(self._T(y), y, "T")
        self._tc.append((y, val))
        del self._tc[: -self.size]
        return val

    def F(self, y: Array, count: bool = True) -> float:
        """``F(y)``; counted in ``n_F`` the first time the method (``count=True``) asks for it."""
        entry = self._find(self._fc, y)
        if entry is None:
            raw = self._F(y)
            try:
                val = float(raw)
            except (TypeError, ValueError):
                raise TypeError(f"F must return a real number, got {type(raw).__name__}"
                                f"{' of shape ' + str(tuple(raw.shape)) if hasattr(raw, 'shape') else ''}") from None
            entry = [y, val, False]
            self._fc.append(entry)
            del self._fc[: -self.size]
        if count and not entry[2]:
            entry[2] = True
            self.n_F += 1
        return entry[1]

    def known_F(self, y: Array) -> float:
        """F(y) if it was evaluated already, else NaN (no evaluation)."""
        entry = self._find(self._fc, y)
        return entry[1] if entry is not None else np.nan

    def residual_energy(self, y: Array) -> float:
        """``||T(y) - y||`` (inf when T(y) is not finite)."""
        Ty = self.T(y)
        return B.norm(Ty - y) if B.all_finite(Ty) else np.inf


class _Base:
    """GD / ISTA: x <- T(x)."""

    def __init__(self) -> None:
        self.info = StepInfo()
        self.residual: tuple[Array | None, float] = (None, 0.0)  # (T z - z, its norm), set by the driver

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
            self.info.mass = 0.5 * (1.0 + self.info.beta_bar)  # M of a constant-momentum step (docs/anderson.md, "Momentum form")
            y_new = x_new + self.info.beta_bar * (x_new - self.x)
            self.t = t_new
        self.x = x_new
        return y_new


class _Accelerated(_Base):
    """AA-II / AA-II-safe / EG-AA: an ``Accelerator`` with an energy for its guard (or none)."""

    def __init__(self, acc: Accelerator, energy: Callable | None) -> None:
        super().__init__()
        self.acc, self.energy = acc, energy
        if acc.on_reject == "lookahead":  # the recorded iterate of a trial point is the last one the guard passed
            self.primal = acc.iterate

    def step(self, z: Array, Tz: Array) -> Array:
        r, nr = self.residual if self.residual[0] is not None else (None, None)
        out = self.acc._step(z, Tz, self.energy, r, nr)
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


def _resolve_options(method: str, given: dict[str, Any]) -> dict[str, Any]:
    """The method's options with defaults filled in; options the method does not use are refused
    (scipy's rule: an unused option is a mistake, not a no-op)."""
    unused = sorted(k for k, v in given.items() if v is not None and k not in _USES[method])
    if unused:
        users = {k: [m for m, opts in _USES.items() if k in opts] for k in unused}
        raise ValueError(f"method={method!r} does not use {', '.join(unused)} ("
                         + "; ".join(f"{k} is used by {', '.join(v) if v else 'no method'}" for k, v in users.items())
                         + ")")
    opts = {k: (given[k] if given.get(k) is not None else _DEFAULTS.get(k)) for k in _USES[method]}
    if method != "egaa":
        return opts
    preset = check_choice(opts["preset"], "preset", tuple(PRESETS))
    for key, value in PRESETS[preset].items():
        if given.get(key) is None and not (key == "on_reject" and given.get("restart_on_reject") is not None):
            opts[key] = value
    opts["governor"] = check_choice(opts["governor"], "governor", GOVERNORS)
    opts["guard_ref"] = check_choice(opts["guard_ref"], "guard_ref", GUARD_REFS)
    if opts["energy"] is not None:
        check_choice(opts["energy"], "energy", ENERGIES)
    wrong = [k for k, govs in _GOVERNOR_OPTIONS.items() if given.get(k) is not None and opts["governor"] not in govs]
    if wrong:
        raise ValueError(f"governor={opts['governor']!r} does not use {', '.join(wrong)} ("
                         + "; ".join(f"{k} is used by governor {' / '.join(_GOVERNOR_OPTIONS[k])}" for k in wrong)
                         + ")")
    if given.get("sigma") is not None and opts["guard_ref"] != "monotone":
        raise ValueError(f"guard_ref={opts['guard_ref']!r} does not use sigma (sigma is used by guard_ref='monotone')")
    if given.get("lookahead_steps") is not None and opts["on_reject"] != "lookahead":
        raise ValueError(f"on_reject={opts['on_reject'] or 'restart'!r} does not use lookahead_steps "
                         "(lookahead_steps is used by on_reject='lookahead')")
    return opts


def solve(
    x0: Array,
    *,
    grad: Callable[[Array], Array] | None = None,
    F: Callable[[Array], float] | None = None,
    prox: Callable[[Array, float], Array] | None = None,
    value_and_grad: Callable[[Array], tuple[float, Array]] | None = None,
    T: Callable[[Array], Array] | None = None,
    L: float | None = None,
    h: float | None = None,
    method: str = "egaa",
    preset: str | None = None,
    m: int | None = None,
    reg: float | None = None,
    governor: str | None = None,
    a: float | None = None,
    beta_max: float | None = None,
    growth: float | None = None,
    energy: str | None = None,
    guard_ref: str | None = None,
    sigma: float | None = None,
    restart_on_reject: bool | None = None,
    relaxation: float | None = None,
    cooldown: int | None = None,
    on_reject: str | None = None,
    stall_window: int | None = None,
    stall_factor: float | None = None,
    stall_steps: int | None = None,
    stall_momentum: float | None = None,
    lookahead_steps: int | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
    callback: Callable[[int, Array, StepInfo], None] | None = None,
    seed: Any = None,
    progress: bool | None = None,
    record_F: bool = True,
) -> SolveResult:
    """Minimise ``F = phi + psi`` or find a fixed point of ``T`` with AA, EG-AA or a baseline.

    Parameters
    ----------
    x0 : array or tensor, 1-D
        Starting point (real, finite, non-empty). NumPy integer input becomes float64; the result keeps
        x0's backend, dtype and device.
    grad : callable, optional
        Gradient of the smooth part phi; the base map is ``T(x) = x - h grad(x)`` (GD) or, with
        ``prox``, ``prox(x - h grad(x), h)`` (ISTA). Give either ``grad`` or ``T``.
    F : callable, optional
        Full objective ``phi + psi``; needed by ``"fista_restart"`` and by EG-AA's ``"potential"`` energy.
    prox : callable, optional
        ``prox(v, h)`` of psi (e.g. :class:`~stablelearn.anderson.L1`).
    value_and_grad : callable, optional
        ``value_and_grad(x) -> (F(x), grad(x))``, the full objective and the gradient of phi in one call,
        instead of ``grad`` and ``F`` (scipy's ``jac=True``). Give it when the two share work (a matrix
        product, a forward pass): EG-AA's guard asks for F at the candidate, and the next iteration for the
        gradient there, so one call serves both and the guard costs almost nothing on top of AA
        (docs/anderson.md, "One call for F and grad"). ``info["value_and_grad_calls"]`` counts the calls.
    T : callable, optional
        A fixed-point map to use instead of ``grad``/``prox``.
    L, h : float, optional
        Lipschitz constant of ``grad`` and step size (default ``h = 1/L``). If neither is given, L is
        estimated by power iteration on finite-difference Hessian-vector products at ``x0`` (seeded by
        ``seed``) and ``h = 1/(2 L_est)``.
    method : {"egaa", "aa", "aa_safe", "aa1_safe", "gd", "fista", "fista_restart"}, default "egaa"
        ``"aa"``: type-II AA(m) (Walker & Ni 2011); ``"aa_safe"``: AA with the SCS residual safeguard;
        ``"aa1_safe"``: AA-I-S (Zhang, O'Donoghue & Boyd 2020); ``"egaa"``: Energy-Guarded AA
        (arXiv 2512.21269, reconstructed: docs/anderson.md).
    preset : {"watchdog", "hybrid", "bracket", "trust", "faithful", "robust"}, optional
        EG-AA preset (default ``"watchdog"``; docs/anderson.md, "Presets"). The options it sets
        (``governor``, ``guard_ref``, ``on_reject``, ``stall_momentum``) can be overridden.
    m, reg, relaxation : optional
        Window (default 5, clipped to ``x0.size``), relative Tikhonov weight (1e-10) and mixing (1.0)
        of the AA-family methods.
    governor, a, beta_max, growth, guard_ref, sigma, cooldown, on_reject, stall_window, stall_factor, stall_steps, stall_momentum, lookahead_steps : optional
        EG-AA's inertial governor and energy guard, see :class:`~stablelearn.anderson.Accelerator`.
    restart_on_reject : bool, optional
        Deprecated alias of ``on_reject`` (True: ``"restart"``, False: ``"keep"``); a ``ValueError`` if
        it contradicts ``on_reject``.
    energy : {"potential", "residual"}, optional
        EG-AA's guard energy: F (default when ``F`` is given) or ``||T(y) - y||``.
    tol : float, default 1e-10
        Relative tolerance: stop when ``||r_k|| <= tol ||r_0||``.
    max_iter : int, default 1000
        Iteration budget.
    callback : callable, optional
        ``callback(k, z, info)`` after every step.
    seed : None, int or numpy.random.Generator, optional
        Seeds the power iteration that estimates L (only used when neither ``L`` nor ``h`` is given).
    progress : bool, optional
        A progress bar (None: on a terminal only).
    record_F : bool, default True
        Record ``F(x_k)`` in ``history.F`` at every iterate, evaluating it where the method did not
        (those evaluations are not counted in ``n_F`` but take time). False: ``history.F`` is NaN where
        the method did not evaluate F, and the divergence test on F uses the known values only; use it
        to time a method.

    Returns
    -------
    SolveResult
        With ``status`` in :data:`STATUSES`, counters and a :class:`History`.

    Raises
    ------
    ValueError
        For a wrong value, a shape change of ``T``/``grad`` during the run, or an option the chosen
        method (or governor, or guard) does not use, named in the message.
    TypeError
        For a wrong type (complex ``x0``, a non-callable ``grad``, ``T`` returning another backend).

    Examples
    --------
    >>> import numpy as np
    >>> from stablelearn.anderson import solve
    >>> A = np.diag([1.0, 0.1, 0.01]); b = np.ones(3)
    >>> res = solve(np.zeros(3), grad=lambda x: A @ x - b, F=lambda x: 0.5 * x @ A @ x - b @ x, L=1.0)
    >>> res.status, bool(np.allclose(res.x, [1, 10, 100]))
    ('converged', True)
    """
    check_choice(method, "method", METHODS)
    opts = _resolve_options(method, {"preset": preset, "m": m, "reg": reg, "governor": governor, "a": a,
                                     "beta_max": beta_max, "growth": growth, "energy": energy,
                                     "guard_ref": guard_ref, "sigma": sigma, "restart_on_reject": restart_on_reject,
                                     "relaxation": relaxation, "cooldown": cooldown, "on_reject": on_reject,
                                     "stall_window": stall_window, "stall_factor": stall_factor,
                                     "stall_steps": stall_steps, "stall_momentum": stall_momentum,
                                     "lookahead_steps": lookahead_steps})
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol = check_float(tol, "tol", low=0.0)
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable")
    for name, fn in (("grad", grad), ("F", F), ("prox", prox), ("value_and_grad", value_and_grad), ("T", T)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    shared = None
    if value_and_grad is not None:
        if grad is not None or F is not None or T is not None:
            raise ValueError("give value_and_grad instead of grad and F (and not with T)")
        shared = _Shared(value_and_grad)
        grad, F = shared.grad, shared.F
    x0 = B.as_vector(x0, "x0")
    if "m" in opts:
        opts["m"] = min(check_int(opts["m"], "m", low=0), x0.shape[0])  # more than n columns are never useful

    if T is not None:
        if grad is not None or prox is not None:
            raise ValueError("give either T, or grad (and prox), not both")
        if L is not None or h is not None:
            raise ValueError("L and h are used with grad, not with T (T is the whole map)")
        Tmap = T
    else:
        if grad is None:
            raise ValueError("one of grad, value_and_grad or T is required")
        grad = _checked(grad, "grad" if shared is None else "value_and_grad")
        g0 = grad(x0)
        if L is not None:
            L = check_float(L, "L", low=0.0, low_inclusive=False)
        if h is None:
            if L is None:
                eps = 1e-6 * max(1.0, B.norm(x0))
                L_est = estimate_L(lambda v: (grad(x0 + eps * v) - g0) / eps, x0, seed=seed)
                if not (np.isfinite(L_est) and L_est > 0):
                    raise ValueError(f"could not estimate L from grad at x0 (power iteration gave {L_est!r}); "
                                     "pass L or h")
                L = 2.0 * L_est
            h = 1.0 / L
        h = check_float(h, "h", low=0.0, low_inclusive=False)
        Tmap = prox_grad_map(grad, prox, h) if prox is not None else gd_map(grad, h)
    T0 = _as_array_output(Tmap(x0), x0, "T" if T is not None else "grad")

    energy = opts.get("energy")
    if method == "fista_restart" and F is None:
        raise ValueError("method='fista_restart' needs F")
    if energy == "potential" and F is None:
        raise ValueError("energy='potential' needs F")
    if method == "egaa" and energy is None:
        energy = opts["energy"] = "potential" if F is not None else "residual"
    if method == "egaa" and (opts["guard_ref"] == "descent" or opts["sigma"] > 0) and (T is not None or energy != "potential"):
        if opts["guard_ref"] == "descent" and guard_ref is None:
            opts["guard_ref"] = "base_step"  # the preset's descent bound needs F and h: compare with E(T x)
        else:
            raise ValueError(f"guard_ref={opts['guard_ref']!r} needs grad with an objective F (energy='potential')")

    oracle = _Oracle(Tmap, F)
    oracle.seed(x0, T0)
    if method == "gd":
        stepper: _Base = _Base()
    elif method in ("fista", "fista_restart"):
        stepper = _Fista(x0, oracle, restart=method == "fista_restart")
    elif method == "aa1_safe":
        stepper = _TypeOne(TypeOneSafeguarded(opts["m"]))
    elif method == "aa":
        stepper = _Accelerated(Accelerator(opts["m"], reg=opts["reg"], governor="none",
                                           relaxation=opts["relaxation"]), None)
    elif method == "aa_safe":
        stepper = _Accelerated(Accelerator(opts["m"], reg=opts["reg"], governor="none", guard_ref="monotone",
                                           relaxation=opts["relaxation"]), oracle.residual_energy)
    else:
        acc = Accelerator(opts["m"], reg=opts["reg"], governor=opts["governor"], a=opts["a"],
                          beta_max=opts["beta_max"], growth=opts["growth"], guard_ref=opts["guard_ref"],
                          sigma=opts["sigma"], restart_on_reject=opts["restart_on_reject"],
                          relaxation=opts["relaxation"], cooldown=opts["cooldown"], on_reject=opts["on_reject"],
                          stall_window=opts["stall_window"], stall_factor=opts["stall_factor"],
                          stall_steps=opts["stall_steps"], stall_momentum=opts["stall_momentum"],
                          lookahead_steps=opts["lookahead_steps"], h=h if T is None and energy == "potential" else None,
                          smooth=T is None and prox is None and energy == "potential")
        stepper = _Accelerated(acc, oracle.F if energy == "potential" else oracle.residual_energy)
    record_F = check_bool(record_F, "record_F")
    result = _iterate(x0, oracle, stepper, F, record_F, method, tol, max_iter, callback, progress,
                      {"h": h, "options": opts})
    if shared is not None:
        result.info["value_and_grad_calls"] = shared.calls
    return result


_STEP_KEYS = ("theta", "beta_bar", "beta_bar_raw", "mass", "accepted", "restarted")


def _iterate(x0: Array, oracle: _Oracle, stepper: "_Base", F: Callable | None, record_F: bool, method: str,
             tol: float,
             max_iter: int, callback: Callable | None, progress: bool | None, info: dict) -> SolveResult:
    """The loop shared by every method: evaluate T, record, test the stopping rules, step.

    Written for a small per-iteration overhead (it is the whole cost on small problems): no validation
    beyond the checks that decide the status, the step's record read once per field."""
    rec: dict[str, list] = {k: [] for k in ("F", "residual", *_STEP_KEYS)}
    rec_F, rec_res = rec["F"], rec["residual"]
    rec_steps = [(rec[key], key) for key in _STEP_KEYS]
    T_of, primal_of, step, norm = oracle.T, stepper.primal, stepper.step, B.norm
    F_of = None if F is None else (lambda y: oracle.F(y, count=False)) if record_F else oracle.known_F
    z = x0
    status, r0, F0 = "max_iter", None, None
    x_out = x0
    t0 = time.perf_counter()
    bar = tqdm(total=max_iter, desc=f"solve[{method}]", disable=progress_disabled(progress), leave=False)
    update = None if bar.disable else bar.update
    k = 0
    r_div = F_div = np.inf
    while True:
        Tz = T_of(z)
        primal = primal_of(z)
        Fk = np.nan if F_of is None else F_of(primal)
        # z is finite (x0 is checked, steppers return finite points), so a finite ||T z - z|| proves T z
        # finite, and a non-finite one means T z is not finite or the difference overflowed
        rz = Tz - z
        rk = norm(rz)
        if not math.isfinite(rk) or (record_F and F is not None and not math.isfinite(Fk)):
            status = "non_finite"
            break
        stepper.residual = (rz, rk)
        x_out = primal
        rec_F.append(Fk)
        rec_res.append(rk)
        if r0 is None:
            r0, F0 = rk, (oracle.F(primal, count=False) if F is not None else np.nan)
            r_div = DIVERGENCE_FACTOR * max(r0, _TINY)
            F_div = DIVERGENCE_FACTOR * max(abs(F0), 1.0)  # NaN without F: the test below is then False
        if rk <= tol * r0:
            status = "converged"
            break
        if rk > r_div or Fk - F0 > F_div:
            status = "diverged"
            break
        if k >= max_iter:
            break
        z = step(z, Tz)
        step_info = stepper.info
        for values, key in rec_steps:
            values.append(getattr(step_info, key))
        k += 1
        if update is not None:
            update(1)
        if callback is not None:
            callback(k, z, step_info)
    bar.close()
    n_iter = len(rec["theta"])
    if status == "non_finite":  # the failing step's info stays, its point is not recorded
        n_iter = len(rec["F"]) - 1 if rec["F"] else 0
        for key in _STEP_KEYS:
            del rec[key][n_iter:]
    hist = History(
        F=np.asarray(rec["F"], dtype=float), residual=np.asarray(rec["residual"], dtype=float),
        theta=np.asarray(rec["theta"], dtype=float), beta_bar=np.asarray(rec["beta_bar"], dtype=float),
        beta_bar_raw=np.asarray(rec["beta_bar_raw"], dtype=float), mass=np.asarray(rec["mass"], dtype=float),
        accepted=np.asarray(rec["accepted"], dtype=bool), restarted=np.asarray(rec["restarted"], dtype=bool),
    )
    return SolveResult(x=x_out, converged=status == "converged", status=status, n_iter=n_iter,
                       n_grad=oracle.n_T, n_F=oracle.n_F, history=hist, method=method,
                       wall_time=time.perf_counter() - t0, info=info)
