"""Spectral bound, residual margins, profile and monitor on small models with known answers."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn


from stablelearn.stability import (
    ResidualBlock,
    StabilityAlert,
    StabilityMonitor,
    profile,
    residual_margins,
    spectral_norm_bound,
)


def test_spectral_bound_linear_and_relu_chain():
    torch.manual_seed(0)
    lin = nn.Linear(5, 3).double()
    b = spectral_norm_bound(lin, torch.randn(4, 5, dtype=torch.float64))
    exact = np.linalg.norm(lin.weight.detach().numpy(), 2)
    assert b.bound == pytest.approx(exact, rel=1e-9) and b.looseness == pytest.approx(1.0, rel=1e-4)
    net = nn.Sequential(nn.Linear(6, 20), nn.ReLU(), nn.Linear(20, 20), nn.Sigmoid(), nn.Linear(20, 2)).double()
    x = torch.randn(50, 6, dtype=torch.float64)
    b = spectral_norm_bound(net, x)
    ws = [np.linalg.norm(m.weight.detach().numpy(), 2) for m in net if isinstance(m, nn.Linear)]
    assert b.bound == pytest.approx(ws[0] * ws[1] * 0.25 * ws[2], rel=1e-9)
    assert b.measured <= b.bound and b.looseness >= 1
    assert np.all(np.diff(np.log(b.cumulative)) == pytest.approx(np.log(b.factors[1:])))


def test_conv_norm_matches_dense_matrix():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1, stride=2).double()
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64)
    dense = torch.autograd.functional.jacobian(lambda z: conv._conv_forward(z, conv.weight, None), x)
    exact = np.linalg.norm(dense.reshape(-1, x.numel()).detach().numpy(), 2)
    assert spectral_norm_bound(conv, x, measure=False).bound == pytest.approx(exact, rel=1e-4)


def test_spectral_bound_rejects_non_chain_and_unknown_layer():
    res = nn.Sequential(nn.Linear(3, 3), ResidualBlock(nn.Linear(3, 3), 0.5))
    with pytest.raises(ValueError, match="chain"):
        spectral_norm_bound(res, torch.randn(2, 3))

    class Odd(nn.Module):
        def forward(self, x):
            return x * 2

    with pytest.raises(ValueError, match="Odd"):
        spectral_norm_bound(nn.Sequential(nn.Linear(3, 3), Odd()), torch.randn(2, 3))
    assert spectral_norm_bound(nn.Sequential(nn.Linear(3, 3), Odd()), torch.randn(2, 3),
                               lipschitz={Odd: 2.0}, measure=False).factors[-1] == 2.0


def test_residual_margins_on_linear_dissipative_branch():
    d = 6
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eig = np.linspace(0.5, 3.0, d)
    A = q @ np.diag(eig) @ q.T
    branch = nn.Linear(d, d, bias=False).double()
    with torch.no_grad():
        branch.weight.copy_(torch.as_tensor(-A))
    model = nn.Sequential(ResidualBlock(branch, 0.1), ResidualBlock(branch, 0.8))
    m = residual_margins(model, torch.randn(5, d, dtype=torch.float64))
    np.testing.assert_allclose(m.lipschitz, 3.0, rtol=1e-4)
    np.testing.assert_allclose(m.mu, 0.5, rtol=1e-3)
    np.testing.assert_allclose(m.cfl_step, 2 * 0.5 / 9, rtol=1e-3)
    assert list(m.within) == [True, False]
    # contraction bound >= the true step norm ||I - h A|| (the CFL-type condition)
    for h, f in zip(m.h, m.factor):
        assert np.linalg.norm(np.eye(d) - h * A, 2) <= f + 1e-9
    with pytest.raises(ValueError, match="residual blocks"):
        residual_margins(nn.Linear(3, 3), torch.randn(2, 3))


def _quadratic(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.randn(40, 1, generator=g, dtype=torch.float64)
    model = nn.Linear(3, 1, bias=False).double()
    lam = np.linalg.eigvalsh((X.T @ X / 40).numpy())
    return model, X, y, lam


def test_profile_margin_and_verdict_on_least_squares(mse):
    model, X, y, lam = _quadratic()
    eta = 1.5 * 2 / lam[-1]
    p = profile(model, mse, (X, y), lr=eta)
    assert p.sharpness.value == pytest.approx(lam[-1], rel=1e-6)
    assert p.lambda_min.value == pytest.approx(lam[0], rel=1e-6)
    assert p.margin == pytest.approx(1.5, rel=1e-6) and "unstable" in p.verdict
    assert p.contraction == pytest.approx(max(abs(1 - eta * lam[0]), abs(1 - eta * lam[-1])), rel=1e-6)
    assert p.max_step == pytest.approx(2 / lam[-1], rel=1e-6)
    assert "| margin |" in p.summary()
    momentum = torch.optim.SGD(model.parameters(), lr=eta, momentum=0.9)
    assert profile(model, mse, (X, y), optimizer=momentum).margin == pytest.approx(1.5 / 1.9, rel=1e-6)
    with pytest.raises(ValueError, match="not finite"):
        profile(model, mse, (X, y * float("nan")))


def _train(model, X, y, opt, mon, steps):
    for step in range(steps):
        opt.zero_grad()
        mon.loss_fn(model(X), y).backward()
        opt.step()
        mon.on_step(step, opt)


def test_monitor_alerts_on_unstable_step_and_exports(tmp_path, mse):
    model, X, y, lam = _quadratic(1)
    opt = torch.optim.SGD(model.parameters(), lr=1.2 * 2 / lam[-1])
    seen = []
    mon = StabilityMonitor(model, mse, (X, y), every=2, patience=2, alerts=seen.append, log_dir=tmp_path)
    _train(model, X, y, opt, mon, 12)
    checks = mon.history.checks()
    assert len(checks) == 6
    np.testing.assert_allclose(checks.column("margin"), 1.2, rtol=1e-2)
    assert seen and seen[0].kind == "margin" and seen[0].step == 2
    rows = [json.loads(line) for line in (tmp_path / "stability.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and rows[0]["step"] == 0
    csv_text = mon.history.to_csv(tmp_path / "h.csv").read_text().splitlines()
    assert csv_text[0].startswith("step,check") and len(csv_text) == 13
    fig = mon.plot()
    assert len(fig.axes) >= 6
    mon.close()


def test_monitor_raise_on_nan_and_validation(mse):
    model, X, y, lam = _quadratic(2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mon = StabilityMonitor(model, mse, (X, y), every=100, alerts="raise")
    with torch.no_grad():
        model.weight.fill_(float("nan"))
    with pytest.raises(StabilityAlert, match="non-finite"):
        mon.on_step(0, opt)
    fresh, *_ = _quadratic(2)
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="overhead"):
            StabilityMonitor(fresh, mse, (X, y), overhead=bad)
    with pytest.raises(ValueError, match="not finite"):
        StabilityMonitor(fresh, mse, (X, y * float("inf")))
    with pytest.raises(ValueError, match="empty"):
        StabilityMonitor(fresh, mse, (X[:0], y[:0]))
    with pytest.raises(ValueError, match="metrics: unknown"):
        StabilityMonitor(fresh, mse, (X, y), metrics=("sharpnes",))


def test_monitor_keeps_to_its_overhead_budget(mse):
    model, X, y, lam = _quadratic(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mon = StabilityMonitor(model, mse, (X, y), overhead=0.5, alerts="off", metrics=("sharpness", "probe_loss"))
    _train(model, X, y, opt, mon, 300)
    n_checks = int(np.nansum(mon.history.column("check")))
    assert 1 <= n_checks < 300
    # the budget rule: time spent on checks <= (1 - cheap share) * overhead * training time + the cost of
    # the last check it allowed (<= the cost estimate, the max of the last three)
    allowed = (1 - mon.CHEAP_SHARE) * 0.5 * mon.train_time
    assert mon._spent["check"] <= allowed + mon._cost["check"] + 1e-9
    assert mon.effective_every > 0


def test_monitor_adam_uses_preconditioned_edge(mse):
    model, X, y, lam = _quadratic(4)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    mon = StabilityMonitor(model, mse, (X, y), every=1, alerts="off", iters=200, tol=1e-8)
    _train(model, X, y, opt, mon, 3)
    row = mon.history.rows[-1]
    v = opt.state[model.weight]
    p = (v["exp_avg_sq"] / (1 - 0.999 ** float(v["step"]))).sqrt().reshape(-1) + 1e-8
    H = (X.T @ X / 40).numpy()
    s = 1 / np.sqrt(p.numpy())
    exact = np.linalg.eigvalsh(s[:, None] * H * s[None, :])[-1]
    assert row["precond_sharpness"] == pytest.approx(exact, rel=1e-3)
    assert row["edge"] == pytest.approx(38 / 0.01)


@pytest.mark.parametrize("module, make, hook", [("lightning", "lightning_callback", "on_train_batch_end"),
                                                 ("transformers", "hf_callback", "on_step_end")])
def test_adapters(module, make, hook, mse):
    from stablelearn.stability import adapters

    model, X, y, _ = _quadratic(5)
    mon = StabilityMonitor(model, mse, (X, y), every=1)
    try:
        __import__(module)
    except ImportError:
        with pytest.raises(ImportError, match="pip install"):  # the guard names what to install
            getattr(adapters, make)(mon)
        pytest.skip(f"{module} is not installed: only the import guard was tested")
    callback = getattr(adapters, make)(mon)
    assert hasattr(callback, hook)


def test_profile_of_a_depth_resnet_reports_its_residual_margins(mse):
    """One residual-block protocol (stablelearn.nn): stability reads depth's blocks, h = branch_multiplier."""
    from stablelearn.depth import ResidualMLP
    from stablelearn.nn import residual_blocks

    model = ResidualMLP(4, 8, 3, 2, seed=0)  # in 4, width 8, depth 3, out 2
    blocks = residual_blocks(model)
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
    y = torch.randn(16, 2, generator=torch.Generator().manual_seed(1))
    p = profile(model, mse, (x, y), lr=0.1, iters=50)
    assert p.residual is not None and len(p.residual.names) == len(blocks) == 3
    np.testing.assert_allclose(p.residual.h, [b.branch_multiplier for _, b in blocks])
    np.testing.assert_allclose(p.residual.margin, p.residual.h * p.residual.lipschitz)
    assert "residual" in p.summary()
