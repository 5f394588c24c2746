"""Reduced FOSLS: ``J_r(c; mu) = c^T A(mu) c - 2 b(mu)^T c + f(mu)`` in batched torch.

The paper's reduced loss (arXiv 2512.21319; the authors' ``train_loss.py`` and reduced weights) with an
exact affine / element-wise offline-online split of our own (``docs/rbno.md``, "Reduced tensors").

With ``x = x_L + V c`` and the full-order ``J(x) = x^T K x - 2 F^T x + c0``:
``A = V^T K V``, ``b = V^T (F - K x_L)``, ``f = x_L^T K x_L - 2 F^T x_L + c0``. Because ``K``, ``F``
are sums of ``phi_j(theta_region)`` times fixed element-local matrices
(:mod:`stablelearn.rbno.fosls`), ``A, b, f`` are precomputed per region and term from the
element-local matrices: the exact 17-region affine split for heat conduction and the element-wise
split for Darcy/elasticity are the same code with different region labels. Online cost
O(Q r^2) per parameter with Q the number of (region, term) pairs, independent of the mesh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from stablelearn._conventions import check_array, check_bool, check_int

from .fosls import FOSLSProblem, Solution
from .pod import PODBasis


@dataclass
class ReducedSystem:
    """Batched reduced quadratic ``(A, b, f)``: shapes (B, r, r), (B, r), (B,), float64 torch."""

    A: torch.Tensor
    b: torch.Tensor
    f: torch.Tensor

    def __getitem__(self, idx: Any) -> ReducedSystem:
        return ReducedSystem(self.A[idx], self.b[idx], self.f[idx])

    def __len__(self) -> int:
        return self.A.shape[0]

    def loss(self, c: torch.Tensor) -> torch.Tensor:
        """``J_r(c) = c^T A c - 2 b^T c + f`` per row of ``c`` (B, r), one row per system."""
        c = c.to(self.A.dtype)
        if c.shape != self.b.shape:
            raise ValueError(f"c must have shape {tuple(self.b.shape)} (one row per parameter), got {tuple(c.shape)}")
        return torch.einsum("bi,bij,bj->b", c, self.A, c) - 2 * (self.b * c).sum(-1) + self.f

    def optimum(self) -> torch.Tensor:
        """RB-FOSLS minimiser ``c* = A^{-1} b`` (the paper's RB optimum)."""
        return torch.linalg.solve(self.A, self.b.unsqueeze(-1)).squeeze(-1)


class ReducedFOSLS:
    """RB-FOSLS of a :class:`~stablelearn.rbno.fosls.FOSLSProblem` on a reduced basis ``V``
    (arXiv 2512.21319, reduced loss; split: ``docs/rbno.md``, "Reduced tensors").

    Parameters
    ----------
    problem : FOSLSProblem
        The full-order problem.
    basis : PODBasis or array (ndofs, r), r >= 1
        Columns must vanish on the problem's essential dofs so every coefficient vector gives a
        BC-exact field.
    chunk : int >= 1
        Elements processed at once while projecting the element-local matrices (memory bound).
    homogeneous : bool
        True (the paper's RBNO): ``x = x_L + V c`` with ``V`` zero on the essential dofs.
        False: ``x = V c`` with no lift and no boundary check (the un-homogenised basis of the
        non-variationally-correct penalty baseline, ``docs/rbno.md``).
    """

    def __init__(self, problem: FOSLSProblem, basis: PODBasis | np.ndarray, chunk: int = 256,
                 homogeneous: bool = True) -> None:
        if not isinstance(problem, FOSLSProblem):
            raise TypeError(f"problem must be a FOSLSProblem, got {type(problem).__name__}")
        V = check_array(basis.modes if isinstance(basis, PODBasis) else basis, "basis", ndim=2, min_size=0)
        if V.shape[0] != problem.ndofs or V.shape[1] < 1:
            raise ValueError(f"basis must have shape ({problem.ndofs}, r) with r >= 1, got {V.shape}")
        chunk = check_int(chunk, "chunk", low=1)
        homogeneous = check_bool(homogeneous, "homogeneous")
        if homogeneous and np.abs(V[problem.essential]).max(initial=0.0) > 1e-10 * max(np.abs(V).max(), 1e-300):
            raise ValueError("basis columns must vanish on the essential dofs (use snapshot minus lift)")
        self.problem, self.V, self.r = problem, V, V.shape[1]
        self.lift = xL = problem.lift if homogeneous else np.zeros(problem.ndofs)
        L = problem.local
        self._A0 = V.T @ (L.K0 @ V)
        self._b0 = V.T @ (L.F0 - L.K0 @ xL)
        self._f0 = float(xL @ (L.K0 @ xL) - 2 * L.F0 @ xL + L.c0)
        ed = problem.basis.element_dofs.T  # (n_elem, n_loc)
        n_elem = ed.shape[0]
        S = sp.csr_matrix((np.ones(n_elem), (problem.regions, np.arange(n_elem))),
                          shape=(problem.n_regions, n_elem))
        A_t, b_t, f_t = [], [], []
        for Kt, Ft in zip(L.K, L.F):
            A_j = np.zeros((problem.n_regions, self.r * self.r))
            b_j = np.zeros((problem.n_regions, self.r))
            f_j = np.zeros(problem.n_regions)
            for lo in range(0, n_elem, chunk):
                sl = slice(lo, min(lo + chunk, n_elem))
                VT, xT, KT = V[ed[sl]], xL[ed[sl]], Kt[sl]
                # tolocal() holds K[ed[b], ed[a]] at [a, b]; contract accordingly (see LocalData)
                KV = np.einsum("tba,tbj->taj", KT, VT)
                Kx = np.einsum("tba,tb->ta", KT, xT)
                FT = Ft[sl] if Ft is not None else np.zeros_like(xT)
                Ssl = S[:, sl]
                A_j += Ssl @ np.einsum("tai,taj->tij", VT, KV).reshape(-1, self.r * self.r)
                b_j += Ssl @ np.einsum("tai,ta->ti", VT, FT - Kx)
                f_j += Ssl @ (np.einsum("ta,ta->t", xT, Kx) - 2 * np.einsum("ta,ta->t", FT, xT))
            A_t.append(A_j.reshape(-1, self.r, self.r))
            b_t.append(b_j)
            f_t.append(f_j)
        t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64)
        self.A0, self.b0, self.f0 = t(self._A0), t(self._b0), torch.tensor(self._f0, dtype=torch.float64)
        self.A_terms, self.b_terms, self.f_terms = t(np.stack(A_t)), t(np.stack(b_t)), t(np.stack(f_t))
        self._M = problem.product()

    # ------------------------------------------------------------------ online
    @property
    def memory_bytes(self) -> int:
        """Bytes held by the reduced tensors (A, b, f families)."""
        return sum(x.numel() * x.element_size() for x in
                   (self.A0, self.b0, self.A_terms, self.b_terms, self.f_terms))

    def system(self, mu: Any) -> ReducedSystem:
        """Batched ``A(mu), b(mu), f(mu)`` for parameters ``mu`` (n, d) or (d,)."""
        th = self.problem.theta(self._mu(mu))
        phis = torch.as_tensor(np.stack([t.phi(th) for t in self.problem.terms]), dtype=torch.float64)
        A = self.A0 + torch.einsum("jbk,jkpq->bpq", phis, self.A_terms)
        b = self.b0 + torch.einsum("jbk,jkp->bp", phis, self.b_terms)
        f = self.f0 + torch.einsum("jbk,jk->b", phis, self.f_terms)
        return ReducedSystem(A, b, f)

    def A(self, mu: Any) -> torch.Tensor:
        """Reduced matrices ``A(mu)``, shape (n, r, r)."""
        return self.system(mu).A

    def b(self, mu: Any) -> torch.Tensor:
        """Reduced load vectors ``b(mu)``, shape (n, r)."""
        return self.system(mu).b

    def f(self, mu: Any) -> torch.Tensor:
        """Reduced constants ``f(mu)``, shape (n,)."""
        return self.system(mu).f

    def loss(self, c: Any, mu: Any) -> torch.Tensor:
        """Reduced FOSLS value ``J_r(c; mu)`` (equal to ``J(decode(c); mu)``), shape (B,)."""
        return self.system(mu).loss(self._c(c))

    def estimate(self, c: Any, mu: Any) -> torch.Tensor:
        """A-posteriori estimator ``eta = sqrt(J_r(c; mu))`` (arXiv 2512.21319); round-off negatives -> 0."""
        return torch.sqrt(torch.clamp(self.loss(c, mu), min=0.0))

    def optimum(self, mu: Any) -> torch.Tensor:
        """RB-FOSLS solution ``c*(mu)``, shape (B, r): the minimiser of :meth:`loss`."""
        return self.system(mu).optimum()

    def decode(self, c: Any) -> np.ndarray:
        """Full FE vector(s) ``x_L + V c``: (ndofs,) for one coefficient vector, else (B, ndofs)."""
        single = np.ndim(c) == 1
        x = self.lift + self._c(c).detach().numpy() @ self.V.T
        return x[0] if single else x

    def solution(self, c: Any, mu: Any) -> Solution:
        """The decoded field of one coefficient vector ``c`` (r,) at one parameter as a :class:`Solution`."""
        mu = self.problem.one_mu(mu)
        c = self._c(c)
        if len(c) != 1:
            raise ValueError(f"c must be one coefficient vector, got {len(c)} rows")
        return Solution(self.problem, mu[0], self.decode(c)[0], float(self.loss(c, mu)[0]))

    def encode(self, x: Any) -> np.ndarray:
        """X-orthogonal projection coefficients ``V^T M_X (x - x_L)`` of full vector(s) ``x``."""
        x = self.problem.check_x(x, allow_batch=True)
        return (self.V.T @ (self._M @ (x - self.lift).T)).T

    # ------------------------------------------------------------------ validation
    def _mu(self, mu: Any) -> np.ndarray:
        if isinstance(mu, torch.Tensor):
            mu = mu.detach().cpu().numpy()
        return self.problem.check_mu(mu)

    def _c(self, c: Any) -> torch.Tensor:
        if not isinstance(c, torch.Tensor):
            c = torch.as_tensor(check_array(c, "c", ndim=(1, 2), finite=False, min_size=0))
        if c.dtype.is_complex or not (c.dtype.is_floating_point or c.dtype in (torch.int32, torch.int64)):
            raise TypeError(f"c must hold real numbers, got dtype {c.dtype}")
        c = c.reshape(1, -1) if c.ndim == 1 else c
        if c.ndim != 2 or c.shape[1] != self.r or c.shape[0] == 0:
            raise ValueError(f"c must have shape ({self.r},) or (B, {self.r}) with B >= 1, got {tuple(c.shape)}")
        if not torch.all(torch.isfinite(c)):
            raise ValueError("c must be finite, got NaN or inf")
        return c
