"""No global side effects: every rbno entry point that takes a seed or runs torch code leaves torch's and
NumPy's global RNGs and torch's thread count as they were (issue 13, house convention 8)."""

import numpy as np
import pytest
import torch

from stablelearn.rbno import RBNO, DarcyFlow, RBNOEnsemble, FNOBaseline, PCANet, PenalisedReducedFOSLS, ReducedFOSLS, pod


def test_rbno_build_fit_predict(heat16, heat_rb, unchanged_global_state):
    red = heat_rb[2]
    with unchanged_global_state():
        for arch in ("mlp", "cnn"):
            net = RBNO(red, hidden=(8,), architecture=arch, cnn_width=2, seed=0)
            mu = heat16.sample(6, seed=1)
            net.fit(mu, steps=3, batch_size=4, validation=heat16.sample(3, seed=2), eval_every=1,
                    refit_output=True, ridge=[1e-6, 1e-3], progress=False)
            net.predict(mu[:2])
            net.excess_loss(mu[:2])
            net.refit_output(mu, ridge=1e-6)
        RBNO(red, hidden=(8,), seed=None).fit(heat16.sample(4, seed=None), steps=2, progress=False)
        RBNO(red, hidden=(8,), seed=np.random.default_rng(0))
        ens = RBNOEnsemble([RBNO(red, hidden=(8,), seed=s) for s in (0, 1)])
        ens.predict(heat16.sample(2, seed=3))
        ens.excess_loss(heat16.sample(2, seed=3))


def test_same_seed_same_network_whatever_the_global_state(heat16, heat_rb):
    red = heat_rb[2]
    mu = heat16.sample(3, seed=0)
    a = RBNO(red, hidden=(8,), seed=5).coefficients(mu)
    torch.manual_seed(123)
    torch.rand(10)
    b = RBNO(red, hidden=(8,), seed=5).coefficients(mu)
    assert torch.equal(a, b)


def test_problems_pod_reduced_and_penalty(unchanged_global_state):
    with unchanged_global_state():
        P = DarcyFlow(n=4, modes=3)
        mu = P.sample(5, seed=None)
        X = P.solve_many(mu, progress=False)
        basis = pod(X - P.lift, P.product(), 3)
        red = ReducedFOSLS(P, basis)
        red.estimate(red.optimum(mu), mu)
        pen = PenalisedReducedFOSLS(P, pod(X, P.product(), 3), 10.0)
        RBNO(pen, hidden=(4,), seed=1).fit(mu, steps=2, progress=False)


def test_grid_baselines(heat16, unchanged_global_state):
    mu = heat16.sample(4, seed=0)
    values = np.stack([heat16.vertex_values(x) for x in heat16.solve_many(mu, progress=False)])
    with unchanged_global_state():
        model = PCANet(heat16, output_modes=2, hidden=(4,), seed=3)
        model.fit(mu, values, steps=2, batch_size=2, progress=False)
        model.predict_values(mu)
    pytest.importorskip("neuralop")
    with unchanged_global_state():
        fno = FNOBaseline(heat16, n_modes=(2, 2), hidden=2, n_layers=1, seed=3)
        fno.fit(mu, values, steps=1, batch_size=2, progress=False)
        fno.predict_values(mu)
