"""Lyapunov-type energies (reconstructed: the paper's energy could not be read; docs/stability.md, "Energies").

v3 of the paper states the energy criterion as *sufficient*: an incremental energy that dissipates gives
bounded (or decaying) linearised transition operators. The converse direction can only be checked by
growing the horizon. This module provides

- ``twin_trajectory`` / ``tangent_trajectory``: the parameter perturbation delta_t along an update map
  (the twin and tangent routes);
- ``incremental_energy``: E_t = delta_t^T M delta_t with a fixed metric, per-step ratios r_t and the
  certificate "r_t <= 1 for all t  =>  ||delta_t|| <= sqrt(cond M) ||delta_0||";
- ``sup_energy``: E_hat(T) = max_{s<=t<=T} ||delta_t||^2/||delta_s||^2 over doubling horizons;
- ``backward_gramian``: P_T = I, P_s = I + A_s^T P_{s+1} A_s, with V_{s+1}(A_s d) = V_s(d) - ||d||^2;
- ``loss_energy``: the loss as the energy of the non-incremental flow (descent lemma), a flag only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import jvp

from stablelearn._conventions import as_rng, check_float, check_int

from ._functional import Seed, random_unit
from .laws import classify_growth, horizon_verdict

__all__ = [
    "EnergyReport",
    "GramianEnergy",
    "SupEnergy",
    "Trajectory",
    "backward_gramian",
    "incremental_energy",
    "loss_energy",
    "sup_energy",
    "tangent_trajectory",
    "twin_trajectory",
]

Update = Callable[[torch.Tensor, int], torch.Tensor]


@dataclass
class Trajectory:
    """A perturbation delta_t = d theta_t carried along ``steps`` updates.

    Attributes
    ----------
    norms, energies : numpy.ndarray
        ``norms[t] = ||delta_t|| / ||delta_0||`` and ``energies[t] = delta_t^T M delta_t / delta_0^T M delta_0``
        for t = 0..n_iter.
    theta, delta : torch.Tensor
        Final state and perturbation.
    n_iter : int
        Steps carried out.
    status : str
        ``"completed"`` or ``"diverged"`` (a non-finite state ends the run; the arrays stop there).
    diverged_at : int or None
        The step whose state was non-finite.
    """

    norms: np.ndarray
    energies: np.ndarray
    theta: torch.Tensor
    delta: torch.Tensor
    n_iter: int
    status: str
    diverged_at: int | None = None


def _metric_fn(metric: object, n: int) -> Callable[[torch.Tensor], float]:
    if metric is None:
        return lambda d: float(d @ d)
    m = torch.as_tensor(metric, dtype=torch.float64)
    if m.ndim == 1 and m.numel() == n and torch.all(m > 0):
        return lambda d: float((d.double() ** 2 * m.to(d.device)).sum())
    if m.shape == (n, n) and torch.allclose(m, m.T) and torch.linalg.eigvalsh(m)[0] > 0:
        return lambda d: float(d.double() @ m.to(d.device) @ d.double())
    raise ValueError(f"metric must be None, a positive vector of length {n} or an SPD ({n}, {n}) matrix")


def _start(theta0: torch.Tensor, direction: torch.Tensor | None, seed: Seed) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(theta0, torch.Tensor) or theta0.ndim != 1:
        raise TypeError("theta0 must be a 1-D torch.Tensor (flat parameters)")
    if not torch.isfinite(theta0).all():
        raise ValueError("theta0 contains NaN or inf")
    if direction is None:
        return theta0, random_unit(theta0.numel(), seed, theta0.dtype, theta0.device)
    if not isinstance(direction, torch.Tensor) or direction.shape != theta0.shape or direction.norm() == 0 \
            or not torch.isfinite(direction).all():
        raise ValueError(f"direction must be a non-zero tensor of shape {tuple(theta0.shape)}")
    return theta0, direction.to(theta0.dtype) / direction.norm()


def _propagate(step: Callable[[torch.Tensor, torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]],
               theta: torch.Tensor, delta: torch.Tensor, steps: int, metric: object, scale: float) -> Trajectory:
    energy = _metric_fn(metric, theta.numel())
    n0, e0 = float(delta.norm()), energy(delta)
    norms, energies, diverged_at = [1.0], [1.0], None
    for t in range(steps):
        theta, delta = step(theta, delta, t)
        if not (torch.isfinite(theta).all() and torch.isfinite(delta).all()):
            diverged_at = t + 1
            break
        norms.append(float(delta.norm()) / n0)
        energies.append(energy(delta) / e0)
    return Trajectory(np.asarray(norms), np.asarray(energies), theta, delta / scale, len(norms) - 1,
                      "completed" if diverged_at is None else "diverged", diverged_at)


def tangent_trajectory(update: Update, theta0: torch.Tensor, steps: int, *, direction: torch.Tensor | None = None,
                       seed: Seed = 0, metric: object = None) -> Trajectory:
    """Tangent propagation delta_{t+1} = D U_t(theta_t) delta_t by ``torch.func.jvp`` (the tangent route).

    ``update(theta, t) -> theta_next`` is the training step (the same minibatch/noise for a given ``t``),
    written with differentiable torch ops; prox/projection steps written with ``torch.where``/``clamp``
    give a Clarke selection. One JVP per step.

    Returns
    -------
    Trajectory
    """
    if not callable(update):
        raise TypeError(f"update must be a callable update(theta, t), got {type(update).__name__}")
    steps = check_int(steps, "steps", low=1)
    theta, delta = _start(theta0, direction, seed)
    step = lambda th, d, t: jvp(lambda z: update(z, t), (th,), (d,))  # noqa: E731
    return _propagate(step, theta, delta, steps, metric, 1.0)


def twin_trajectory(update: Update, theta0: torch.Tensor, steps: int, *, eps: float = 1e-6,
                    direction: torch.Tensor | None = None, seed: Seed = 0, metric: object = None) -> Trajectory:
    """Twin trajectory: a shadow run from theta0 + eps*v that sees the same updates (the twin route);
    delta_t = theta'_t - theta_t. Ground truth for tests; +100% compute. ``delta`` is returned divided by eps.

    Returns
    -------
    Trajectory
    """
    if not callable(update):
        raise TypeError(f"update must be a callable update(theta, t), got {type(update).__name__}")
    steps = check_int(steps, "steps", low=1)
    eps = check_float(eps, "eps", low=0.0, low_inclusive=False)
    theta, v = _start(theta0, direction, seed)

    def step(th: torch.Tensor, d: torch.Tensor, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        new = update(th, t)
        return new, update(th + d, t) - new

    return _propagate(step, theta, eps * v, steps, metric, eps)


@dataclass
class EnergyReport:
    """Per-step energy ratios r_t = E_{t+1}/E_t and the verdict.

    ``certified``: r_t <= 1 + rtol for every step; then ``bound`` = sqrt(cond M) bounds S_par on the
    window (None otherwise). ``frac_increasing``/``max_ratio`` summarise the violations; ``verdict`` is
    ``classify_growth`` of sqrt(E_t) (of the loss for ``loss_energy``).
    """

    energies: np.ndarray
    ratios: np.ndarray
    max_ratio: float
    frac_increasing: float
    certified: bool
    bound: float | None
    verdict: str


def _report(energies: np.ndarray, rtol: float, cond: float) -> EnergyReport:
    e = np.asarray(energies, dtype=float)
    if e.ndim != 1 or e.size < 2 or not np.isfinite(e).all() or (e < 0).any() or e[0] == 0:
        raise ValueError("energies must be a finite, non-negative 1-D array of >= 2 values with energies[0] > 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(e[:-1] > 0, e[1:] / np.where(e[:-1] > 0, e[:-1], 1.0), np.where(e[1:] > 0, np.inf, 1.0))
    ok = bool(np.all(r <= 1 + rtol))
    return EnergyReport(e, r, float(r.max()), float(np.mean(r > 1 + rtol)), ok, float(np.sqrt(cond)) if ok else None,
                        classify_growth(np.sqrt(e)))


def incremental_energy(source: Trajectory | np.ndarray, metric: object = None, *, rtol: float = 1e-9) -> EnergyReport:
    """Incremental fixed-metric energy E_t = delta_t^T M delta_t.

    ``source``: a ``Trajectory`` (its energies, computed with the metric it was run with; pass that metric
    here too to get the right sqrt(cond M)), a (T+1, n) array of perturbations delta_t, or a 1-D array of
    energies. ``metric``: None (M = I, for SGD), a positive diagonal (e.g. Adam's sqrt(v_hat)+eps) or an SPD
    matrix. Certificate: r_t <= 1 on the window => ||delta_t|| <= sqrt(cond M) ||delta_0||.
    """
    if isinstance(source, Trajectory):
        energies = source.energies
        n = source.delta.numel()
    else:
        arr = np.asarray(source, dtype=float)
        if arr.ndim == 2:
            n = arr.shape[1]
            f = _metric_fn(metric, n)
            energies = np.array([f(torch.as_tensor(row)) for row in arr])
        elif arr.ndim == 1:
            energies, n = arr, None
        else:
            raise ValueError(f"source must be a Trajectory, a (T+1, n) array or a 1-D array, got shape {arr.shape}")
    cond = 1.0
    if metric is not None:
        m = np.asarray(metric, dtype=float)
        ev = m if m.ndim == 1 else np.linalg.eigvalsh(m)
        if n is not None:
            _metric_fn(metric, n)
        cond = float(ev.max() / ev.min())
    return _report(energies, rtol, cond)


def loss_energy(losses: np.ndarray, *, rtol: float = 0.0) -> EnergyReport:
    """The loss as the energy of the (non-incremental) learning flow: descent holds when
    f(theta_{t+1}) <= f(theta_t). At the edge of stability this fails on short time scales (Cohen et al.), so
    a failed certificate is a flag, not a divergence prediction."""
    return _report(np.asarray(losses, dtype=float), rtol, 1.0)


@dataclass
class SupEnergy:
    """Sup-energy c2(T) = max_{0<=s<=t<=T} ||delta_t||^2/||delta_s||^2 on doubling horizons."""

    horizons: np.ndarray
    c2: np.ndarray
    growth: np.ndarray
    verdict: str


def _doubling(T: int, horizons: object) -> np.ndarray:
    if horizons is None:
        hs = np.array([max(T // 8, 1), max(T // 4, 1), max(T // 2, 1), T])
    else:
        hs = np.asarray(horizons, dtype=int)
    if hs.ndim != 1 or hs.size < 3 or np.any(np.diff(hs) <= 0) or hs[0] < 1 or hs[-1] > T:
        raise ValueError(f"horizons must be >= 3 increasing steps in [1, {T}], got {horizons}")
    return hs


def sup_energy(norms: np.ndarray, horizons: object = None) -> SupEnergy:
    """From logged perturbation norms ||delta_t||, t = 0..T: c2 on growing horizons (default T/8, T/4, T/2, T)
    and the verdict: flat = bounded, polynomial = subexponential growth, geometric = exponential growth
   . Uses the last three horizons for the verdict."""
    a = np.asarray(norms, dtype=float)
    if a.ndim != 1 or a.size < 2 or np.isnan(a).any() or (a <= 0).any():
        raise ValueError("norms must be a positive 1-D array of >= 2 values (no NaN)")
    hs = _doubling(a.size - 1, horizons)
    with np.errstate(over="ignore"):
        running = np.maximum.accumulate(a / np.minimum.accumulate(a)) ** 2
    c2 = running[hs]
    growth = c2[1:] / c2[:-1]
    return SupEnergy(hs, c2, growth, horizon_verdict(np.sqrt(c2[-3:]), flat=0.02))


@dataclass
class GramianEnergy:
    """Backward Gramian energy V_s(d) = d^T P_s d on growing horizons.

    ``c2[j]`` = lambda_max(P_0) for horizon ``horizons[j]`` (c1 = 1); ``ratios[s]`` = 1 - 1/lambda_max(P_s):
    the worst per-step dissipation V_{s+1}(A_s d)/V_s(d) on the longest horizon (always < 1: strict);
    ``identity_error``: max error of V_{s+1}(A_s d) = V_s(d) - ||d||^2 on random d, relative to the identity's
    rounding scale |A_s d|^T |P_{s+1}| |A_s d| + |d|^T |P_s| |d| + ||d||^2 (the sums of absolute terms that bound
    the quadratic forms' float rounding, Higham, Accuracy and Stability of Numerical Algorithms, sec. 3.1): a few
    units of the float epsilon where the identity holds, even where P_s reaches 1e160 on an unstable run and the
    error relative to V_s(d) itself is 1e-8;
    ``verdict``: ``horizon_verdict`` of sqrt(c2) on the last three horizons.
    """

    horizons: np.ndarray
    c2: np.ndarray
    ratios: np.ndarray
    identity_error: float
    verdict: str


def _gramian(transitions: np.ndarray, T: int) -> list[np.ndarray]:
    d = transitions.shape[-1]
    P = np.eye(d)
    out = [P]
    for s in range(T - 1, -1, -1):
        A = transitions[s]
        P = np.eye(d) + A.T @ P @ A
        if not np.isfinite(P).all():
            P = np.full((d, d), np.inf)
            out.append(P)
            break
        out.append(P)
    return out[::-1]


def backward_gramian(transitions: np.ndarray, horizons: object = None, *, seed: Seed = 0) -> GramianEnergy:
    """Backward Gramian P_T = I, P_s = I + A_s^T P_{s+1} A_s for the linearised steps A_s.

    ``transitions``: (T, d, d) array of A_0..A_{T-1} (e.g. I - eta H_B). ``horizons`` default T/8..T doubling.
    A non-finite P (overflow on unstable runs) gives c2 = inf.
    """
    A = np.asarray(transitions, dtype=float)
    if A.ndim != 3 or A.shape[1] != A.shape[2] or A.shape[0] < 1 or not np.isfinite(A).all():
        raise ValueError(f"transitions must be a finite (T, d, d) array, got shape {A.shape}")
    T = A.shape[0]
    hs = _doubling(T, horizons)
    with np.errstate(over="ignore", invalid="ignore"):
        # P_0 on horizon h equals sum_{t<=h} Phi(t,0)^T Phi(t,0): all horizons in one forward pass.
        phi, gram, c2 = np.eye(A.shape[1]), np.eye(A.shape[1]), {}
        for t in range(1, T + 1):
            phi = A[t - 1] @ phi
            gram = gram + phi.T @ phi
            if t in hs:
                c2[t] = float(np.linalg.eigvalsh(gram)[-1]) if np.isfinite(gram).all() else np.inf
        c2 = np.array([c2[h] for h in hs])
        Ps = _gramian(A, T)
    rng = as_rng(seed)
    err, ratios = 0.0, []
    for s in range(min(T, len(Ps) - 1)):
        if not np.isfinite(Ps[s]).all():
            break
        ratios.append(1.0 - 1.0 / np.linalg.eigvalsh(Ps[s])[-1])
        dv = rng.standard_normal(A.shape[1])
        Ad, dd = A[s] @ dv, dv @ dv
        lhs, rhs = Ad @ Ps[s + 1] @ Ad, dv @ Ps[s] @ dv - dd
        scale = np.abs(Ad) @ np.abs(Ps[s + 1]) @ np.abs(Ad) + np.abs(dv) @ np.abs(Ps[s]) @ np.abs(dv) + dd
        err = max(err, abs(lhs - rhs) / scale)
    return GramianEnergy(hs, c2, np.asarray(ratios), float(err), horizon_verdict(np.sqrt(c2[-3:]), flat=0.02))
