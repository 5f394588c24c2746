"""POD and reduced FOSLS: exact projection of the full-order algebra, optimum, round trips."""

import numpy as np
import pytest
import torch

from stablelearn.rbno import DarcyFlow
from stablelearn.rbno.pod import pod
from stablelearn.rbno.reduced import ReducedFOSLS


def test_pod_orthonormal_and_tail_is_projection_error(heat16, heat_rb):
    S, basis, _ = heat_rb
    M = heat16.product()
    V = basis.modes
    assert np.allclose(V.T @ (M @ V), np.eye(basis.r), atol=1e-10)
    E = S - (V @ (V.T @ (M @ S.T))).T
    mean_sq = np.einsum("ij,ij->i", E, (M @ E.T).T).mean()
    assert mean_sq == pytest.approx(basis.tail(), rel=1e-6)
    assert np.all(np.diff(basis.eigenvalues) <= 1e-9 * basis.eigenvalues[0])


def test_pod_bad_inputs(heat16, heat_rb):
    S, _, _ = heat_rb
    with pytest.raises(ValueError, match="at most the number of snapshots"):
        pod(S, heat16.product(), S.shape[0] + 1)
    with pytest.raises(ValueError, match="r must be an integer >= 1"):
        pod(S, heat16.product(), 0)
    with pytest.raises(ValueError, match="product"):
        pod(S, np.eye(3), 2)


def _check_projection(problem, red, mu):
    sysm = red.system(mu)
    V, xL = red.V, problem.lift
    for i, m in enumerate(mu):
        K, F, c0 = problem.assemble(m)
        A = V.T @ (K @ V)
        assert np.allclose(sysm.A[i].numpy(), A, rtol=1e-10, atol=1e-10 * np.abs(A).max())
        b = V.T @ (F - K @ xL)
        assert np.allclose(sysm.b[i].numpy(), b, rtol=1e-10, atol=1e-10 * np.abs(b).max())
        assert sysm.f[i].item() == pytest.approx(xL @ (K @ xL) - 2 * F @ xL + c0, rel=1e-10)


def test_affine_split_equals_projected_assembly(heat16, heat_rb):
    _check_projection(heat16, heat_rb[2], heat16.sample(3, seed=11))


def test_elementwise_split_equals_projected_assembly():
    P = DarcyFlow(n=8, modes=4)
    S = P.solve_many(P.sample(8, seed=0), progress=False) - P.lift
    red = ReducedFOSLS(P, pod(S, P.product(), 5))
    _check_projection(P, red, P.sample(2, seed=1))


def test_optimum_minimises_loss(heat16, heat_rb):
    red = heat_rb[2]
    mu = heat16.sample(4, seed=7)
    c = red.optimum(mu)
    sysm = red.system(mu)
    assert torch.allclose(sysm.A @ c.unsqueeze(-1), sysm.b.unsqueeze(-1), atol=1e-9)
    d = 1e-2 * torch.randn(c.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    gap = red.loss(c + d, mu) - red.loss(c, mu)
    assert torch.all(gap > 0)
    assert torch.allclose(gap, torch.einsum("bi,bij,bj->b", d, sysm.A, d), rtol=1e-6)


def test_decode_encode_round_trip(heat16, heat_rb):
    red = heat_rb[2]
    c = torch.randn(3, red.r, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = red.decode(c)
    assert np.allclose(red.encode(x), c.numpy(), atol=1e-10)
    assert np.array_equal(x[:, heat16.essential], np.tile(heat16.lift[heat16.essential], (3, 1)))


def test_estimator_equals_full_order_functional(heat16, heat_rb):
    red = heat_rb[2]
    mu = heat16.sample(3, seed=9)
    c = red.optimum(mu) + 0.05
    eta = red.estimate(c, mu).numpy()
    x = red.decode(c)
    full = np.array([heat16.fosls(x[i], mu[i]) for i in range(3)])
    assert np.allclose(eta ** 2, full, rtol=1e-8)
    # the RB optimum is no better than the FE minimiser (Galerkin: J_RB >= J_h)
    Jh = np.array([heat16.solve(m).functional for m in mu])
    assert np.all(red.loss(red.optimum(mu), mu).numpy() >= Jh * (1 - 1e-10))


def test_reduced_bad_inputs(heat16, heat_rb):
    red = heat_rb[2]
    with pytest.raises(ValueError, match="shape"):
        red.loss(torch.zeros(2, red.r + 1), heat16.sample(2))
    with pytest.raises(ValueError, match="finite"):
        red.estimate(torch.full((1, red.r), float("nan")), heat16.sample(1))
    with pytest.raises(ValueError, match="vanish on the essential"):
        ReducedFOSLS(heat16, np.ones((heat16.ndofs, 2)))


def test_elasticity_elementwise_split_equals_projected_assembly():
    from stablelearn.rbno import Elasticity
    P = Elasticity(4, 2, modes=3)
    S = P.solve_many(P.sample(6, seed=0), progress=False) - P.lift
    red = ReducedFOSLS(P, pod(S, P.product(), 4))
    _check_projection(P, red, P.sample(2, seed=1))


def test_elasticity_energy_norm_at_own_parameter():
    from stablelearn.rbno import Elasticity
    P = Elasticity(4, 2, modes=3)
    xi = P.sample(2, seed=0)
    x = P.solve_many(xi, progress=False) - P.lift
    per = P.norm(x, mu=xi)
    for i in range(2):
        M = P.product(xi[i])
        assert per[i] == pytest.approx(np.sqrt(x[i] @ (M @ x[i])), rel=1e-12)
    assert not np.allclose(per, P.norm(x))  # the reference product (E = 2) differs
