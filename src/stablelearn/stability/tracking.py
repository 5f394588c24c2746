"""Sharpness tracking across the checks of :class:`~stablelearn.stability.StabilityMonitor`.

Between two checks the weights move a little, so the top eigenvector of the probe Hessian moves a little:
each check starts from the vector the previous one left and stops as soon as the Ritz residual is within
``tol`` (docs/stability.md, "Monitor"). The exact cold measurement stays
:func:`~stablelearn.stability.sharpness`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from stablelearn._conventions import check_choice, check_float, check_int, torch_generator

from ._functional import Seed, aux_seeds, random_unit
from .eigen import SpectralEstimate, lanczos

__all__ = ["TRACKING_MODES", "SharpnessTracker"]

#: ``"power"``: continue from the stored vector (one HVP when it is still within ``tol``);
#: ``"lanczos"``: a warm Lanczos from the stored vector plus the gradient at every check.
TRACKING_MODES = ("power", "lanczos")


class SharpnessTracker:
    """The top eigenvalue of a sequence of slowly changing symmetric operators, one solve per check.

    Parameters
    ----------
    size : int
        The operators' dimension (the number of trainable parameters).
    dtype, device : torch.dtype, torch.device
        Of the vectors.
    tol : float
        Residual tolerance: a solve stops when ``||A y - theta y|| <= tol * |theta|``, so ``theta`` lies within
        ``tol`` (relative) of *an* eigenvalue of ``A``. Every returned ``theta`` is a Ritz value, hence at most
        the top eigenvalue (Cauchy interlacing): the error to the top is one-sided.
    iters : int
        Lanczos budget of a warm solve (the cold first solve gets at least 50).
    tracking : str
        ``"power"`` (default): one HVP of the stored unit vector ``v`` gives its Rayleigh quotient (a lower bound
        on the top eigenvalue, error quadratic in the angle to the top eigenvector) and residual; within ``tol``
        it is accepted and the normalised product (one power step) is stored for the next check; otherwise
        Lanczos goes on from ``v``, reusing that product. Every ``refresh_every`` checks the solve restarts as
        in ``"lanczos"``. ``"lanczos"``: every check runs Lanczos from ``v`` plus the current gradient direction
        (sign matched), which reaches an eigenvalue that has just overtaken ``v``'s.
    refresh_every : int or None
        With ``"power"``, a gradient-mixed restart every this many checks (None: never).
    audit_every : int or None
        Every this many checks, also run ``audit_iters`` Lanczos steps from a fresh random vector, without a
        residual stop (the guard against tracking an eigenvalue that is no longer the top): with probability at
        least ``1 - AUDIT_FAILURE`` over that vector, the audit's value is within ``tol`` of the top eigenvalue
        relative to the spectrum's spread ``lambda_max - lambda_min`` (Kuczyński and Woźniakowski 1992 for
        Lanczos from a random start; about 25 HVPs for 85k parameters at ``tol=0.05``). The larger of the two
        Ritz values (both at most the top eigenvalue) is reported, its vector kept, and the audit's value
        recorded (``last_audit``). None (default): no audit.
    seed : None, int or Generator
        Seeds the cold start vector and the audits' vectors.
    """

    def __init__(self, size: int, dtype: torch.dtype, device: torch.device, *, tol: float = 0.05, iters: int = 20,
                 tracking: str = "power", refresh_every: int | None = 10, audit_every: int | None = None,
                 seed: Seed = 0) -> None:
        self.size, self.dtype, self.device = size, dtype, device
        self.tol = check_float(tol, "tol", low=0.0, low_inclusive=False)
        self.iters = check_int(iters, "iters", low=1)
        self.tracking = check_choice(tracking, "tracking", TRACKING_MODES)
        self.refresh_every = None if refresh_every is None else check_int(refresh_every, "refresh_every", low=1)
        self.audit_every = None if audit_every is None else check_int(audit_every, "audit_every", low=1)
        self.seed = seed
        self._audit_gen = torch_generator(aux_seeds(seed, 1)[0])
        self.vectors: dict[str, torch.Tensor | None] = {}
        self.age: dict[str, int] = {}  # checks since the last restart, per key
        self.count: dict[str, int] = {}  # checks so far, per key
        self.last_audit: float | None = None  # the audit's value when the last track() ran one

    #: Failure probability of an audit (over its random start vector).
    AUDIT_FAILURE = 0.01

    @property
    def audit_iters(self) -> int:
        """Lanczos steps of an audit: the k with 1.648 sqrt(n) exp(-sqrt(tol) (2k - 1)) <= AUDIT_FAILURE
        (Kuczyński and Woźniakowski 1992, Theorem 4.2), at most n."""
        k = (math.log(1.648 * math.sqrt(self.size) / self.AUDIT_FAILURE) / math.sqrt(self.tol) + 1) / 2
        return min(self.size, math.ceil(k))

    def _cold(self, op: Callable, v0: torch.Tensor) -> SpectralEstimate:
        return lanczos(op, v0, k=1, iters=max(self.iters, 50), tol=self.tol)

    def track(self, op: Callable[[torch.Tensor], torch.Tensor], key: str,
              gradient: torch.Tensor | None = None) -> SpectralEstimate:
        """One check: the tracked top eigenvalue of ``op`` under ``key``.

        Parameters
        ----------
        op : callable
            ``v -> A v`` (a probe Hessian at the current weights).
        key : str
            Which tracked quantity (each keeps its own vector).
        gradient : torch.Tensor, optional
            The current gradient (flat), mixed into restarts.

        Returns
        -------
        SpectralEstimate
            ``value``, ``matvecs`` (HVPs of this check), ``residual``; ``values[-1]`` is the audit's value on
            an audited check (also in ``last_audit``).
        """
        self.count[key] = n = self.count.get(key, 0) + 1
        self.last_audit = None
        prev = self.vectors.get(key)
        if prev is None:
            self.age[key] = 0
            est = self._keep(key, self._cold(op, random_unit(self.size, self.seed, self.dtype, self.device)))
        else:
            est = self._warm(op, key, prev / prev.norm(), gradient)
        if self.audit_every is not None and n > 1 and (n - 1) % self.audit_every == 0:
            est = self._audit(op, key, est)
        return est

    def _keep(self, key: str, est: SpectralEstimate) -> SpectralEstimate:
        if est.vector is not None:
            self.vectors[key] = est.vector
        return est

    def _warm(self, op: Callable, key: str, v: torch.Tensor, gradient: torch.Tensor | None) -> SpectralEstimate:
        self.age[key] = age = self.age.get(key, 0) + 1
        if self.tracking == "power" and (self.refresh_every is None or age < self.refresh_every):
            w = op(v).detach()
            # Lanczos from v on the product already made: when v is still within tol it stops after this one
            # product, with theta = v^T H v; the normalised product (a power step) is then kept for next time
            est = self._keep(key, lanczos(op, v, k=1, iters=self.iters, tol=self.tol, w0=w))
            norm = w.norm()
            if est.n_iter == 1 and est.value > 0 and torch.isfinite(norm) and norm > 0:
                self.vectors[key] = w / norm
            return est
        self.age[key] = 0
        if gradient is not None:
            norm = gradient.norm()
            if torch.isfinite(norm) and norm > 0:
                # the sign that adds to v: with the opposite sign the two cancel on the top eigenvector when
                # the gradient points along it (e.g. a run diverging along it)
                v = v + (gradient / norm).to(v.dtype) * (1.0 if float(v @ gradient) >= 0 else -1.0)
        return self._keep(key, lanczos(op, v, k=1, iters=self.iters, tol=self.tol))

    def _audit(self, op: Callable, key: str, est: SpectralEstimate) -> SpectralEstimate:
        v0 = torch.randn(self.size, generator=self._audit_gen, dtype=torch.float64)
        v0 = v0.to(dtype=self.dtype, device=self.device)
        audit = lanczos(op, v0, k=1, iters=self.audit_iters, tol=0.0)  # a fixed length, no residual stop
        self.last_audit = audit.value
        best = audit if math.isfinite(audit.value) and not audit.value <= est.value else est
        if best is audit and audit.vector is not None:
            self.vectors[key] = audit.vector
            self.age[key] = 0
        return SpectralEstimate(best.value, best.vector, est.n_iter + audit.n_iter, best.converged,
                                est.matvecs + audit.matvecs, est.history, best.status,
                                values=np.array([best.value, audit.value]), residual=best.residual)
