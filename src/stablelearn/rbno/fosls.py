"""Full-order FOSLS on scikit-fem: the region-affine quadratic functional shared by all problems.

Every problem of the paper (arXiv 2512.21319: heat conduction, Darcy flow, linear elasticity) has a FOSLS functional that is a quadratic in the FE
vector ``x`` whose coefficients depend on a piecewise-constant coefficient ``theta`` (one value per
region; a region is a set of elements: 17 regions for heat conduction, one per element for Darcy
and elasticity)::

    J(x; theta) = x^T K(theta) x - 2 F(theta)^T x + c0,
    K(theta) = K_0 + sum_j sum_T phi_j(theta_T) K_{j,T},   F likewise,

where ``phi_j`` are fixed scalar maps (``theta`` and ``theta**2`` for diffusion, ``1/E`` and ``E``
for elasticity). :class:`FOSLSProblem` stores the element-local matrices of every term once, so the
full-order assembly and the reduced affine/element-wise split (``docs/rbno.md``, "Reduced tensors"; in
:mod:`stablelearn.rbno.reduced`) use the same data. Essential boundary conditions are imposed
through a lift ``x_L`` (L2 projection of the boundary data on the boundary dofs, interior zero; a
reconstructed choice, ``docs/rbno.md``), never through penalties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from skfem import Basis, BilinearForm, FacetBasis, LinearForm, condense
from tqdm.auto import tqdm

from stablelearn._conventions import check_array, check_choice, check_int, progress_disabled


@dataclass
class Term:
    """One parameter-dependent family: ``phi(theta_T) * (bilinear, linear)`` on every element T."""

    phi: Callable[[np.ndarray], np.ndarray]
    bilinear: BilinearForm
    linear: LinearForm | None = None


@dataclass
class Solution:
    """A full-order FE field (flux/stress and primal unknown) of a :class:`FOSLSProblem`.

    Attributes
    ----------
    problem : the problem that produced it.
    mu : the parameter vector.
    x : full FE coefficient vector (lift included), length ``problem.ndofs``.
    functional : the FOSLS value ``J(x; mu)`` (arXiv 2512.21319, the FOSLS functional), the squared a-posteriori estimator.
    """

    problem: "FOSLSProblem"
    mu: np.ndarray
    x: np.ndarray
    functional: float

    def evaluate_u(self, points: np.ndarray) -> np.ndarray:
        """Primal unknown at ``points`` (shape (2, N)); returns (N,) or (2, N) for vector u."""
        return self.problem.evaluate(self.x, points, "u")

    def evaluate_sigma(self, points: np.ndarray) -> np.ndarray:
        """Flux/stress at ``points`` (shape (2, N)); returns (2, N) or (2, 2, N) for stress."""
        return self.problem.evaluate(self.x, points, "sigma")

    @property
    def estimate(self) -> float:
        """sqrt(J): the FOSLS error estimator w.r.t. the exact PDE solution (arXiv 2512.21319)."""
        return float(np.sqrt(max(self.functional, 0.0)))


@dataclass
class LocalData:
    """The stored algebra of ``J(x; theta)`` (:attr:`FOSLSProblem.local`).

    Attributes
    ----------
    K0, F0, c0 : the parameter-free matrix, load vector and constant.
    K : per term, the element-local matrices, shape (n_elem, n_loc, n_loc), as scikit-fem's
        ``tolocal()`` holds them (entry ``[t, a, b]`` belongs to global ``(dofs[t, b], dofs[t, a])``).
    F : per term, the element-local load vectors (n_elem, n_loc), or None for a term without one.
    """

    K0: sp.csr_matrix
    F0: np.ndarray
    c0: float
    K: list = field(default_factory=list)  # (n_elem, n_loc, n_loc) per term
    F: list = field(default_factory=list)  # (n_elem, n_loc) or None per term


def spd_factor(A: sp.spmatrix) -> spla.SuperLU:
    """SuperLU factorisation in symmetric mode (SPD FOSLS and Gram matrices).

    A singular matrix raises :class:`ValueError` (scipy's own error is a bare RuntimeError).
    """
    try:
        return spla.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                         options={"SymmetricMode": True})
    except RuntimeError as exc:
        raise ValueError(f"the matrix is numerically singular ({exc}); for a FOSLS problem the parameter "
                         "lies outside the admissible range (docs/rbno.md, 'Input contract and statuses')") from None


class FOSLSProblem:
    """Base class of a parametrised FOSLS problem on a scikit-fem mesh (arXiv 2512.21319, model problems).

    Subclasses set, in ``__init__``, ``mesh``, ``element``, ``intorder``, ``regions`` (region label
    per element), ``n_regions``, ``param_dim`` and call :meth:`_setup` with the parameter-free forms,
    the terms, the essential dofs and the boundary data. They implement :meth:`theta`
    (parameter -> region coefficient values), :meth:`sample` and :meth:`_product_forms`.

    Attributes
    ----------
    basis : the scikit-fem basis of the composite FE space.
    terms : the parameter-dependent families ``phi_j(theta_T) * (bilinear, linear)``.
    local : :class:`LocalData`, the stored element-local algebra of ``J`` (what the reduced split projects).
    lift : the lift vector ``x_L`` (boundary data, interior zero).
    essential, interior : essential (boundary) dofs and their complement.
    regions, n_regions : region label of every element and their number.
    """

    mesh = None
    element = None
    intorder: int = 4
    regions: np.ndarray
    n_regions: int
    param_dim: int
    sigma_names: Sequence[int] = ()  # indices of the flux/stress parts of the composite element
    u_names: Sequence[int] = ()      # index of the primal part

    # ---------------------------------------------------------------- set-up
    def _setup(
        self,
        K0: BilinearForm,
        F0: LinearForm,
        c0: float,
        terms: Sequence[Term],
        essential: np.ndarray,
        lift: np.ndarray,
    ) -> None:
        if getattr(self, "basis", None) is None:
            self.basis = Basis(self.mesh, self.element, intorder=self.intorder)
        self.terms = list(terms)
        self.essential = np.asarray(essential, dtype=np.int64)
        self.interior = self.basis.complement_dofs(self.essential)
        self.lift = lift
        self.vertex_basis = Basis(self.mesh, self.vertex_element, intorder=self.intorder)
        coo = K0.coo_data(self.basis)
        self._coo = coo
        local = LocalData(K0=coo.tocsr(), F0=F0.assemble(self.basis), c0=float(c0))
        for t in self.terms:
            local.K.append(t.bilinear.coo_data(self.basis).tolocal())
            local.F.append(None if t.linear is None else t.linear.coo_data(self.basis).tolocal())
        self.local = local
        self._product_cache: dict = {}

    def boundary_penalty(self) -> tuple[sp.csr_matrix, np.ndarray, float]:
        """``(M_b, g_b, c_b)`` with ``x^T M_b x - 2 g_b^T x + c_b`` = the L2 boundary misfit
        ``||u - u_D||^2_{Gamma_D} + ||sigma.n - g||^2_{Gamma_N}`` (the boundary-penalty baseline, ``docs/rbno.md``)."""
        M, g, c = sp.csr_matrix((self.ndofs, self.ndofs)), np.zeros(self.ndofs), 0.0
        for names, mass, load, data2 in self._boundary_parts:
            facets = np.concatenate([self.mesh.boundaries[n] for n in names])
            fb = FacetBasis(self.mesh, self.element, facets=facets, intorder=self.intorder + 2)
            M = M + mass.assemble(fb).tocsr()
            g = g + load.assemble(fb)
            c += float(data2.assemble(fb))
        return M, g, c

    def _boundary_lift(self, parts: Sequence[tuple]) -> np.ndarray:
        """L2 projection of boundary data onto the given boundary dofs; interior zero.

        ``parts``: (boundary names, facet mass form, facet load form, squared-data functional,
        dof indices) per data set.
        """
        self._boundary_parts = [p[:4] for p in parts]
        x = np.zeros(self.basis.N)
        for names, mass, load, _, dofs in parts:
            facets = np.concatenate([self.mesh.boundaries[n] for n in names])
            fb = FacetBasis(self.mesh, self.element, facets=facets, intorder=self.intorder + 2)
            M = mass.assemble(fb).tocsr()[dofs][:, dofs]
            r = load.assemble(fb)[dofs]
            if np.linalg.norm(r) > 0:
                x[dofs] = spla.spsolve(M.tocsc(), r)
        return x

    # ---------------------------------------------------------------- parameters
    def theta(self, mu: np.ndarray) -> np.ndarray:
        """Region coefficient values, shape (n, n_regions), for parameters ``mu`` (n, param_dim)."""
        raise NotImplementedError

    def sample(self, n: int, seed: Any = 0) -> np.ndarray:
        """``n`` i.i.d. parameter draws, shape (n, param_dim); ``seed``: None, int >= 0 or Generator."""
        raise NotImplementedError

    def check_mu(self, mu: Any, name: str = "mu") -> np.ndarray:
        """Validated parameters as a 2-D float64 array (n, param_dim), n >= 1.

        A single vector (param_dim,) becomes one row. Raises :class:`TypeError` for non-numeric input
        and :class:`ValueError` for a wrong shape, no rows, NaN/inf or a value outside the admissible
        range of the problem (``docs/rbno.md``, "Input contract and statuses").
        """
        if isinstance(mu, str):
            raise TypeError(f"{name} must be an array of real numbers, got a string")
        arr = check_array(mu, name, ndim=(1, 2), min_size=0, finite=False)
        arr = np.atleast_2d(arr)
        if arr.shape[1] != self.param_dim:
            raise ValueError(f"{name} must have shape ({self.param_dim},) or (n, {self.param_dim}), got {np.shape(mu)}")
        if arr.shape[0] == 0:
            raise ValueError(f"{name} must hold at least one parameter vector, got shape {np.shape(mu)}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, got NaN or inf")
        self._check_range(arr, name)
        return arr

    def _check_range(self, mu: np.ndarray, name: str) -> None:
        return None

    # ---------------------------------------------------------------- full-order algebra
    @property
    def ndofs(self) -> int:
        """Number of FE degrees of freedom."""
        return self.basis.N

    def element_theta(self, mu: Any) -> np.ndarray:
        """Coefficient value on every element for one parameter vector, shape (n_elem,)."""
        return self.theta(self.one_mu(mu))[0][self.regions]

    def one_mu(self, mu: Any, name: str = "mu") -> np.ndarray:
        """Validated single parameter vector as a (1, param_dim) array (more rows are refused)."""
        arr = self.check_mu(mu, name)
        if arr.shape[0] != 1:
            raise ValueError(f"{name} must be one parameter vector, got {arr.shape[0]} rows")
        return arr

    def assemble(self, mu: Any) -> tuple[sp.csr_matrix, np.ndarray, float]:
        """``K(mu), F(mu), c0`` of ``J(x) = x^T K x - 2 F^T x + c0``, from the stored local matrices."""
        th = self.element_theta(mu)
        L = self.local
        loc = sum(t.phi(th)[:, None, None] * Kt for t, Kt in zip(self.terms, L.K))
        K = L.K0 + self._coo.fromlocal(loc).tocsr()
        F = L.F0.copy()
        for t, Ft in zip(self.terms, L.F):
            if Ft is not None:
                np.add.at(F, self.basis.element_dofs.T, t.phi(th)[:, None] * Ft)
        return K, F, L.c0

    def fosls(self, x: Any, mu: Any) -> float:
        """The FOSLS functional value ``J(x; mu)`` at a full FE vector ``x`` (arXiv 2512.21319)."""
        x = self.check_x(x)
        K, F, c0 = self.assemble(mu)
        return float(x @ (K @ x) - 2 * F @ x + c0)

    def solve(self, mu: Any) -> Solution:
        """FE FOSLS minimiser for one parameter: ``K x = F`` with ``x = lift`` on the essential dofs."""
        mu = self.one_mu(mu)
        K, F, c0 = self.assemble(mu)
        A, b, xI, I = condense(K, F, x=self.lift, D=self.essential)
        x = self.lift.copy()
        x[I] = spd_factor(A).solve(b)
        J = float(x @ (K @ x) - 2 * F @ x + c0)
        return Solution(self, mu[0], x, J)

    def solve_many(self, mu: Any, progress: bool | None = None) -> np.ndarray:
        """Full FE vectors for every row of ``mu`` (at least one), shape (n, ndofs).

        ``progress``: a bar (None: on a terminal only, and only for 20 or more solves).
        """
        mu = self.check_mu(mu)
        disable = progress_disabled(progress)
        it = tqdm(mu, desc="FE solves", disable=disable if disable is not None else (None if len(mu) >= 20 else True),
                  leave=False)
        return np.stack([self.solve(m).x for m in it])

    # ---------------------------------------------------------------- norms
    def _product_forms(self, mu: np.ndarray | None, kind: str) -> BilinearForm:
        raise NotImplementedError

    product_depends_on_mu = False  # True where the X product is parameter-weighted (elasticity)

    def product(self, mu: Any = None, kind: str = "X", cache: bool = True) -> sp.csr_matrix:
        """Gram matrix of the ``"X"`` inner product (H(div) x H1; energy-weighted for elasticity,
        at ``mu`` or the reference parameter) or of ``"L"`` (L2 x L2; the paper's two error norms)."""
        kind = check_choice(kind, "kind", ("X", "L"))
        if mu is not None and not (self.product_depends_on_mu and kind == "X"):
            self.check_mu(mu)  # validated, then unused: this product does not depend on the parameter
            mu = None
        if mu is not None:
            mu = self.one_mu(mu)[0]
        key = (kind, None if mu is None else tuple(np.asarray(mu, float).ravel()))
        if key in self._product_cache:
            return self._product_cache[key]
        M = self._product_forms(mu, kind).assemble(self.basis).tocsr()
        if cache:
            self._product_cache[key] = M
        return M

    def norm(self, x: Any, mu: Any = None, kind: str = "X") -> np.ndarray | float:
        """X (or ``kind="L"``: L2 x L2) norm of a full FE vector (or of each row of a 2-D array).

        ``mu``: one parameter (product at it), or one per row of ``x`` (each row's own product, as the
        paper's energy norm for elasticity; not cached); None: the reference product.
        """
        x = self.check_x(x, allow_batch=True)
        if mu is not None and x.ndim == 2 and np.ndim(mu) == 2 and self.product_depends_on_mu and kind == "X":
            mu = self.check_mu(mu)
            if len(mu) != len(x):
                raise ValueError(f"mu must have one row per row of x ({len(x)}), got {len(mu)}")
            return np.sqrt(np.maximum(self._per_sample_sq(x, mu), 0.0))
        M = self.product(mu, kind, cache=mu is None)
        if x.ndim == 1:
            return float(np.sqrt(max(x @ (M @ x), 0.0)))
        return np.sqrt(np.maximum(np.einsum("ij,ij->i", x, (M @ x.T).T), 0.0))

    def _per_sample_sq(self, x: np.ndarray, mu: np.ndarray) -> np.ndarray:
        """Squared X norm of each row of ``x`` in the product at the matching row of ``mu``."""
        return np.array([xi @ (self.product(mi, cache=False) @ xi) for xi, mi in zip(x, mu)])

    def check_x(self, x: Any, allow_batch: bool = False, name: str = "x") -> np.ndarray:
        """Validated full FE vector (ndofs,) or, with ``allow_batch``, a stack (n, ndofs), n >= 1, float64."""
        x = check_array(x, name, ndim=(1, 2) if allow_batch else 1, finite=False, min_size=0)
        if x.shape[-1] != self.ndofs or x.size == 0:
            raise ValueError(f"{name} must be an FE vector of length {self.ndofs}"
                             + (" or a non-empty stack of them" if allow_batch else "") + f", got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name} must be finite, got NaN or inf")
        return x

    # ---------------------------------------------------------------- fields
    def evaluate(self, x: Any, points: Any, which: str) -> np.ndarray:
        """Point values of the ``'u'`` or ``'sigma'`` part of ``x`` at ``points`` (2, N)."""
        x = self.check_x(x)
        pts = np.asarray(points, float)
        if pts.ndim != 2 or pts.shape[0] != 2 or not np.all(np.isfinite(pts)):
            raise ValueError(f"points must be a finite (2, N) array, got shape {pts.shape}")
        names = {"u": self.u_names, "sigma": self.sigma_names}.get(which)
        if names is None:
            raise ValueError(f"which must be 'u' or 'sigma', got {which!r}")
        vals = [self._component_values(x, i, pts) for i in names]
        if len(vals) == 1:
            return vals[0][0] if vals[0].shape[0] == 1 else vals[0]
        return np.stack(vals)

    def vertex_values(self, x: Any) -> np.ndarray:
        """All field components at the mesh vertices, shape (n_components, n_vertices) (grid baselines)."""
        x = self.check_x(x)
        names = list(self.sigma_names) + list(self.u_names)
        return np.concatenate([self._component_values(x, i, self.mesh.p, cache=True) for i in names])

    def _component_values(self, x, i, pts, cache=False):
        sub_x, sub_b = self.basis.split(x)[i]
        probes = self.__dict__.setdefault("_probes", {})
        P = probes.get(i) if cache else None
        if P is None:
            P = sub_b.probes(pts).tocsr()
            if cache:
                probes[i] = P
        return (P @ sub_x).reshape(-1, pts.shape[1])

    # ---------------------------------------------------------------- grid views (baselines, CNN)
    @property
    def grid_order(self) -> np.ndarray:
        """Vertex permutation to a (ny+1, nx+1) row-major image (y rows, x columns)."""
        p = self.mesh.p
        return np.lexsort((np.round(p[0], 12), np.round(p[1], 12)))

    @property
    def grid_shape(self) -> tuple[int, int]:
        """(rows, columns) of the vertex image."""
        p = self.mesh.p
        return len(np.unique(np.round(p[1], 12))), len(np.unique(np.round(p[0], 12)))

    def coefficient_image(self, mu: Any) -> np.ndarray:
        """``log`` of the coefficient averaged to the vertices, as images (n, 1, ny+1, nx+1)."""
        th = np.log(self.theta(self.check_mu(mu))[:, self.regions])  # (n, n_elem)
        t = self.mesh.t
        acc = np.zeros((th.shape[0], self.mesh.p.shape[1]))
        cnt = np.bincount(t.ravel(), minlength=self.mesh.p.shape[1])
        for row in t:
            np.add.at(acc, (slice(None), row), th)
        img = (acc / cnt)[:, self.grid_order]
        return img.reshape(th.shape[0], 1, *self.grid_shape)

    def project_vertex_values(self, values: Any) -> np.ndarray:
        """FE vector(s) from vertex values of all components (grid models' outputs; the paper's protocol).

        CG1 interpolation of the vertex values (order of :meth:`vertex_values`), then the X
        projection onto the FE space with the boundary dofs fixed to the lift, as the paper does.
        ``values``: (n_components, n_vertices) or (n, n_components, n_vertices).
        """
        vals = np.asarray(values, dtype=float)
        single = vals.ndim == 2
        vals = vals[None] if single else vals
        vb = self.vertex_basis
        idx = self._vertex_dof_index()
        if vals.shape[1:] != idx.shape or not np.all(np.isfinite(vals)):
            raise ValueError(f"values must be finite with shape (n, {idx.shape[0]}, {idx.shape[1]}), got {np.shape(values)}")
        y = np.zeros((vals.shape[0], vb.N))
        y[:, idx] = vals
        if "_vertex_mix" not in self.__dict__:
            self._vertex_mix = self._product_forms(None, "X").assemble(vb, self.basis).tocsr()
        M, R = self.product(), self._vertex_mix @ y.T
        out = np.tile(self.lift, (vals.shape[0], 1))
        A = M[self.interior][:, self.interior].tocsc()
        rhs = R[self.interior] - (M[self.interior][:, self.essential] @ self.lift[self.essential])[:, None]
        out[:, self.interior] = spd_factor(A).solve(np.asarray(rhs)).T
        return out[0] if single else out

    def _vertex_dof_index(self) -> np.ndarray:
        """(n_components, n_vertices) global dof indices of the vertex basis per component."""
        rows = []
        for (sub_x, sub_b), ind in zip(self.vertex_basis.split(np.zeros(self.vertex_basis.N)),
                                        self.vertex_basis.split_indices()):
            rows.extend(ind[sub_b.nodal_dofs])
        return np.array(rows)

    def transfer_from(self, coarse: FOSLSProblem, x: Any) -> np.ndarray:
        """Exact representation on this (nested, finer) mesh of FE vector(s) ``x`` of ``coarse``.

        RT2 x P2 spaces are nested under uniform refinement, so the L2 projection (per component)
        of the coarse field onto this space reproduces it exactly; used to measure errors against a
        refined-mesh reference (our stand-in for the paper's "finer" RT3 x P4 truth, ``docs/rbno.md``).
        """
        if not isinstance(coarse, FOSLSProblem):
            raise TypeError(f"coarse must be a FOSLSProblem, got {type(coarse).__name__}")
        X = np.atleast_2d(coarse.check_x(x, allow_batch=True))
        if "_transfer" not in self.__dict__ or self._transfer[0] is not coarse:
            ops = []
            q = self.basis.global_coordinates().value  # (2, n_elem, n_qp)
            pts = q.reshape(2, -1)
            for sub_f, ind_f, sub_c, ind_c in zip(self.basis.split_bases(), self.basis.split_indices(),
                                                  coarse.basis.split_bases(), coarse.basis.split_indices()):
                P = sub_c.probes(pts).tocsr()  # (n_comp * n_points, n_coarse_sub)
                rows, cols, vals = [], [], []
                npts = pts.shape[1]
                for i in range(sub_f.Nbfun):
                    phi = np.asarray(sub_f.basis[i][0].value).reshape(-1, npts)  # (n_comp, npts)
                    wdx = (sub_f.dx * 1.0).reshape(-1)
                    dofs = np.repeat(sub_f.element_dofs[i], q.shape[2])
                    for c in range(phi.shape[0]):
                        rows.append(dofs)
                        cols.append(c * npts + np.arange(npts))
                        vals.append(phi[c] * wdx)
                L = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                  shape=(sub_f.N, P.shape[0])).tocsr()
                mass = BilinearForm(lambda u, v, w: u * v if np.ndim(u) == 2 else (u * v).sum(0))
                ops.append((ind_f, ind_c, spd_factor(mass.assemble(sub_f)), L @ P))
            self._transfer = (coarse, ops)
        out = np.zeros((X.shape[0], self.ndofs))
        for ind_f, ind_c, lu, LP in self._transfer[1]:
            out[:, ind_f] = lu.solve(np.asarray(LP @ X[:, ind_c].T)).T
        return out[0] if np.ndim(x) == 1 else out
