"""RBNO: training decreases the FOSLS loss; certified prediction falls back exactly where promised."""

import numpy as np
import pytest
import torch

from stablelearn.rbno.network import RBNO


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: extra intra-op threads only add contention
    yield
    torch.set_num_threads(threads)


def test_residual_training_decreases_loss(heat16, heat_rb, one_thread):
    red = heat_rb[2]
    net = RBNO(red, loss="residual", hidden=(32,), seed=0)
    mu_test = heat16.sample(20, seed=42)
    before = red.loss(net.coefficients(mu_test), mu_test).mean().item()
    res = net.fit(heat16.sample(200, seed=1), steps=80, batch_size=64, lr=3e-3, progress=False)
    after = red.loss(net.coefficients(mu_test), mu_test).mean().item()
    assert res.status == "completed" and res.steps == 80
    assert after < before
    # no network output can beat the RB optimum (it minimises J_r)
    assert after >= red.loss(red.optimum(mu_test), mu_test).mean().item()


def test_certified_prediction(heat16, heat_rb):
    red = heat_rb[2]
    net = RBNO(red, hidden=(16,), seed=0)
    mu = heat16.sample(6, seed=3)
    raw = net.predict(mu)
    assert not raw.fallback.any()
    assert np.allclose(raw.estimate ** 2, [heat16.fosls(x, m) for x, m in zip(raw.x, mu)], rtol=1e-8)
    tol = float(np.median(raw.network_estimate))
    cert = net.predict(mu, tol=tol)
    assert np.array_equal(cert.fallback, raw.network_estimate > tol)
    for i in np.flatnonzero(cert.fallback):
        sol = heat16.solve(mu[i])
        assert np.allclose(cert.x[i], sol.x) and cert.estimate[i] == pytest.approx(sol.estimate)
    keep = ~cert.fallback
    assert np.allclose(cert.x[keep], raw.x[keep])


def test_rbno_bad_inputs(heat16, heat_rb):
    red = heat_rb[2]
    with pytest.raises(ValueError, match="loss"):
        RBNO(red, loss="mse")
    net = RBNO(red, loss="both")
    with pytest.raises(ValueError, match="labelled"):
        net.fit(heat16.sample(10), steps=2)
    with pytest.raises(ValueError, match="tol"):
        net.predict(heat16.sample(2), tol=-1.0)
    with pytest.raises(ValueError, match="steps"):
        net.fit(heat16.sample(10), labelled=heat16.sample(5), steps=0)


def test_cnn_option_outputs_coefficients(heat16, heat_rb):
    red = heat_rb[2]
    net = RBNO(red, architecture="cnn", cnn_width=4)
    c = net.coefficients(heat16.sample(3))
    assert c.shape == (3, red.r) and torch.isfinite(c).all()
