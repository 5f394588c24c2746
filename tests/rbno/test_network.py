"""RBNO: training decreases the FOSLS loss; the excess-loss report; the output re-solve; certified prediction."""

import numpy as np
import pytest
import torch

from stablelearn._conventions import limit_threads
from stablelearn.rbno import STATUSES, FitResult
from stablelearn.rbno.network import RBNO
from stablelearn.rbno.reduced import ReducedFOSLS


@pytest.fixture
def one_thread():
    with limit_threads(1):  # tiny networks: extra intra-op threads only add contention
        yield


def test_residual_training_decreases_loss(heat16, heat_rb, one_thread):
    red = heat_rb[2]
    net = RBNO(red, loss="residual", hidden=(32,), seed=0)
    mu_test = heat16.sample(20, seed=42)
    before = red.loss(net.coefficients(mu_test), mu_test).mean().item()
    res = net.fit(heat16.sample(200, seed=1), steps=80, batch_size=64, lr=3e-3, progress=False)
    after = red.loss(net.coefficients(mu_test), mu_test).mean().item()
    assert isinstance(res, FitResult) and res.status == "completed" and res.status in STATUSES
    assert res.n_iter == 80 and len(res.history["objective"]) == 80 and res.wall_time > 0
    assert after < before
    # no network output can beat the RB optimum (it minimises J_r)
    assert after >= red.loss(red.optimum(mu_test), mu_test).mean().item()


def test_excess_loss_report_tells_optimisation_from_generalisation(heat16, heat_rb, one_thread):
    """J_r(c) - J_r(c*) = |||V(c - c*)|||^2 >= 0; the output re-solve minimises the training objective
    over the output layer, so it cannot raise the training excess and leaves a zero gradient there."""
    red = heat_rb[2]
    mu_train, mu_test = heat16.sample(120, seed=1), heat16.sample(30, seed=2)
    net = RBNO(red, hidden=(16,), seed=0)
    net.fit(mu_train, steps=30, batch_size=32, lr=3e-3, progress=False)
    ex_train, ex_test = net.excess_loss(mu_train), net.excess_loss(mu_test)
    assert ex_train.shape == (120,) and ex_test.shape == (30,)
    c, c_star = net.coefficients(mu_test), red.optimum(mu_test)
    A = red.system(mu_test).A
    d = c - c_star
    assert np.allclose(ex_test, torch.einsum("bi,bij,bj->b", d, A, d).numpy(), rtol=1e-6, atol=1e-12)
    assert (ex_train > -1e-10).all() and (ex_test > -1e-10).all()
    net.refit_output(mu_train, ridge=0.0)
    refit_train = net.excess_loss(mu_train)
    assert refit_train.mean() <= ex_train.mean() * (1 + 1e-9)
    out = net.net[-1]
    out.zero_grad()
    sysm = red.system(mu_train)
    sysm.loss(net._forward(net._inputs(mu_train))).mean().backward()
    scale = sysm.loss(net.coefficients(mu_train)).mean().item()
    assert out.weight.grad.abs().max().item() < 1e-4 * max(scale, 1.0)


def test_validation_checkpoint_and_ridge_choice(heat16, heat_rb, one_thread):
    red = heat_rb[2]
    net = RBNO(red, hidden=(16,), seed=0)
    val = heat16.sample(20, seed=3)
    res = net.fit(heat16.sample(100, seed=1), steps=40, batch_size=32, lr=1e-2, validation=val, eval_every=10,
                  refit_output=True, ridge=[1e-8, 1e-2], progress=False)
    assert list(res.history["validation_step"]) == [10, 20, 30, 40]
    assert res.best_iter == 10 * (1 + int(np.argmin(res.history["validation"])))
    assert res.output_refit and res.ridge in (1e-8, 1e-2)


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


def test_state_dict_round_trip(heat16, heat_rb):
    red = heat_rb[2]
    a, b = RBNO(red, hidden=(8,), seed=0), RBNO(red, hidden=(8,), seed=1)
    mu = heat16.sample(3, seed=0)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.coefficients(mu), b.coefficients(mu))
    assert not torch.equal(a.coefficients(mu), RBNO(red, hidden=(8,), seed=1).coefficients(mu))


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


def test_ensemble_mean_and_its_loss_bound(heat16, heat_rb, one_thread):
    """The ensemble predicts the members' mean; J_r is a convex quadratic in c, so the mean's excess loss is at
    most the mean of the members' (Jensen), on any parameters; predict works as for one network."""
    from stablelearn.rbno import RBNOEnsemble

    red = heat_rb[2]
    mu_train, mu_test = heat16.sample(80, seed=1), heat16.sample(20, seed=2)
    members = [RBNO(red, hidden=(8,), seed=s) for s in (0, 1, 2)]
    for m in members:
        m.fit(mu_train, steps=10, batch_size=16, lr=3e-3, progress=False)
    ens = RBNOEnsemble(members)
    assert torch.allclose(ens.coefficients(mu_test), torch.stack([m.coefficients(mu_test) for m in members]).mean(0))
    ex = ens.excess_loss(mu_test)
    assert (ex > -1e-10).all()
    assert ex.mean() <= np.mean([m.excess_loss(mu_test).mean() for m in members]) * (1 + 1e-9)
    pred = ens.predict(mu_test[:3])
    assert np.allclose(pred.coefficients, ens.coefficients(mu_test[:3]).numpy())
    with pytest.raises(TypeError, match="members"):
        RBNOEnsemble([])
    with pytest.raises(TypeError, match="members"):
        RBNOEnsemble([members[0], "net"])
    other = ReducedFOSLS(heat16, heat_rb[1])
    with pytest.raises(ValueError, match="members"):
        RBNOEnsemble([members[0], RBNO(other, hidden=(8,), seed=0)])


def test_whitened_output_map(heat16, heat_rb, one_thread):
    """output_map="whiten": c = m + S z with S^T mean(A) S = I; the output re-solve still minimises the
    training residual over the output layer (cannot raise it); the state round-trips with the matrix map."""
    red = heat_rb[2]
    mu = heat16.sample(100, seed=1)
    net = RBNO(red, hidden=(8,), seed=0)
    net.fit(mu, steps=20, batch_size=32, lr=3e-3, output_map="whiten", progress=False)
    S, A = net.c_scale, red.system(mu).A.mean(0)
    assert S.shape == (red.r, red.r) and torch.allclose(S.T @ A @ S, torch.eye(red.r, dtype=A.dtype), atol=1e-8)
    before = net.excess_loss(mu).mean()
    net.refit_output(mu, ridge=0.0)
    assert net.excess_loss(mu).mean() <= before * (1 + 1e-9)
    twin = RBNO(red, hidden=(8,), seed=3).load_state_dict(net.state_dict())
    assert torch.equal(twin.coefficients(mu[:4]), net.coefficients(mu[:4]))
    with pytest.raises(ValueError, match="output_map"):
        net.fit(mu, steps=1, output_map="pca")


def test_kl_input_scale():
    from stablelearn.rbno import DarcyFlow, pod

    P = DarcyFlow(n=6, modes=3)
    mu = P.sample(8, seed=0)
    red = ReducedFOSLS(P, pod(P.solve_many(mu, progress=False) - P.lift, P.product(), 3))
    net = RBNO(red, hidden=(4,), input_scale="kl", seed=0)
    c = np.asarray(P.kl_eigenvalues)
    assert np.allclose(net.input_scale, np.sqrt(c / c[0])) and net.input_scale[0] == 1.0
    assert torch.allclose(net._inputs(mu), torch.as_tensor(mu * np.sqrt(c / c[0]), dtype=torch.float32))
    for bad in ("pca", [1.0, 2.0], [1.0, -1.0, 1.0]):
        with pytest.raises(ValueError, match="input_scale"):
            RBNO(red, hidden=(4,), input_scale=bad)
    with pytest.raises(ValueError, match="input_scale"):
        RBNO(red, architecture="cnn", input_scale="kl")


def test_field_block_inputs():
    """field_blocks=k appends log block means of theta and of 1/theta (k x k blocks) to the MLP input."""
    from stablelearn.rbno import DarcyFlow, pod

    P = DarcyFlow(n=6, modes=3)
    mu = P.sample(8, seed=0)
    red = ReducedFOSLS(P, pod(P.solve_many(mu, progress=False) - P.lift, P.product(), 3))
    net = RBNO(red, hidden=(4,), field_blocks=2, input_scale="kl", seed=0)
    x = net._inputs(mu).double()
    assert x.shape == (8, 3 + 2 * 4) and net.net[0].in_features == 11
    th = P.theta(mu)
    cen = P.mesh.p[:, P.mesh.t].mean(axis=1)
    lower_left = (cen[0] < 0.5) & (cen[1] < 0.5)
    assert torch.allclose(x[:, :3], torch.as_tensor(mu * net.input_scale), atol=1e-6)
    assert np.allclose(x[:, 3].numpy(), np.log(th[:, lower_left].mean(1)), atol=1e-5)
    assert np.allclose(x[:, 7].numpy(), -np.log((1 / th[:, lower_left]).mean(1)), atol=1e-5)
    assert (x[:, 3:7] >= x[:, 7:] - 1e-6).all()  # arithmetic mean >= harmonic mean
    net.fit(mu, steps=3, batch_size=4, progress=False)
    assert np.isfinite(net.coefficients(mu).numpy()).all()
    assert RBNO(red, hidden=(4,), seed=0)._inputs(mu).shape == (8, 3)  # default unchanged
    for bad in (-1, 1.5, "2"):
        with pytest.raises((ValueError, TypeError), match="field_blocks"):
            RBNO(red, hidden=(4,), field_blocks=bad)
    with pytest.raises(ValueError, match="field_blocks"):
        RBNO(red, architecture="cnn", field_blocks=2)


def test_trace_weighting(heat16, heat_rb, one_thread):
    """weighting="trace" divides each parameter's J_r by tr A(mu) / mean tr A: same minimisers, equal traces."""
    from stablelearn.rbno.network import _scaled, _weights

    red = heat_rb[2]
    mu = heat16.sample(40, seed=3)
    s = red.system(mu)
    w = _scaled(s, _weights(s, "trace") / 0.5)
    assert torch.allclose(w.A.diagonal(dim1=1, dim2=2).sum(-1), torch.full((40,), 2.0, dtype=torch.float64))
    assert torch.allclose(w.optimum(), s.optimum(), rtol=1e-8, atol=1e-10)
    c = s.optimum() + 0.1
    ratio = w.loss(c) / s.loss(c)
    assert torch.allclose(ratio, 2.0 / s.A.diagonal(dim1=1, dim2=2).sum(-1))
    wi = _scaled(s, _weights(s, "inverse_trace"))
    assert torch.allclose(wi.loss(c) / s.loss(c), torch.linalg.inv(s.A).diagonal(dim1=1, dim2=2).sum(-1))
    for weighting in ("trace", "inverse_trace"):
        net = RBNO(red, hidden=(8,), seed=0)
        res = net.fit(mu, steps=5, batch_size=8, weighting=weighting, refit_output=True, validation=mu[:8],
                      eval_every=2, progress=False)
        assert res.status == "completed" and np.isfinite(net.excess_loss(mu)).all()
    with pytest.raises(ValueError, match="weighting"):
        net.fit(mu, steps=1, weighting="energy")
