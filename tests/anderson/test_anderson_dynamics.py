"""Effective mass, high-resolution coefficients and the ODE energy law (docs/anderson.md, "Momentum form")."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from stablelearn.anderson import effective_mass, high_resolution_coefficients
from stablelearn.anderson.problems import quadratic


def test_nag_sc_coefficients():
    """Constant beta = (1 - sqrt(mu h)) / (1 + sqrt(mu h)), m = 1: dividing by M gives NAG-SC's
    high-resolution ODE X'' + 2 sqrt(mu) X' + ... + (1 + sqrt(mu h)) grad f = 0 (Shi et al.)."""
    mu, h = 1e-3, 0.5
    beta = (1 - np.sqrt(mu * h)) / (1 + np.sqrt(mu * h))
    co = high_resolution_coefficients(np.array([-beta]), h)
    assert co.mass == pytest.approx((1 + beta) / 2, rel=1e-14)
    assert co.damping / co.mass == pytest.approx(2 * np.sqrt(mu), rel=1e-12)
    assert 1 / co.mass == pytest.approx(1 + np.sqrt(mu * h), rel=1e-12)
    assert co.hessian_damping == pytest.approx(beta)
    # newest-first weights (2j - 1): gamma oldest first [g0, g1] -> beta_1 = -g1, beta_2 = -g0
    assert effective_mass(np.array([0.3, -0.2])) == pytest.approx(0.5 * (1 + 1 * 0.2 + 3 * (-0.3)))


def test_recorded_mass_and_governor_bound_for_m1():
    """history.mass is M of each step; with m = 1 the dissipative governor keeps M <= 1 (docs/anderson.md, "The governor")."""
    p = quadratic(60, 1e4, seed=3)
    h = p.solve("egaa", m=1, preset="faithful", max_iter=300, tol=0.0).history
    assert np.allclose(h.mass, 0.5 * (1 + h.beta_bar), atol=1e-12)
    assert np.all(h.mass[h.accepted] <= 1.0 + 1e-12)
    a = p.solve("aa", m=1, max_iter=300, tol=0.0).history
    assert np.any(a.mass > 1.0)  # without the governor the mass does exceed 1


def test_ode_energy_law():
    """for M(t) X'' + c X' + grad phi = 0, E = phi + M |X'|^2 / 2 has
    dE/dt = (M'/2 - c) |X'|^2, so E grows exactly where M' > 2c."""
    A = np.diag([1.0, 0.1])
    c = 0.05
    M = lambda t: 1.0 + 0.8 * np.sin(t)
    Md = lambda t: 0.8 * np.cos(t)

    def rhs(t, y):
        x, v = y[:2], y[2:]
        return np.r_[v, -(c * v + A @ x) / M(t)]

    t = np.linspace(0, 12, 4001)
    sol = solve_ivp(rhs, (0, 12), [1.0, -1.0, 0.0, 0.5], t_eval=t, rtol=1e-11, atol=1e-12)
    x, v = sol.y[:2], sol.y[2:]
    E = 0.5 * np.einsum("it,ij,jt->t", x, A, x) + 0.5 * M(t) * np.sum(v * v, axis=0)
    dE = np.gradient(E, t)
    law = (0.5 * Md(t) - c) * np.sum(v * v, axis=0)
    assert np.allclose(dE[5:-5], law[5:-5], atol=2e-5)
    grows = (Md(t) > 2 * c) & (np.sum(v * v, axis=0) > 1e-3)
    shrinks = (Md(t) < 2 * c) & (np.sum(v * v, axis=0) > 1e-3)
    assert np.all(dE[5:-5][grows[5:-5]] > 0) and np.all(dE[5:-5][shrinks[5:-5]] < 0)
