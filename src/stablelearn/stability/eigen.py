"""Matrix-free symmetric eigensolvers on a ``matvec`` (power iteration, Lanczos) and their result type."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["SpectralEstimate", "block_power_iteration", "lanczos", "power_iteration"]

MatVec = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class SpectralEstimate:
    """One extreme eigenvalue (or singular value) estimate.

    Attributes
    ----------
    value : float
        The estimate (NaN when ``status == "non_finite"``).
    vector : torch.Tensor or None
        Its unit eigen/singular vector; pass it back as ``vector=`` to warm-start the next measurement.
    n_iter : int
        Solver iterations.
    converged : bool
        Whether the stopping test was met (see the solver).
    matvecs : int
        Operator applications (HVPs or JVP+VJP pairs) over the whole probe set.
    history : numpy.ndarray
        The estimate after each iteration.
    status : str
        ``"converged"``, ``"max_iter"`` or ``"non_finite"`` (a NaN/inf operator output ends the solve with
        this status, never a silent NaN).
    values, vectors : optional
        All k Ritz pairs of a top-k Lanczos solve (per-block values of a block power iteration).
    residual : float
        ``||A y - value y||`` for the returned unit vector ``y`` (Lanczos and power iteration): ``value`` lies
        within ``residual`` of an eigenvalue of ``A`` (NaN when unknown).
    """

    value: float
    vector: torch.Tensor | None
    n_iter: int
    converged: bool
    matvecs: int
    history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    status: str = "converged"
    values: np.ndarray | None = None
    vectors: torch.Tensor | None = None
    residual: float = float("nan")


def _nonfinite(n_iter: int, matvecs: int, history: list[float]) -> SpectralEstimate:
    return SpectralEstimate(float("nan"), None, n_iter, False, matvecs, np.asarray(history), "non_finite")


def power_iteration(matvec: MatVec, v0: torch.Tensor, *, iters: int, tol: float, shift: float = 0.0) -> SpectralEstimate:
    """Power iteration on ``A + shift*I`` for a symmetric ``A``; returns the eigenvalue of ``A``.

    Stops when the Rayleigh quotient changes by at most ``tol`` relative (PyHessian's test). Converges to
    the eigenvalue of largest magnitude of ``A + shift*I``.
    """
    v = v0 / v0.norm()
    lam_prev, history = None, []
    for it in range(1, iters + 1):
        w = matvec(v).detach() + shift * v
        lam = float(v @ w)
        if not torch.isfinite(w).all() or not np.isfinite(lam):
            return _nonfinite(it, it, history)
        history.append(lam - shift)
        norm = w.norm()
        if norm == 0:
            return SpectralEstimate(-shift, v, it, True, it, np.asarray(history), residual=0.0)
        err = float((w - lam * v).norm())
        v = w / norm
        if lam_prev is not None and abs(lam - lam_prev) <= tol * abs(lam):
            return SpectralEstimate(lam - shift, v, it, True, it, np.asarray(history), residual=err)
        lam_prev = lam
    return SpectralEstimate(history[-1], v, iters, False, iters, np.asarray(history), "max_iter", residual=err)


def block_power_iteration(matvec: MatVec, v0: torch.Tensor, *, iters: int, tol: float) -> SpectralEstimate:
    """Independent power iterations on the diagonal blocks of a block-diagonal PSD operator, in one product.

    ``v0`` has shape (B, n): one start vector per block (e.g. per example of a probe batch, whose
    Jacobian is block-diagonal). Each block is normalised separately, so each converges at its own rate
    to its own top eigenvalue; ``values`` holds the B estimates and ``value`` their max. Converged when
    every block's Rayleigh quotient changes by at most ``tol`` relative.
    """
    v = v0 / v0.norm(dim=1, keepdim=True)
    prev, history = None, []
    for it in range(1, iters + 1):
        w = matvec(v.reshape(-1)).detach().reshape(v.shape)
        lams = (v * w).sum(dim=1)
        if not torch.isfinite(w).all():
            return _nonfinite(it, it, history)
        history.append(float(lams.max()))
        norms = w.norm(dim=1, keepdim=True)
        v = torch.where(norms > 0, w / norms.clamp_min(torch.finfo(w.dtype).tiny), v)
        done = prev is not None and bool(torch.all((lams - prev).abs() <= tol * lams.abs()))
        prev = lams
        if done or it == iters:
            return SpectralEstimate(history[-1], v.reshape(-1), it, done, it, np.asarray(history),
                                    "converged" if done else "max_iter", values=lams.cpu().numpy())
    raise AssertionError("unreachable")  # pragma: no cover


def lanczos(matvec: MatVec, v0: torch.Tensor, *, k: int, iters: int, tol: float, which: str = "top",
            w0: torch.Tensor | None = None) -> SpectralEstimate:
    """Symmetric Lanczos with full reorthogonalisation for the ``k`` algebraically largest (``"top"``) or
    smallest (``"bottom"``) eigenvalues.

    Parameters
    ----------
    matvec, v0 : the operator and the start vector.
    k, iters, which : wanted pairs, iteration budget, end of the spectrum.
    tol : float
        Converged when every wanted Ritz pair has residual ``r_i = |beta_m s_mi| <= tol * |theta_i|`` (a bound
        on ``||A y - theta y||``, so each Ritz value lies within ``tol`` relative of an eigenvalue). From a
        warm start (a previous Ritz vector at nearby weights) this takes a few products: the tracking of
        ``StabilityMonitor``.
    w0 : torch.Tensor, optional
        ``matvec`` of the normalised ``v0`` when the caller has it already (it is used instead of the first
        product, which is still counted in ``matvecs``).

    Notes
    -----
    It keeps all Lanczos vectors (``iters x n`` memory). An invariant subspace (``beta = 0``) ends the solve
    as converged.
    """
    n = v0.numel()
    iters = min(iters, n)
    # the basis and one work vector are allocated once: the loop makes no new vector of size n (on CPU a
    # fresh large tensor costs page faults, comparable to the arithmetic here)
    basis = torch.empty(iters, n, dtype=v0.dtype, device=v0.device)
    work = torch.empty(n, dtype=v0.dtype, device=v0.device)
    alphas, betas, history = [], [], []
    torch.div(v0.detach().reshape(-1), v0.norm(), out=basis[0])
    for m in range(iters):
        q = basis[m]
        w = w0.detach() if m == 0 and w0 is not None else matvec(q).detach()
        alpha = float(q @ w)  # NaN or inf whenever w holds a NaN or an inf
        if not math.isfinite(alpha):
            return _nonfinite(m + 1, m + 1, history)
        # full reorthogonalisation against the whole basis (it removes alpha q and beta q_prev too), twice
        # (classical Gram-Schmidt twice is enough), in the work vector: the product itself is left alone
        work.copy_(w.reshape(-1))
        for _ in range(2):
            work.addmv_(basis[: m + 1].T, basis[: m + 1] @ work, alpha=-1.0)
        beta = float(work.norm())
        if not math.isfinite(beta):
            return _nonfinite(m + 1, m + 1, history)
        alphas.append(alpha)
        t = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        theta, s = np.linalg.eigh(t)
        order = np.argsort(theta)[::-1] if which == "top" else np.argsort(theta)
        wanted = order[: min(k, m + 1)]
        history.append(float(theta[wanted[0]]))
        residuals = np.abs(beta * s[-1, wanted])
        scale = np.maximum(np.abs(theta[wanted]), 1e-300)
        done = len(wanted) == k and bool(np.all(residuals <= tol * scale))
        invariant = beta <= 1e-12 * max(abs(alpha), 1e-300)
        if done or invariant or m + 1 == iters:
            converged = bool(done or m + 1 == n or invariant)
            ritz = torch.as_tensor(s[:, wanted], dtype=v0.dtype, device=v0.device)
            vecs = (basis[: m + 1].T @ ritz).T
            return SpectralEstimate(
                float(theta[wanted[0]]), vecs[0], m + 1, converged, m + 1, np.asarray(history),
                "converged" if converged else "max_iter", values=theta[wanted].copy(), vectors=vecs,
                residual=0.0 if invariant else float(residuals[0]),
            )
        betas.append(beta)
        torch.div(work, beta, out=basis[m + 1])
    raise AssertionError("unreachable")  # pragma: no cover
