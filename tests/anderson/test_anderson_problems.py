"""Prox library, estimate_L and the problem suite against exact references."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from stablelearn.anderson import L1, Box, ElasticNet, SquaredL2, estimate_L, gd_map, prox_grad_map
from stablelearn.anderson.problems import lasso, logistic, quadratic, ridge


@pytest.mark.parametrize("psi", [L1(0.3), SquaredL2(2.0), ElasticNet(0.3, 2.0), Box(-0.5, 0.7)])
def test_prox_is_the_minimiser(psi):
    """prox(v, h) minimises psi(z) + ||z - v||^2 / (2h): compare with a direct 1-D grid search."""
    rng = np.random.default_rng(0)
    v, h = rng.standard_normal(6) * 2, 0.7
    z = psi(v, h)
    grid = np.linspace(-5, 5, 200001)
    for i in range(v.size):
        obj = [psi.value(np.array([g])) + (g - v[i]) ** 2 / (2 * h) for g in grid[::1000]]
        coarse = grid[::1000][int(np.argmin(obj))]
        fine = grid[np.abs(grid - coarse) <= 0.06]
        obj = [psi.value(np.array([g])) + (g - v[i]) ** 2 / (2 * h) for g in fine]
        assert z[i] == pytest.approx(fine[int(np.argmin(obj))], abs=1e-4)
    zt = psi(torch.tensor(v), h)  # the same on torch tensors
    assert isinstance(zt, torch.Tensor) and np.allclose(zt.numpy(), z, atol=1e-15)


def test_maps_and_estimate_L():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((30, 30))
    A = M @ M.T
    assert estimate_L(lambda v: A @ v, np.zeros(30), n_iter=5000, rtol=1e-13) == pytest.approx(
        np.linalg.eigvalsh(A)[-1], rel=1e-6)
    x = rng.standard_normal(30)
    assert np.allclose(gd_map(lambda y: A @ y, 0.1)(x), x - 0.1 * A @ x)
    assert np.allclose(prox_grad_map(lambda y: A @ y, L1(1.0), 0.1)(x), L1(1.0)(x - 0.1 * A @ x, 0.1))
    with pytest.raises(ValueError, match="h"):
        gd_map(lambda y: y, -1.0)
    with pytest.raises(ValueError, match="lam"):
        L1(-1.0)


def _fd_check(p, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(p.x0.size) * 0.01
    v = rng.standard_normal(p.x0.size)
    smooth = p.F if p.prox is None else (lambda y: p.F(y) - p.prox.value(y))
    eps = 1e-6
    fd = (smooth(x + eps * v) - smooth(x - eps * v)) / (2 * eps)
    assert fd == pytest.approx(float(p.grad(x) @ v), rel=1e-5, abs=1e-8)


def test_quadratic_reference_and_constants():
    p = quadratic(40, 1e3, seed=2)
    x_star = np.linalg.solve(np.stack([p.grad(e) - p.grad(np.zeros(40)) for e in np.eye(40)], axis=1),
                             -p.grad(np.zeros(40)))
    assert p.F(x_star) == pytest.approx(p.F_star, rel=1e-10)
    _fd_check(p)
    d = quadratic(1000, 1e3, rotate=False)
    assert d.F(d.x0 - 1e-3 * d.grad(d.x0)) < d.F(d.x0)
    with pytest.raises(ValueError, match="rotate"):
        quadratic(10_000, 1e3, rotate=True)


@pytest.mark.parametrize("dataset, std", [("breast_cancer", True), ("wine", False)])
def test_logistic_reference_is_the_minimum(dataset, std):
    p = logistic(dataset, standardize=std)
    _fd_check(p)
    res = minimize(p.F, p.x0, jac=p.grad, method="L-BFGS-B", options={"gtol": 1e-12, "maxiter": 20000})
    assert p.F_star <= res.fun + 1e-12
    H = np.stack([p.grad(e * 1e-6) - p.grad(np.zeros(p.x0.size)) for e in np.eye(p.x0.size)]) / 1e-6
    assert p.L >= np.linalg.eigvalsh(0.5 * (H + H.T))[-1] * (1 - 1e-4)  # L bounds the curvature at 0


def test_lasso_and_ridge_references():
    p = lasso(30, 60, rho=0.8, seed=3)
    _fd_check(p)
    r = p.solve("fista_restart", max_iter=3000, tol=0.0)
    assert p.F_star <= r.history.F.min() + 1e-10 * abs(p.F_star)
    q = ridge("digits", 1e-2)
    _fd_check(q)
    assert q.F_star <= q.solve("aa", max_iter=500).history.F.min() + 1e-12
    with pytest.raises(ValueError, match="dataset"):
        ridge("mnist")
    with pytest.raises(ValueError, match="rho"):
        lasso(10, 10, rho=1.0)


@pytest.mark.parametrize("build", [lambda: quadratic(30, 1e3, seed=1), lambda: quadratic(30, 1e3, rotate=False),
                                   lambda: lasso(20, 40, 0.8, seed=1, l2=0.1), lambda: ridge("diabetes", 1e-3),
                                   lambda: logistic("wine", False), lambda: logistic("breast_cancer", True, l1=1e-3)],
                         ids=["quadratic", "diagonal", "elastic_net", "ridge", "logistic_raw", "logistic_l1"])
def test_value_and_grad_is_F_and_grad_bit_for_bit(build):
    """Each problem's fused oracle returns exactly what F and grad return (one shared product)."""
    p = build()
    rng = np.random.default_rng(0)
    for scale in (0.0, 1e-2, 10.0):  # 10: large margins on the raw logistic problem (log1p(exp(-|m|)) form)
        x = rng.standard_normal(p.x0.size) * scale
        value, g = p.value_and_grad(x)
        assert value == p.F(x) and np.array_equal(g, p.grad(x))
    # the log1p form of log(1 + exp(-m)) agrees with numpy's logaddexp to rounding
    if "logistic" in p.name and p.prox is None:
        from stablelearn.anderson.problems import _design
        X, t = _design("wine", False)
        y = 2.0 * (t == 1) - 1.0
        w = rng.standard_normal(p.x0.size)
        ref = float(np.logaddexp(0.0, -(X * y[:, None]) @ w).mean()) + 0.5 * p.info["l2"] * float(w @ w)
        assert p.F(w) == pytest.approx(ref, rel=1e-14)
