"""Every public entry point of stablelearn.stability that takes a seed or runs torch code leaves torch's and
NumPy's global RNGs and torch's thread count as they were."""

import numpy as np
import torch
from torch import nn

from stablelearn._conventions import torch_seeded
from stablelearn.nn import ResidualBlock
from stablelearn.stability import (
    StabilityMonitor,
    backward_gramian,
    hessian_eigenvalues,
    input_jacobian_norm,
    lambda_min,
    laws,
    parameter_jacobian_norm,
    profile,
    residual_margins,
    sharpness,
    spectral_norm_bound,
    tangent_trajectory,
    twin_trajectory,
)


def test_entry_points_leave_global_state_alone(unchanged_global_state, mse):
    with torch_seeded(0):
        net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        res = nn.Sequential(nn.Linear(3, 4), ResidualBlock(nn.Sequential(nn.Linear(4, 4), nn.Tanh()), 0.5))
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 3, generator=gen), torch.randn(16, 2, generator=gen)
    theta0 = torch.zeros(3, dtype=torch.float64)
    with unchanged_global_state():
        for seed in (None, 1, np.random.default_rng(2), torch.Generator().manual_seed(3)):
            sharpness(net, mse, (x, y), seed=seed)
            lambda_min(net, mse, (x, y), seed=seed, method="power", iters=20)
            input_jacobian_norm(net, x, seed=seed)
            residual_margins(res, x, seed=seed, iters=20)
        hessian_eigenvalues(net, mse, (x, y), k=2)
        parameter_jacobian_norm(net, x)
        spectral_norm_bound(net, x)
        profile(net, mse, (x, y), lr=0.1, iters=30)
        update = lambda th, t: 0.9 * th  # noqa: E731
        twin_trajectory(update, theta0, 5, seed=4)
        tangent_trajectory(update, theta0, 5, seed=None)
        backward_gramian(np.repeat(np.eye(2)[None] * 0.5, 8, axis=0), seed=5)
        laws.mean_square_step(np.stack([np.eye(2), 2 * np.eye(2)]))
        opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.5)
        mon = StabilityMonitor(net, mse, (x, y), every=2, alerts="off", probe_size=12, seed=None,
                               metrics=("sharpness", "probe_loss", "batch_sharpness", "energy", "lambda_min",
                                        "input_jacobian", "grad_norm", "update_ratio", "output_norm"),
                               batch_size=4, window=2)
        for step in range(5):
            opt.zero_grad()
            mse(net(x), y).backward()
            opt.step()
            mon.on_step(step, opt)
        mon.close()
        assert any("s_upd" in r for r in mon.history.rows)
        for tracking in ("power", "lanczos"):
            mon = StabilityMonitor(net, mse, (x, y), every=1, alerts="off", metrics=("sharpness",),
                                   tracking=tracking, refresh_every=2, audit_every=2, seed=None)
            for step in range(4):
                mon.on_step(step, opt)
            assert "audit_sharpness" in mon.history.checks().columns
