"""Laws against closed forms, growth verdicts, energies (twin vs tangent, Gramian identity)."""

import numpy as np
import pytest
import torch

from stablelearn.stability import (
    backward_gramian,
    incremental_energy,
    loss_energy,
    sup_energy,
    tangent_trajectory,
    twin_trajectory,
)
from stablelearn.stability import laws


def test_step_limits_closed_forms():
    assert laws.gd_max_step(4.0) == 0.5
    assert laws.heavy_ball_max_step(4.0, 0.9) == pytest.approx(3.8 / 4.0)
    assert laws.adam_edge(0.01, 0.9) == pytest.approx(3800.0)  # 38 / eta
    assert laws.residual_max_step(1.0, 3.0) == pytest.approx(2 / 9)
    assert laws.residual_max_step(-1.0, 3.0) == 0.0
    # contraction factor = spectral norm of I - eta H
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    ev = np.array([0.1, 0.5, 1.0, 2.0, 4.0])
    H = q @ np.diag(ev) @ q.T
    for eta in (0.1, 0.45, 0.6):
        assert laws.contraction_factor(eta, ev[0], ev[-1]) == pytest.approx(np.linalg.norm(np.eye(5) - eta * H, 2))
    # dissipative factor: at mu = L it is (1 - h L)^2
    assert laws.dissipative_factor(0.3, 2.0, 2.0) == pytest.approx((1 - 0.6) ** 2)


def test_law_inputs_validated():
    with pytest.raises(ValueError, match="lam_max"):
        laws.gd_max_step(0.0)
    with pytest.raises(ValueError, match="beta"):
        laws.heavy_ball_max_step(1.0, 1.0)
    with pytest.raises(TypeError, match="eta"):
        laws.adam_edge("0.1")
    with pytest.raises(ValueError, match="lam_min"):
        laws.contraction_factor(0.1, 2.0, 1.0)
    with pytest.raises(ValueError, match="batch_hessians"):
        laws.mean_square_factor(0.1, np.ones((3, 2)))


def test_mean_square_factor_matches_simulated_second_moment():
    rng = np.random.default_rng(1)
    hs = []
    for _ in range(6):
        a = rng.standard_normal((3, 3))
        hs.append(a @ a.T / 3)
    hs = np.array(hs)
    eta = 0.3
    # exact E[(I - eta H_B) (x) (I - eta H_B)] from the definition
    m = np.mean([np.kron(np.eye(3) - eta * h, np.eye(3) - eta * h) for h in hs], axis=0)
    assert laws.mean_square_factor(eta, hs) == pytest.approx(np.max(np.abs(np.linalg.eigvals(m))), rel=1e-10)
    # deterministic case (all batches equal): rho_ms = contraction factor squared, eta_ms = 2 / lambda_max
    same = np.repeat(hs[:1], 4, axis=0)
    ev = np.linalg.eigvalsh(hs[0])
    assert laws.mean_square_factor(eta, same) == pytest.approx(laws.contraction_factor(eta, ev[0], ev[-1]) ** 2)
    assert laws.mean_square_step(same) == pytest.approx(2 / ev[-1], rel=1e-5)
    # noise shrinks the mean-square step below 2 / lambda_max(E[H_B])
    assert laws.mean_square_step(hs) < 2 / np.linalg.eigvalsh(hs.mean(0))[-1]


def _jordan_norms(T):
    A = np.array([[1.0, 1.0], [0.0, 1.0]])
    return np.array([np.linalg.norm(np.linalg.matrix_power(A, t), 2) for t in range(T + 1)])


@pytest.mark.parametrize("T", [16, 100, 1000, 10_000])
def test_jordan_block_is_never_bounded(T):
    norms = _jordan_norms(T)
    assert norms[-1] == pytest.approx(np.linalg.norm([[1, T], [0, 1]], 2))
    assert laws.classify_growth(norms) == "subexponential growth"
    assert laws.growth_exponent(norms) == pytest.approx(np.log(norms[-1]) / T)


def test_growth_verdicts():
    t = np.arange(2001)
    assert laws.classify_growth(0.99**t) == "decaying"
    assert laws.classify_growth(1 + 0.5 * np.sin(t)) == "bounded"
    assert laws.classify_growth(1.01**t) == "exponential growth"
    assert laws.classify_growth(np.r_[1.0, np.inf]) == "exponential growth"
    with pytest.raises(ValueError, match="NaN"):
        laws.classify_growth([1.0, np.nan])
    with pytest.raises(ValueError, match="at least 2"):
        laws.classify_growth([1.0])


def _logistic_problem():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(60, 4, generator=g, dtype=torch.float64)
    y = (torch.randn(60, generator=g, dtype=torch.float64) > 0).double()

    def update(theta, t):
        p = torch.sigmoid(X @ theta)
        return theta - 0.8 * (X.T @ (p - y) / 60 + 0.01 * theta)

    return update


def test_twin_trajectory_matches_tangent_propagation():
    update = _logistic_problem()
    theta0 = torch.zeros(4, dtype=torch.float64)
    tangent = tangent_trajectory(update, theta0, 100, seed=3)
    twin = twin_trajectory(update, theta0, 100, eps=1e-7, seed=3)
    assert tangent.status == twin.status == "completed"
    np.testing.assert_allclose(twin.norms, tangent.norms, rtol=1e-4, atol=1e-8)
    # the tangent is linear: doubling the direction's scale does not change normalised norms
    report = incremental_energy(tangent)
    assert report.ratios.shape == (100,)
    assert report.certified == bool(np.all(np.diff(tangent.energies) <= 1e-9 * tangent.energies[:-1]))


def test_incremental_energy_certificate_and_metric():
    rng = np.random.default_rng(0)
    A = np.diag([0.9, 0.5, -0.7])
    deltas = [rng.standard_normal(3)]
    for _ in range(50):
        deltas.append(A @ deltas[-1])
    rep = incremental_energy(np.array(deltas))
    assert rep.certified and rep.bound == 1.0 and rep.max_ratio <= 0.81 + 1e-12
    assert rep.verdict == "decaying"
    metric = np.array([1.0, 4.0, 9.0])
    rep_m = incremental_energy(np.array(deltas), metric)
    assert rep_m.bound == pytest.approx(3.0)  # sqrt(cond M)
    # a non-normal contraction (rho < 1, norm > 1) breaks the identity-metric certificate
    B = np.array([[0.5, 2.0], [0.0, 0.5]])
    d = [np.array([0.0, 1.0])]
    for _ in range(30):
        d.append(B @ d[-1])
    rep_b = incremental_energy(np.array(d))
    assert not rep_b.certified and rep_b.frac_increasing > 0 and rep_b.bound is None


def test_sup_energy_and_gramian_on_jordan_and_stable():
    J = np.array([[1.0, 1.0], [0.0, 1.0]])
    norms = np.array([np.linalg.norm(np.linalg.matrix_power(J, t) @ [0.0, 1.0]) for t in range(4001)])
    sup = sup_energy(norms)
    assert sup.verdict == "subexponential growth"
    np.testing.assert_allclose(sup.growth, 4.0, rtol=1e-3)  # c2 ~ T^2
    gram = backward_gramian(np.repeat(J[None], 4000, axis=0))
    eps = np.finfo(float).eps  # the identity to within Higham's bound (2d + 2) eps for the quadratic forms
    assert gram.verdict == "subexponential growth" and gram.identity_error <= 6 * eps
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    growing = backward_gramian(np.repeat(((Q * [1.05, 0.5, -0.9]) @ Q.T)[None], 4000, axis=0))
    assert growing.verdict == "exponential growth" and growing.identity_error <= 8 * eps  # P_0 ~ 1e169
    stable = backward_gramian(np.repeat(np.diag([0.5, -0.9])[None], 400, axis=0))
    # P_0 = sum_t A^{2t}: c2 = 1 / (1 - 0.81)
    assert stable.c2[-1] == pytest.approx(1 / (1 - 0.81), rel=1e-8)
    assert stable.verdict == "bounded" and np.all(stable.ratios < 1)
    unstable = backward_gramian(np.repeat(np.diag([1.1, 0.5])[None], 400, axis=0))
    assert unstable.verdict == "exponential growth"


def test_loss_energy_flags_increase():
    assert loss_energy([3.0, 2.0, 1.0]).certified
    rep = loss_energy([3.0, 2.0, 2.5, 1.0])
    assert not rep.certified and rep.frac_increasing == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="energies"):
        loss_energy([1.0, np.nan])
