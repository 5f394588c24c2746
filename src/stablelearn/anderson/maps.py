"""Base fixed-point maps (the GD and proximal-gradient maps AA accelerates; docs/anderson.md, "Usage"),
a small prox library and ``estimate_L``.

Conventions: ``grad(x)`` is the gradient of the smooth part phi; a prox is called as
``prox(v, h) = argmin_z psi(z) + ||z - v||^2 / (2 h)`` and exposes ``value(x) = psi(x)``.
All functions accept NumPy arrays and torch tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import _backend as B
from ._backend import Array
from .._conventions import check_float, check_int



@dataclass(frozen=True)
class L1:
    """``psi(x) = lam ||x||_1``; the prox is soft-thresholding at ``h lam``.

    Parameters
    ----------
    lam : float
        Weight (>= 0, finite).
    """

    lam: float

    def __post_init__(self) -> None:
        check_float(self.lam, "lam", low=0.0)

    def __call__(self, v: Array, h: float) -> Array:
        return B.shrink(v, h * self.lam)

    def value(self, x: Array) -> float:
        """``psi(x)``."""
        return self.lam * B.abs_sum(x)


@dataclass(frozen=True)
class SquaredL2:
    """``psi(x) = (lam / 2) ||x||^2``; the prox is ``v / (1 + h lam)``.

    Parameters
    ----------
    lam : float
        Weight (>= 0, finite).
    """

    lam: float

    def __post_init__(self) -> None:
        check_float(self.lam, "lam", low=0.0)

    def __call__(self, v: Array, h: float) -> Array:
        return v / (1.0 + h * self.lam)

    def value(self, x: Array) -> float:
        """``psi(x)``."""
        return 0.5 * self.lam * B.vdot(x, x)


@dataclass(frozen=True)
class ElasticNet:
    """``psi(x) = l1 ||x||_1 + (l2 / 2) ||x||^2``; the prox is ``shrink(v, h l1) / (1 + h l2)``.

    Parameters
    ----------
    l1, l2 : float
        Weights (>= 0, finite).
    """

    l1: float
    l2: float

    def __post_init__(self) -> None:
        check_float(self.l1, "l1", low=0.0)
        check_float(self.l2, "l2", low=0.0)

    def __call__(self, v: Array, h: float) -> Array:
        return B.shrink(v, h * self.l1) / (1.0 + h * self.l2)

    def value(self, x: Array) -> float:
        """``psi(x)``."""
        return self.l1 * B.abs_sum(x) + 0.5 * self.l2 * B.vdot(x, x)


@dataclass(frozen=True)
class Box:
    """``psi`` = indicator of ``{lower <= x <= upper}``; the prox is the projection (clipping).

    Parameters
    ----------
    lower, upper : float, optional
        Bounds (None: unbounded; NaN refused; ``lower <= upper``). ``value(x)`` is 0 or inf.
    """

    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        for name in ("lower", "upper"):
            if getattr(self, name) is not None:
                check_float(getattr(self, name), name, finite=False)
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower must be <= upper, got lower={self.lower}, upper={self.upper}")

    def __call__(self, v: Array, h: float) -> Array:
        return B.clip(v, self.lower, self.upper)

    def value(self, x: Array) -> float:
        """``psi(x)``."""
        xs = B.to_host(x)
        ok = (self.lower is None or xs.min() >= self.lower) and (self.upper is None or xs.max() <= self.upper)
        return 0.0 if ok else float("inf")


def gd_map(grad: Callable[[Array], Array], h: float) -> Callable[[Array], Array]:
    """The gradient step ``T(x) = x - h grad(x)``.

    Parameters
    ----------
    grad : callable
        Gradient of the smooth part.
    h : float
        Step size (> 0; ``1/L`` guarantees descent).

    Returns
    -------
    callable
        ``T``.
    """
    h = check_float(h, "h", low=0.0, low_inclusive=False)
    if not callable(grad):
        raise TypeError("grad must be callable")
    return lambda x: x - h * grad(x)


def prox_grad_map(grad: Callable[[Array], Array], prox: Callable[[Array, float], Array],
                  h: float) -> Callable[[Array], Array]:
    """The proximal-gradient (ISTA) step ``T(x) = prox(x - h grad(x), h)``.

    Parameters
    ----------
    grad : callable
        Gradient of the smooth part.
    prox : callable
        ``prox(v, h)`` of the non-smooth part.
    h : float
        Step size (> 0).

    Returns
    -------
    callable
        ``T``.
    """
    h = check_float(h, "h", low=0.0, low_inclusive=False)
    if not callable(grad) or not callable(prox):
        raise TypeError("grad and prox must be callable")
    return lambda x: prox(x - h * grad(x), h)


def estimate_L(
    matvec: Callable[[Array], Array],
    x0: Array,
    *,
    n_iter: int = 200,
    rtol: float = 1e-8,
    seed: Any = 0,
) -> float:
    """Largest eigenvalue of a symmetric PSD operator (e.g. the Hessian of phi) by power iteration.

    Parameters
    ----------
    matvec : callable
        ``matvec(v)`` applies the operator; it must return an array like ``v``.
    x0 : array or tensor, 1-D
        Fixes the shape, dtype and backend of ``v``.
    n_iter : int, default 200
        Maximum number of iterations (>= 1).
    rtol : float, default 1e-8
        Stop when the Rayleigh quotient changes by less than ``rtol`` relative.
    seed : None, int or numpy.random.Generator, default 0
        Starting vector's seed (no global RNG is touched).

    Returns
    -------
    float
        The estimate. For a non-quadratic phi pass a Hessian-vector product at a representative
        point, and keep a safety margin: power iteration gives a lower bound on the true L.

    Raises
    ------
    TypeError
        If ``matvec`` does not return an array of ``x0``'s backend.
    ValueError
        If it returns the wrong shape or non-finite values.
    """
    if not callable(matvec):
        raise TypeError("matvec must be callable")
    n_iter = check_int(n_iter, "n_iter", low=1)
    rtol = check_float(rtol, "rtol", low=0.0)
    x0 = B.as_vector(x0, "x0")
    v = B.random_like(x0, seed)
    v = v / B.norm(v)
    lam = 0.0
    for _ in range(n_iter):
        w = matvec(v)
        if not hasattr(w, "shape") or B.is_torch(w) != B.is_torch(v):
            raise TypeError(f"matvec must return an array like x0 ({type(v).__name__}), got {type(w).__name__}")
        if tuple(w.shape) != tuple(v.shape):
            raise ValueError(f"matvec must return shape {tuple(v.shape)}, got {tuple(w.shape)}")
        lam_new = B.vdot(v, w)
        nw = B.norm(w)
        if not np.isfinite(nw):
            raise ValueError("matvec returned non-finite values")
        if nw == 0.0:
            return 0.0
        v = w / nw
        if abs(lam_new - lam) <= rtol * abs(lam_new):
            return lam_new
        lam = lam_new
    return lam
