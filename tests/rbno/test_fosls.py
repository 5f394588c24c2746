"""Full-order FOSLS: convergence on a manufactured solution, least-squares identity, primal agreement."""

import numpy as np
import pytest
from skfem import Functional
from skfem.helpers import dot

from stablelearn.rbno import DarcyFlow, Diffusion, HeatConduction, rectangle_mesh

PI = np.pi


def u_ex(x):
    return np.sin(PI * x[0]) * np.sin(PI * x[1]) + x[0]


def grad_ex(x):
    return np.stack([PI * np.cos(PI * x[0]) * np.sin(PI * x[1]) + 1, PI * np.sin(PI * x[0]) * np.cos(PI * x[1])])


def f_ex(x):  # -div grad u
    return 2 * PI ** 2 * np.sin(PI * x[0]) * np.sin(PI * x[1])


def manufactured(n):
    mesh = rectangle_mesh(n, n)
    return Diffusion(mesh, np.zeros(mesh.t.shape[1], int), dirichlet=("left", "right"),
                     neumann=("bottom", "top"), u_D=u_ex, f=f_ex,
                     g=lambda x: grad_ex(x)[1] * np.where(x[1] > 0.5, 1.0, -1.0))


def x_error(problem, x):
    """||(sigma_h, u_h) - (sigma, u)||_X against the exact solution (quadrature, intorder 6)."""
    from skfem import Basis
    b = Basis(problem.mesh, problem.element, intorder=6)
    (s, bs), (u, bu) = b.split(x)

    @Functional
    def e2(w):
        es = w.s - grad_ex(w.x)
        ed = w.s.div + f_ex(w.x)  # div sigma = -f
        eg = w.u.grad - grad_ex(w.x)
        return dot(es, es) + ed ** 2 + (w.u - u_ex(w.x)) ** 2 + dot(eg, eg)

    return np.sqrt(e2.assemble(b, s=bs.interpolate(s), u=bu.interpolate(u)))


def test_manufactured_rate_and_estimator():
    errs, ests = [], []
    for n in (4, 8, 16):
        P = manufactured(n)
        sol = P.solve([1.0])
        errs.append(x_error(P, sol.x))
        ests.append(sol.estimate)
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all((rates > 1.8) & (rates < 2.3)), rates  # O(h^2) for RT2 x P2 (docs/rbno.md, manufactured check)
    # norm equivalence with constants near one for p = 1 (measured err/sqrt(J) = 0.98-0.99, docs/rbno.md)
    ratio = np.array(errs) / np.array(ests)
    assert np.all((ratio > 0.8) & (ratio < 1.25)), ratio


def test_least_squares_identity(heat16):
    mu = heat16.sample(1, seed=3)[0]
    sol = heat16.solve(mu)
    K, _, _ = heat16.assemble(mu)
    rng = np.random.default_rng(0)
    for scale in (1e-3, 1.0):
        e = np.zeros(heat16.ndofs)
        e[heat16.interior] = scale * rng.standard_normal(heat16.interior.size)
        lhs = heat16.fosls(sol.x + e, mu) - sol.functional
        assert lhs == pytest.approx(e @ (K @ e), rel=1e-8)
    assert sol.functional > 0


def test_boundary_conditions_exact(heat16):
    sol = heat16.solve(heat16.sample(1, seed=1)[0])
    y = np.linspace(0.05, 0.95, 7)
    pts = np.stack([np.zeros_like(y), y])
    # P2 L2 projection of the smooth trace: small but not round-off; compare to the data
    assert np.allclose(sol.evaluate_u(pts), 0.1 * np.sin(4 * PI * y), atol=2e-3)
    # the homogeneous parts vanish on the essential dofs for every snapshot
    assert np.array_equal(sol.x[heat16.essential], heat16.lift[heat16.essential])


def test_fosls_displacement_matches_primal_galerkin():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0.02, 0.98, size=(2, 200))
    mu = HeatConduction(16).sample(1, seed=5)[0]
    diffs = []
    for n in (16, 32):
        P = HeatConduction(n)
        u_fosls = P.solve(mu).evaluate_u(pts)
        u_primal = P.evaluate_primal(P.primal_solve(mu), pts)
        diffs.append(np.sqrt(np.mean((u_fosls - u_primal) ** 2)))
    assert diffs[1] < 0.5 * diffs[0], diffs
    assert diffs[1] < 5e-3


def test_darcy_kl_and_solve():
    P = DarcyFlow(n=8, modes=6)
    xi = P.sample(2, seed=0)
    th = P.theta(xi)
    assert th.shape == (2, P.mesh.t.shape[1]) and np.all(th > 0.01)
    assert np.all(np.diff(P.kl_eigenvalues) <= 1e-12)
    sol = P.solve(xi[0])
    assert sol.functional > 0 and np.isfinite(sol.x).all()


@pytest.mark.parametrize("bad, match", [
    (np.zeros(15), "shape"), (np.full(16, 1.5), r"\[-1, 1\]"), (np.full(16, np.nan), "finite"),
])
def test_bad_parameters(heat16, bad, match):
    with pytest.raises(ValueError, match=match):
        heat16.solve(bad)


def test_bad_problem_inputs(heat16):
    with pytest.raises(ValueError, match="multiple of 16"):
        HeatConduction(24)
    mesh = rectangle_mesh(2, 2)
    P = Diffusion(mesh, np.zeros(mesh.t.shape[1], int), dirichlet=("left",), neumann=(),
                  u_D=lambda x: 0 * x[0], g=lambda x: 0 * x[0], f=lambda x: 1 + 0 * x[0])
    with pytest.raises(ValueError, match="> 0"):
        P.solve([-1.0])
    with pytest.raises(ValueError, match="length"):
        heat16.fosls(np.zeros(5), heat16.sample(1)[0])


def test_elasticity_displacement_matches_primal_galerkin():
    from stablelearn.rbno import Elasticity
    pts = np.array([[1.0, 1.9, 0.5, 1.5], [0.5, 0.5, 0.2, 0.9]])
    xi = np.random.default_rng(0).standard_normal(4)
    diffs, Js = [], []
    for nx in (4, 8, 16):
        P = Elasticity(nx, nx // 2, modes=4)
        sol = P.solve(xi)
        diffs.append(np.abs(sol.evaluate_u(pts) - P.evaluate_primal(P.primal_solve(xi), pts)).max())
        Js.append(sol.functional)
        # traction-free top edge and the right-edge traction hold through the lift
        assert np.allclose(sol.x[P.essential], P.lift[P.essential])
    assert diffs[2] < 0.6 * diffs[1] < 0.36 * diffs[0], diffs
    assert Js[2] < Js[1] < Js[0]


def test_kl_field_is_mesh_independent():
    from stablelearn.rbno import matern_kl
    pts = np.random.default_rng(1).uniform(0, 1, (2, 5))
    modes, c = matern_kl(pts, 6)
    again, _ = matern_kl(pts, 6)
    assert np.array_equal(modes, again) and np.all(np.diff(c) <= 0)
    # constant mode: sqrt(c_0) * 1 on the unit square, c_0 = delta^-2
    assert np.allclose(modes[:, 0], 1 / 1.5)


def test_stored_local_assembly_equals_direct_assembly(heat16):
    """K(mu), F(mu), c0 rebuilt from the stored element matrices = one direct scikit-fem assembly of J."""
    from skfem import BilinearForm, LinearForm
    from skfem.helpers import div, grad
    P = heat16
    mu = P.sample(1, seed=4)[0]
    b = P.basis
    pq = np.repeat(P.element_theta(mu)[:, None], b.X.shape[1], axis=1)
    f1 = P._f1

    @BilinearForm
    def k(s, u, t, v, w):
        return dot(s - w.p * grad(u), t - w.p * grad(v)) + div(s) * div(t)

    @LinearForm
    def l(t, v, w):  # J = ||s - p grad u - f1||^2 + ||div s + 1||^2 = x^T K x - 2 F^T x + c0
        return dot(f1(w.x), t - w.p * grad(v)) - div(t)

    K, F, c0 = P.assemble(mu)
    K_ref, F_ref = k.assemble(b, p=pq), l.assemble(b, p=pq)
    assert abs(K - K_ref).max() <= 1e-12 * abs(K_ref).max()
    assert np.allclose(F, F_ref, atol=1e-12 * np.abs(F_ref).max())
    # c0 = ||f1||^2 + ||f||^2 = 0.5 * |inclusions| + 1 = 0.5 * 16 / 64 + 1
    assert c0 == pytest.approx(0.5 * 16 / 64 + 1, rel=1e-12)
