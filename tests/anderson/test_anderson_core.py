"""Properties of the AA core (docs/anderson.md, "Guarantees"): momentum identity, weights, gain factor, GMRES, QR window."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from stablelearn.anderson import Accelerator, QRWindow, solve
from stablelearn.anderson.problems import logistic, quadratic


def _quad(n=40, kappa=1e3, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q * np.logspace(0, -np.log10(kappa), n)) @ Q.T
    return 0.5 * (A + A.T), rng.standard_normal(n)


def _run_collect(x0, T, **kw):
    xs, infos = [x0], []
    res = solve(x0, T=T, tol=0.0, callback=lambda k, x, info: (xs.append(x), infos.append(info)), **kw)
    return res, xs, infos


@pytest.mark.parametrize("m", [1, 3, 5])
def test_momentum_identity_nonlinear_map(m):
    """x_{k+1} = x_k + r_k + sum_j beta_j dx_{k-j} + sum_j beta_j dr_{k-j}, beta = -gamma."""
    p = logistic("breast_cancer", standardize=True)
    T = lambda x: x - p.grad(x) / p.L
    res, xs, infos = _run_collect(p.x0, T, method="aa", m=m, max_iter=40)
    assert res.history.accepted.all()
    rs = [T(x) - x for x in xs]
    for k, info in enumerate(infos):
        mk = len(info.gamma)
        assert mk == min(m, k)
        beta = -info.gamma[::-1]  # newest first
        mom = xs[k] + rs[k]
        for j in range(1, mk + 1):
            mom = mom + beta[j - 1] * (xs[k - j + 1] - xs[k - j]) + beta[j - 1] * (rs[k - j + 1] - rs[k - j])
        assert np.allclose(xs[k + 1], mom, rtol=1e-10, atol=1e-10 * np.abs(xs[k + 1]).max())
        # the recorded gain factor is ||r - dR gamma|| / ||r|| computed directly
        if mk:
            dR = np.stack([rs[k - mk + i + 1] - rs[k - mk + i] for i in range(mk)], axis=1)
            direct = np.linalg.norm(rs[k] - dR @ info.gamma) / np.linalg.norm(rs[k])
            assert info.theta == pytest.approx(direct, rel=1e-6, abs=1e-9)


def test_aa1_is_adaptive_nag_sc():
    """GD + AA(1) equals NAG-SC with beta_k = <g_k, g_{k-1} - g_k> / ||g_k - g_{k-1}||^2."""
    A, b = _quad(30, 1e2)
    grad = lambda x: A @ x - b
    h = 1.0
    res, xs, _ = _run_collect(np.zeros(30), lambda x: x - h * grad(x), method="aa", m=1, reg=0.0, max_iter=30)
    y = [np.zeros(30), np.zeros(30) - h * grad(np.zeros(30))]
    for k in range(1, 30):
        g, gp = grad(y[k]), grad(y[k - 1])
        beta = float(g @ (gp - g)) / float((g - gp) @ (g - gp))
        y.append(y[k] - h * g + beta * (y[k] - y[k - 1]) - h * beta * (g - gp))
    for k in range(31):
        assert np.allclose(xs[k], y[k], rtol=1e-9, atol=1e-9 * np.abs(y[k]).max())


def test_weights_relation_and_constrained_form():
    """alpha from gamma by differences; alpha solves the constrained problem and
    x_{k+1} = sum_i alpha_i T(x_{k-m+i})."""
    A, b = _quad(25, 1e2, seed=3)
    T = lambda x: x - 0.9 * (A @ x - b)
    _, xs, infos = _run_collect(np.ones(25), T, method="aa", m=4, reg=0.0, max_iter=12)
    for k in range(5, 12):
        g = infos[k].gamma
        mk = len(g)
        alpha = np.concatenate([[g[0]], np.diff(g), [1.0 - g[-1]]])
        assert alpha.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.allclose(np.cumsum(alpha)[:-1], g, atol=1e-12)
        pts = xs[k - mk: k + 1]
        Rm = np.stack([T(x) - x for x in pts], axis=1)
        assert np.allclose(xs[k + 1], sum(a * T(x) for a, x in zip(alpha, pts)), rtol=1e-9, atol=1e-10)
        # KKT of min ||R alpha|| s.t. sum alpha = 1, solved independently
        K = np.block([[Rm.T @ Rm, np.ones((mk + 1, 1))], [np.ones((1, mk + 1)), np.zeros((1, 1))]])
        ref = np.linalg.solve(K, np.r_[np.zeros(mk + 1), 1.0])[:-1]
        assert np.allclose(alpha, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reg", [0.0, 1e-10, 1e-2])
def test_gain_factor_in_unit_interval(reg):
    p = quadratic(60, 1e5, seed=1)
    res = p.solve("aa", reg=reg, max_iter=300, tol=0.0)
    assert np.all(res.history.theta >= 0) and np.all(res.history.theta <= 1 + 1e-12)


def test_aa_matches_gmres_on_affine_map():
    """untruncated AA on affine T: x_{k+1}^AA = T(x_k^GMRES)."""
    n, h = 30, 0.5
    A, b = _quad(n, 50.0, seed=2)
    T = lambda x: x - h * (A @ x - b)
    M, c, x0 = h * A, h * b, np.zeros(n)
    _, xs, _ = _run_collect(x0, T, method="aa", m=20, reg=0.0, max_iter=8)
    r0 = c - M @ x0
    for k in range(1, 8):
        K = np.stack([np.linalg.matrix_power(M, i) @ r0 for i in range(k)], axis=1)
        Qk, _ = np.linalg.qr(K)
        z = np.linalg.lstsq(M @ Qk, r0, rcond=None)[0]
        x_gmres = x0 + Qk @ z
        assert np.allclose(xs[k + 1], T(x_gmres), rtol=1e-8, atol=1e-8 * np.abs(xs[k + 1]).max())


@pytest.mark.parametrize("reg", [0.0, 1e-6])
def test_qr_window_matches_direct_lstsq(reg):
    """The incrementally updated factorisation (append + drop) solves the same problem as a fresh lstsq."""
    rng = np.random.default_rng(7)
    n, m = 50, 4
    win = QRWindow(m, np.zeros(n))
    cols, rs, Ts = [], [rng.standard_normal(n)], [rng.standard_normal(n)]
    for step in range(12):
        rs.append(rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3))
        Ts.append(rng.standard_normal(n))
        win.append(rs[-1], rs[-2], Ts[-1], Ts[-2])
        cols = (cols + [rs[-1] - rs[-2]])[-m:]
        dR = np.stack(cols, axis=1)
        r = rng.standard_normal(n)
        gamma, theta = win.solve(r, reg)
        lam = reg * np.sum(dR**2)
        Ast = np.vstack([dR, np.sqrt(lam) * np.eye(len(cols))])
        ref = np.linalg.lstsq(Ast, np.r_[r, np.zeros(len(cols))], rcond=None)[0]
        assert np.allclose(gamma, ref, rtol=1e-8, atol=1e-10 * np.abs(ref).max())
        assert theta == pytest.approx(np.linalg.norm(r - dR @ ref) / np.linalg.norm(r), rel=1e-8)
        dT = np.stack([Ts[-len(cols) + i] - Ts[-len(cols) + i - 1] for i in range(len(cols))], axis=1)
        assert np.allclose(win.combine(gamma), dT @ gamma, rtol=1e-10, atol=1e-12)


def test_ill_posed_least_squares_gives_finite_coefficients():
    """duplicate columns and zero differences give a finite gamma, theta in [0, 1]."""
    n = 20
    rng = np.random.default_rng(0)
    for reg in (0.0, 1e-10):
        win = QRWindow(5, np.zeros(n))
        r0, r1 = rng.standard_normal(n), rng.standard_normal(n)
        win.append(r1, r0, r1, r0)  # a column
        win.append(r1 + (r1 - r0), r1, r1, r0)  # the same column again (duplicate)
        win.append(r1, r1, r1, r1)  # a zero difference
        gamma, theta = win.solve(rng.standard_normal(n), reg)
        assert np.all(np.isfinite(gamma)) and 0.0 <= theta <= 1.0 + 1e-12
    acc = Accelerator(3, governor="none")
    x = np.ones(n)
    for _ in range(4):  # stagnation: x and T(x) repeat exactly
        out = acc.step(x, x + 1.0)
        assert np.all(np.isfinite(out))


def test_scale_shift_rotation_invariance():
    """gamma is unchanged under phi -> s phi with h -> h/s and under translation of x (GD);
    under an orthogonal change of variables the iterates rotate with x."""
    A, b = _quad(20, 1e3, seed=9)
    n = 20

    def gammas(T, x0, steps=15):
        _, xs, infos = _run_collect(x0, T, method="aa", m=4, max_iter=steps)
        return xs, [i.gamma for i in infos]

    xs, g = gammas(lambda x: x - (A @ x - b), np.zeros(n))
    s = 7.5  # phi -> s phi, h -> h / s: the same map
    _, g_s = gammas(lambda x: x - (1 / s) * (s * (A @ x - b)), np.zeros(n))
    c = np.linspace(-1, 1, n)  # translation: phi(x - c), started at x0 + c
    xs_t, g_t = gammas(lambda x: x - (A @ (x - c) - b), c.copy())
    Q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((n, n)))
    xs_q, g_q = gammas(lambda y: y - Q @ (A @ (Q.T @ y) - b), np.zeros(n))
    for k in range(1, 15):
        for other in (g_s, g_t, g_q):
            assert np.allclose(other[k], g[k], rtol=1e-7, atol=1e-9)
        assert np.allclose(xs_t[k], xs[k] + c, atol=1e-9 * np.abs(xs[k]).max())
        assert np.allclose(xs_q[k], Q @ xs[k], atol=1e-9 * np.abs(xs[k]).max())



@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 6), steps=st.integers(1, 15),
       dup=st.booleans(), reg=st.sampled_from([0.0, 1e-10, 1e-3]))
def test_qr_window_property(seed, m, steps, dup, reg):
    """Any append/drop sequence (with optional duplicate columns): gamma is finite, theta in [0, 1],
    and the residual ||r - dR gamma|| is no worse than a fresh regularised lstsq's (to 1e-8)."""
    rng = np.random.default_rng(seed)
    n = 12
    win = QRWindow(m, np.zeros(n))
    rs, cols = [rng.standard_normal(n)], []
    for i in range(steps):
        new = rs[-1] + (cols[-1] if dup and cols and i % 2 else rng.standard_normal(n))
        rs.append(new)
        win.append(rs[-1], rs[-2], rs[-1], rs[-2])
        cols = (cols + [rs[-1] - rs[-2]])[-m:]
    r = rng.standard_normal(n)
    gamma, theta = win.solve(r, reg)
    dR = np.stack(cols, axis=1)
    assert np.all(np.isfinite(gamma)) and 0.0 <= theta <= 1.0 + 1e-12
    lam = reg * np.sum(dR**2)
    obj = lambda g: np.sum((r - dR @ g) ** 2) + lam * np.sum(g**2)
    ref = np.linalg.lstsq(np.vstack([dR, np.sqrt(lam) * np.eye(len(cols))]), np.r_[r, np.zeros(len(cols))],
                          rcond=None)[0]
    assert obj(gamma) <= obj(ref) * (1 + 1e-8) + 1e-12
