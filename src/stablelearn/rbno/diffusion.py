"""Diffusion FOSLS problems of arXiv 2512.21319 (heat conduction, Darcy flow): RT2 x P2 (the paper's
RT1 x P2, k = 1, in scikit-fem's numbering) on scikit-fem.

First-order system (code's sign convention): ``sigma = p grad u + f1``, ``div sigma + f = 0``;
``u = u_D`` on Gamma_D, ``sigma . n = g`` on Gamma_N. FOSLS functional
``J = ||sigma - p grad u - f1||^2 + ||div sigma + f||^2`` (all weights 1, plain L2).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from skfem import (Basis, BilinearForm, ElementTriP1, ElementTriP2, ElementTriRT2, ElementVector,
                   Functional,
                   LinearForm, MeshTri)
from skfem.helpers import div, dot, grad

from stablelearn._conventions import as_rng, check_array, check_float, check_int

from .fosls import FOSLSProblem, Term

Field = Callable[[np.ndarray], np.ndarray]


def _zero_vector(x: np.ndarray) -> np.ndarray:
    return np.zeros_like(x)


def rectangle_mesh(nx: int, ny: int, lx: float = 1.0, ly: float = 1.0) -> MeshTri:
    """Uniform triangle mesh of (0,lx) x (0,ly) with boundaries named left/right/bottom/top.

    ``nx``, ``ny`` >= 1 cells per side; ``lx``, ``ly`` > 0 finite side lengths.
    """
    nx, ny = check_int(nx, "nx", low=1), check_int(ny, "ny", low=1)
    lx = check_float(lx, "lx", low=0, low_inclusive=False)
    ly = check_float(ly, "ly", low=0, low_inclusive=False)
    return MeshTri.init_tensor(np.linspace(0, lx, nx + 1), np.linspace(0, ly, ny + 1)).with_boundaries({
        "left": lambda x: np.isclose(x[0], 0.0), "right": lambda x: np.isclose(x[0], lx),
        "bottom": lambda x: np.isclose(x[1], 0.0), "top": lambda x: np.isclose(x[1], ly)})


class Diffusion(FOSLSProblem):
    """FOSLS for ``-div(p grad u + f1) = f`` with piecewise-constant ``p`` (arXiv 2512.21319, diffusion FOSLS).

    The parameter of this general class is the vector of region values of ``p`` itself
    (``param_dim = n_regions``, every entry > 0). :class:`HeatConduction` and :class:`DarcyFlow`
    map their own parameters to region values.

    Parameters
    ----------
    mesh : scikit-fem ``MeshTri`` with named boundaries.
    regions : region label (0..n_regions-1) of every element.
    dirichlet, neumann : boundary names of Gamma_D (u given) and Gamma_N (sigma . n given).
    u_D, g, f : callables of the point array ``x`` (2, ...) giving boundary data and source.
    f1 : callable giving the (2, ...) vector source of the constitutive law (default 0).
    intorder : quadrature order, >= 4 (the degree of the RT2 x RT2 products).
    """

    sigma_names = (0,)
    u_names = (1,)
    vertex_element = ElementVector(ElementTriP1()) * ElementTriP1()

    def __init__(self, mesh: MeshTri, regions: np.ndarray, *, dirichlet: Sequence[str],
                 neumann: Sequence[str], u_D: Field, g: Field, f: Field,
                 f1: Field | None = None, intorder: int = 4) -> None:
        self.mesh = mesh
        self.element = ElementTriRT2() * ElementTriP2()
        self.intorder = check_int(intorder, "intorder", low=4)
        self.regions = check_array(regions, "regions", ndim=1, dtype=None).astype(np.int64)
        if self.regions.shape != (mesh.t.shape[1],) or self.regions.min() < 0:
            raise ValueError(f"regions must be non-negative labels, one per element ({mesh.t.shape[1]}), "
                             f"got shape {self.regions.shape}")
        self.n_regions = int(self.regions.max()) + 1
        if not hasattr(self, "param_dim"):
            self.param_dim = self.n_regions
        if not dirichlet:
            raise ValueError("dirichlet must name at least one boundary (FOSLS needs |Gamma_D| > 0)")
        f1 = f1 or _zero_vector
        self._u_D, self._g, self._f, self._f1 = u_D, g, f, f1
        self._dirichlet, self._neumann = tuple(dirichlet), tuple(neumann)

        @BilinearForm
        def k0(s, u, t, v, w):
            return dot(s, t) + div(s) * div(t)

        @BilinearForm
        def k1(s, u, t, v, w):
            return -dot(grad(u), t) - dot(s, grad(v))

        @BilinearForm
        def k2(s, u, t, v, w):
            return dot(grad(u), grad(v))

        @LinearForm
        def l0(t, v, w):
            return dot(f1(w.x), t) - f(w.x) * div(t)

        @LinearForm
        def l1(t, v, w):
            return -dot(f1(w.x), grad(v))

        @Functional
        def c0(w):
            g1 = f1(w.x)
            return dot(g1, g1) + f(w.x) ** 2

        @BilinearForm
        def mass_D(s, u, t, v, w):
            return u * v

        @LinearForm
        def load_D(t, v, w):
            return u_D(w.x) * v

        @BilinearForm
        def mass_N(s, u, t, v, w):
            return dot(s, w.n) * dot(t, w.n)

        @LinearForm
        def load_N(t, v, w):
            return g(w.x) * dot(t, w.n)

        basis = Basis(mesh, self.element, intorder=intorder)
        dofs_D = basis.get_dofs(set(dirichlet)).all("u^2")
        dofs_N = basis.get_dofs(set(neumann)).all("u^n^1") if neumann else np.zeros(0, int)
        self.basis = basis
        @Functional
        def data_D(w):
            return u_D(w.x) ** 2

        @Functional
        def data_N(w):
            return g(w.x) ** 2

        lift = self._boundary_lift([(dirichlet, mass_D, load_D, data_D, dofs_D)]
                                   + ([(neumann, mass_N, load_N, data_N, dofs_N)] if neumann else []))
        terms = [Term(lambda th: th, k1, l1), Term(lambda th: th ** 2, k2)]
        self._setup(k0, l0, c0.assemble(basis), terms, np.concatenate([dofs_D, dofs_N]), lift)

    def theta(self, mu: Any) -> np.ndarray:
        """Region values of ``p``: the parameter itself, shape (n, n_regions)."""
        return self.check_mu(mu)

    def _check_range(self, mu: np.ndarray, name: str) -> None:
        if np.any(mu <= 0):
            raise ValueError(f"{name} must be > 0 in every region (the coefficient p), got min {mu.min():.3g}")

    def _product_forms(self, mu=None, kind: str = "X") -> BilinearForm:
        if kind == "L":
            return BilinearForm(lambda s, u, t, v, w: dot(s, t) + u * v)

        @BilinearForm
        def mx(s, u, t, v, w):
            return dot(s, t) + div(s) * div(t) + u * v + dot(grad(u), grad(v))
        return mx

    def primal_solve(self, mu: Any) -> np.ndarray:
        """Independent primal P2 Galerkin solution ``(p grad u, grad v) = (f, v) - (f1, grad v) + <g, v>_N``.

        Used to validate the FOSLS displacement (tests); returns P2 dof values of u with the
        Dirichlet data interpolated at the P2 nodes.
        """
        from skfem import FacetBasis, condense, solve
        th = self.element_theta(mu)
        pb = Basis(self.mesh, ElementTriP2(), intorder=self.intorder)
        pq = np.repeat(th[:, None], pb.X.shape[1], axis=1)
        A = BilinearForm(lambda u, v, w: w.p * dot(grad(u), grad(v))).assemble(pb, p=pq)
        b = LinearForm(lambda v, w: self._f(w.x) * v - dot(self._f1(w.x), grad(v))).assemble(pb)
        if self._neumann:
            facets = np.concatenate([self.mesh.boundaries[n] for n in self._neumann])
            fb = FacetBasis(self.mesh, ElementTriP2(), facets=facets, intorder=self.intorder + 2)
            b = b + LinearForm(lambda v, w: self._g(w.x) * v).assemble(fb)
        D = pb.get_dofs(set(self._dirichlet)).all()
        u = np.zeros(pb.N)
        u[D] = self._u_D(pb.doflocs[:, D])
        return solve(*condense(A, b, x=u, D=D))

    def evaluate_primal(self, u: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Values at ``points`` (2, N) of a P2 field from :meth:`primal_solve`."""
        pb = Basis(self.mesh, ElementTriP2(), intorder=self.intorder)
        return pb.probes(points) @ u


class HeatConduction(Diffusion):
    """Heat conduction, setup 1 of arXiv 2512.21319: 16 square inclusions, ``mu in [-1, 1]^16``.

    ``p = 1`` on the background and ``10**mu_k`` in square k (side 1/8, centred at (i/8, j/8),
    i, j in {1, 3, 5, 7}; k runs over j then i). ``f1 = (0.5, -0.5) chi`` (chi the union of the
    squares), ``f = 1``; ``u = 0.1 (1-x) sin(4 pi y)`` on x = 0, 1 and ``sigma . n = 0.1 (1-y)
    cos(2 pi x)`` on y = 0, 1 (the authors' ``poisson_setup1``). The coefficient is exactly affine over
    17 regions.

    ``n`` cells per side; must be a multiple of 16 so element edges resolve the inclusions.
    """

    param_dim = 16
    centres = np.array([(i / 8, j / 8) for i in (1, 3, 5, 7) for j in (1, 3, 5, 7)])

    def __init__(self, n: int = 32, intorder: int = 4) -> None:
        n = check_int(n, "n", low=16)
        if n % 16:
            raise ValueError(f"n must be a positive multiple of 16 so the mesh resolves the 1/8 inclusions, got {n!r}")
        self.n = n
        mesh = rectangle_mesh(n, n)
        mid = mesh.p[:, mesh.t].mean(axis=1)
        regions = np.zeros(mesh.t.shape[1], dtype=np.int64)
        for k, c in enumerate(self.centres):
            regions[np.all(np.abs(mid - c[:, None]) < 1 / 16, axis=0)] = k + 1
        centres = self.centres

        def chi(x):
            inside = np.zeros(x.shape[1:], dtype=bool)
            for c in centres:
                inside |= (np.abs(x[0] - c[0]) < 1 / 16) & (np.abs(x[1] - c[1]) < 1 / 16)
            return inside.astype(float)

        super().__init__(mesh, regions, dirichlet=("left", "right"), neumann=("bottom", "top"),
                         u_D=lambda x: 0.1 * (1 - x[0]) * np.sin(4 * np.pi * x[1]),
                         g=lambda x: 0.1 * (1 - x[1]) * np.cos(2 * np.pi * x[0]),
                         f=lambda x: np.ones_like(x[0]),
                         f1=lambda x: np.stack([0.5 * chi(x), -0.5 * chi(x)]), intorder=intorder)

    def theta(self, mu: Any) -> np.ndarray:
        """Region values ``(1, 10**mu_1, ..., 10**mu_16)``, shape (n, 17)."""
        mu = self.check_mu(mu)
        return np.concatenate([np.ones((mu.shape[0], 1)), 10.0 ** mu], axis=1)

    def _check_range(self, mu: np.ndarray, name: str) -> None:
        if np.any(np.abs(mu) > 1):
            raise ValueError(f"{name} must lie in [-1, 1]^16, got values in [{mu.min():.3g}, {mu.max():.3g}]")

    def sample(self, n: int, seed: Any = 0) -> np.ndarray:
        """``n`` >= 1 draws of ``mu ~ U(-1, 1)^16``; ``seed``: None, int >= 0 or Generator."""
        return as_rng(seed).uniform(-1.0, 1.0, size=(check_int(n, "n", low=1), 16))


def matern_kl(points: Any, modes: int, delta: float = 1.5, gamma: float = 0.15,
              lengths: tuple[float, float] = (1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """KL modes of the field with covariance ``(delta I - gamma Laplacian)^-2`` on a rectangle.

    Reconstructed deviation from the paper (which samples a BiLaplacian prior with a Robin
    correction on a finer mesh): the Neumann-Laplacian eigenpairs of the rectangle are known in
    closed form, ``phi_kl = c_k c_l cos(k pi x / Lx) cos(l pi y / Ly)``, ``lambda = pi^2 (k^2/Lx^2 +
    l^2/Ly^2)``; covariance eigenvalues ``c = (delta + gamma lambda)^-2``, the ``modes`` largest kept
    (ties broken by (k, l)). Being mesh independent, the same parameter gives the same field on
    every mesh (needed for refinement studies). Returns (``sqrt(c) phi`` at ``points`` (2, N) as an
    (N, modes) array, the kept ``c``).
    """
    modes = check_int(modes, "modes", low=1)
    delta = check_float(delta, "delta", low=0, low_inclusive=False)
    gamma = check_float(gamma, "gamma", low=0, low_inclusive=False)
    if len(lengths) != 2:
        raise ValueError(f"lengths must hold two side lengths, got {lengths!r}")
    lx, ly = (check_float(v, "lengths[i]", low=0, low_inclusive=False) for v in lengths)
    pts = check_array(points, "points", ndim=2)
    if pts.shape[0] != 2:
        raise ValueError(f"points must have shape (2, N), got {pts.shape}")
    kmax = int(np.ceil(np.sqrt(modes))) + 2
    pairs = sorted(((np.pi ** 2 * (k ** 2 / lx ** 2 + l ** 2 / ly ** 2), k, l)
                    for k in range(4 * kmax) for l in range(4 * kmax)))[:modes]
    x, y = pts
    cols, c = [], []
    for lam, k, l in pairs:
        ck = np.sqrt((1.0 if k == 0 else 2.0) / lx) * np.sqrt((1.0 if l == 0 else 2.0) / ly)
        cov = (delta + gamma * lam) ** -2.0
        cols.append(np.sqrt(cov) * ck * np.cos(k * np.pi * x / lx) * np.cos(l * np.pi * y / ly))
        c.append(cov)
    return np.stack(cols, axis=1), np.array(c)


class DarcyFlow(Diffusion):
    """Darcy flow, setup 2 of arXiv 2512.21319, with a KL-truncated Matern log-permeability (reconstructed,
    ``docs/rbno.md``).

    ``p = 0.01 + exp(m)``, ``m = sum_k sqrt(c_k) xi_k phi_k`` (see :func:`matern_kl`), evaluated as
    P0 (value at the element centroid; a deviation). ``xi ~ N(0, I_modes)`` is the parameter; admissible
    are the finite ``xi`` whose log-field satisfies ``|m| <= 10`` on every element (contrast <= e^20;
    a standard normal draw exceeds it with probability below 1e-40).
    ``f`` = 9 Gaussian bumps of height 100 and width ``width`` centred at {1/4, 1/2, 3/4}^2;
    ``u = 1 - x`` on x = 0, 1, ``sigma . n = 0`` on y = 0, 1. ``width=None`` uses the paper's 1/32
    on meshes with n >= 48 and 1/16 otherwise (flagged deviation: 1/32 is not resolved on 32^2).
    """

    def __init__(self, n: int = 32, modes: int = 16, width: float | None = None,
                 delta: float = 1.5, gamma: float = 0.15, intorder: int = 6) -> None:
        n = check_int(n, "n", low=4)
        self.n, self.param_dim = n, check_int(modes, "modes", low=1)
        self.width = (1 / 32 if n >= 48 else 1 / 16) if width is None else check_float(
            width, "width", low=0, low_inclusive=False)
        mesh = rectangle_mesh(n, n)
        self._modes_elem, self.kl_eigenvalues = matern_kl(mesh.p[:, mesh.t].mean(axis=1), modes, delta, gamma)
        cs = np.array([(a, b) for a in (0.25, 0.5, 0.75) for b in (0.25, 0.5, 0.75)])
        wd = self.width
        super().__init__(mesh, np.arange(mesh.t.shape[1]), dirichlet=("left", "right"),
                         neumann=("bottom", "top"), u_D=lambda x: 1 - x[0],
                         g=lambda x: np.zeros_like(x[0]), intorder=intorder,
                         f=lambda x: sum(100 * np.exp(-((x[0] - a) ** 2 + (x[1] - b) ** 2) / wd ** 2) for a, b in cs))

    def _check_range(self, mu: np.ndarray, name: str) -> None:
        check_log_field(mu @ self._modes_elem.T, name)

    def log_field(self, mu: Any) -> np.ndarray:
        """``m`` on every element, shape (n, n_elem)."""
        return self.check_mu(mu) @ self._modes_elem.T

    def theta(self, mu: Any) -> np.ndarray:
        """Permeability ``p = 0.01 + exp(m)`` on every element, shape (n, n_elem)."""
        return 0.01 + np.exp(self.log_field(mu))

    def sample(self, n: int, seed: Any = 0) -> np.ndarray:
        """``n`` >= 1 draws of ``xi ~ N(0, I_modes)``; ``seed``: None, int >= 0 or Generator."""
        return as_rng(seed).standard_normal((check_int(n, "n", low=1), self.param_dim))


#: Largest admissible |log-field| of the KL coefficients (Darcy, elasticity): contrast <= e^20.
MAX_LOG_FIELD = 10.0


def check_log_field(m: np.ndarray, name: str) -> None:
    """Refuse parameters whose log-field leaves ``[-MAX_LOG_FIELD, MAX_LOG_FIELD]`` on some element:
    beyond it the FOSLS matrix loses definiteness in double precision (``docs/rbno.md``)."""
    worst = float(np.abs(m).max(initial=0.0))
    if worst > MAX_LOG_FIELD:
        raise ValueError(f"{name} must give a log-field |m| <= {MAX_LOG_FIELD:g} on every element "
                         f"(admissible range), got max |m| = {worst:.3g}")
