"""Linear elasticity of arXiv 2512.21319, stress-displacement FOSLS: RT2^2 x P2^2 on scikit-fem.

Plane strain, nu = 0.4, ``E = 1 + exp(m)`` per element with ``m`` the KL-truncated Matern field of
:func:`~stablelearn.rbno.diffusion.matern_kl` (reconstructed deviation, ``docs/rbno.md``). Omega = (0,2) x (0,1),
clamped left edge, traction ``t(y) = (0.6 exp(-(y-0.5)^2/4), 0.3 (1 + y/10))`` on the right edge,
top/bottom traction-free, no body force. Each row of sigma is in H(div) (not symmetric a priori).

FOSLS (training loss of the code): ``J = ||div sigma + f||^2 + <C^-1 (sigma - C eps(u)), sigma - C eps(u)>``.
Since ``C = E C_1``, ``J`` is affine in ``(1/E_T, E_T)`` element by element.
``weak_symmetry=True`` adds ``||sigma_12 - sigma_21||^2`` (the code's FE solver does, its loss does
not; here one flag is used consistently for snapshots, loss and estimator; default off).
"""

from __future__ import annotations

import numpy as np
from skfem import (Basis, BilinearForm, ElementTriP1, ElementTriP2, ElementTriRT2, ElementVector, FacetBasis,
                   Functional, LinearForm, condense, solve)
from skfem.helpers import ddot, div, dot, sym_grad, trace

from typing import Any

from stablelearn._conventions import as_rng, check_bool, check_int

from .diffusion import check_log_field, matern_kl, rectangle_mesh
from .fosls import FOSLSProblem, Term

NU = 0.4
MU1 = 1 / (2 * (1 + NU))               # Lame parameters at E = 1
LAM1 = NU / ((1 + NU) * (1 - 2 * NU))


def _stress(s1, s2):
    """2x2 stress from its two H(div) rows (arrays of shape (2, ...))."""
    return np.stack([s1, s2])


def _compliance_product(S, T):
    """<C_1^{-1} S, T> for E = 1 (plane strain; valid for non-symmetric S)."""
    return ddot(S, T) / (2 * MU1) - LAM1 / (4 * MU1 * (LAM1 + MU1)) * trace(S) * trace(T)


def _stiffness_product(e, f):
    """<C_1 e, f> for E = 1."""
    return 2 * MU1 * ddot(e, f) + LAM1 * trace(e) * trace(f)


def traction(x: np.ndarray) -> np.ndarray:
    """Right-edge traction of the paper's elasticity problem, zero elsewhere on the boundary."""
    on_right = x[0] > 2 - 1e-9
    return np.stack([0.6 * np.exp(-(x[1] - 0.5) ** 2 / 4), 0.3 * (1 + x[1] / 10)]) * on_right


class Elasticity(FOSLSProblem):
    """Plane-strain elasticity FOSLS (arXiv 2512.21319); parameter ``xi ~ N(0, I_modes)`` of the KL field.

    ``nx x ny`` cells on (0,2) x (0,1). The X product is the energy-weighted
    ``<C eps(u), eps(u)> + <C^-1 sigma, sigma> + ||div sigma||^2`` at the parameter given to
    :meth:`product` (default ``xi = 0``, i.e. E = 2 on every element: the "mean parameter" of our
    errors, standing in for the authors' mean-E product). Admissible ``xi``: finite, with log-field
    ``|m| <= 10`` on every element (``docs/rbno.md``, "Input contract and statuses").
    """

    sigma_names = (0, 1)
    u_names = (2,)
    product_depends_on_mu = True
    vertex_element = ElementVector(ElementTriP1()) * ElementVector(ElementTriP1()) * ElementVector(ElementTriP1())

    def __init__(self, nx: int = 32, ny: int = 16, modes: int = 16, weak_symmetry: bool = False,
                 delta: float = 1.5, gamma: float = 0.15, intorder: int = 4) -> None:
        mesh = rectangle_mesh(nx, ny, 2.0, 1.0)
        self.mesh, self.intorder = mesh, check_int(intorder, "intorder", low=4)
        self.param_dim = check_int(modes, "modes", low=1)
        self.weak_symmetry = check_bool(weak_symmetry, "weak_symmetry")
        self.element = ElementTriRT2() * ElementTriRT2() * ElementVector(ElementTriP2())
        self.regions = np.arange(mesh.t.shape[1])
        self.n_regions = mesh.t.shape[1]
        self._modes_elem, self.kl_eigenvalues = matern_kl(mesh.p[:, mesh.t].mean(axis=1), modes, delta, gamma,
                                                          lengths=(2.0, 1.0))
        ws = self.weak_symmetry

        @BilinearForm
        def k0(s1, s2, u, t1, t2, v, w):
            S, T = _stress(s1, s2), _stress(t1, t2)
            out = div(s1) * div(t1) + div(s2) * div(t2) - ddot(S, sym_grad(v)) - ddot(sym_grad(u), T)
            if ws:
                out = out + (S[0, 1] - S[1, 0]) * (T[0, 1] - T[1, 0])
            return out

        @BilinearForm
        def k_inv(s1, s2, u, t1, t2, v, w):
            return _compliance_product(_stress(s1, s2), _stress(t1, t2))

        @BilinearForm
        def k_e(s1, s2, u, t1, t2, v, w):
            return _stiffness_product(sym_grad(u), sym_grad(v))

        zero_l = LinearForm(lambda t1, t2, v, w: 0 * w.x[0])

        @BilinearForm
        def mass_D(s1, s2, u, t1, t2, v, w):
            return dot(u, v)

        @BilinearForm
        def mass_N(s1, s2, u, t1, t2, v, w):
            return dot(s1, w.n) * dot(t1, w.n) + dot(s2, w.n) * dot(t2, w.n)

        @LinearForm
        def load_N(t1, t2, v, w):
            tr = traction(w.x)
            return tr[0] * dot(t1, w.n) + tr[1] * dot(t2, w.n)

        @Functional
        def data_N(w):
            tr = traction(w.x)
            return dot(tr, tr)

        basis = Basis(mesh, self.element, intorder=intorder)
        self.basis = basis
        neumann = ("right", "top", "bottom")
        dofs_D = basis.get_dofs("left").all(["u^1^3", "u^2^3"])
        dofs_N = basis.get_dofs(set(neumann)).all(["u^n^1", "u^n^2"])
        lift = self._boundary_lift([(("left",), mass_D, zero_l, Functional(lambda w: 0 * w.x[0]), dofs_D),
                                    (neumann, mass_N, load_N, data_N, dofs_N)])
        terms = [Term(lambda th: 1.0 / th, k_inv), Term(lambda th: th, k_e)]
        self._setup(k0, zero_l, 0.0, terms, np.concatenate([dofs_D, dofs_N]), lift)
        self._divdiv = BilinearForm(lambda s1, s2, u, t1, t2, v, w: div(s1) * div(t1) + div(s2) * div(t2)
                                    ).assemble(basis).tocsr()

    def _per_sample_sq(self, x: np.ndarray, mu: np.ndarray) -> np.ndarray:
        """Energy norms at each sample's own E from the stored element matrices of the 1/E and E terms
        (the X product has the same compliance/stiffness forms as J, plus ||div sigma||^2)."""
        E = self.theta(mu)  # (n, n_elem)
        xT = x[:, self.basis.element_dofs.T]  # (n, n_elem, n_loc)
        out = np.einsum("ni,ni->n", x, (self._divdiv @ x.T).T)
        for t, L in zip(self.terms, self.local.K):
            out += np.einsum("nt,nta,tab,ntb->n", t.phi(E), xT, L, xT, optimize=True)
        return out

    def _check_range(self, mu: np.ndarray, name: str) -> None:
        check_log_field(mu @ self._modes_elem.T, name)

    def theta(self, mu: Any) -> np.ndarray:
        """Young's modulus ``E = 1 + exp(m)`` on every element, shape (n, n_elem)."""
        return 1.0 + np.exp(self.check_mu(mu) @ self._modes_elem.T)

    def sample(self, n: int, seed: Any = 0) -> np.ndarray:
        """``n`` >= 1 draws of ``xi ~ N(0, I_modes)``; ``seed``: None, int >= 0 or Generator."""
        return as_rng(seed).standard_normal((check_int(n, "n", low=1), self.param_dim))

    def _product_forms(self, mu=None, kind: str = "X") -> BilinearForm:
        if kind == "L":
            return BilinearForm(lambda s1, s2, u, t1, t2, v, w: dot(s1, t1) + dot(s2, t2) + dot(u, v))
        E = np.full(self.n_regions, 2.0) if mu is None else self.element_theta(mu)
        Eq = np.repeat(E[:, None], self.basis.X.shape[1], axis=1)

        @BilinearForm
        def energy(s1, s2, u, t1, t2, v, w):
            S, T = _stress(s1, s2), _stress(t1, t2)
            return (_compliance_product(S, T) / Eq + Eq * _stiffness_product(sym_grad(u), sym_grad(v))
                    + div(s1) * div(t1) + div(s2) * div(t2))
        return energy

    def primal_solve(self, mu: Any) -> np.ndarray:
        """Independent primal P2 displacement: ``(C eps(u), eps(v)) = <t, v>_right``, u = 0 on the left."""
        E = self.element_theta(mu)
        pb = Basis(self.mesh, ElementVector(ElementTriP2()), intorder=self.intorder)
        Eq = np.repeat(E[:, None], pb.X.shape[1], axis=1)
        A = BilinearForm(lambda u, v, w: w.E * _stiffness_product(sym_grad(u), sym_grad(v))).assemble(pb, E=Eq)
        fb = FacetBasis(self.mesh, ElementVector(ElementTriP2()), facets=self.mesh.boundaries["right"],
                        intorder=self.intorder + 2)
        b = LinearForm(lambda v, w: dot(traction(w.x), v)).assemble(fb)
        return solve(*condense(A, b, D=pb.get_dofs("left").all()))

    def evaluate_primal(self, u: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Values at ``points`` (2, N) of a displacement from :meth:`primal_solve`, shape (2, N)."""
        pb = Basis(self.mesh, ElementVector(ElementTriP2()), intorder=self.intorder)
        return (pb.probes(points) @ u).reshape(2, -1)
