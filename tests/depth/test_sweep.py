"""LR sweep: the quadratic-fit optimum, the drift slope, resumability through the runtime cache."""
import numpy as np
import pytest

from stablelearn.depth import DepthMuP, fit_optimum, lr_sweep
from stablelearn.depth.sweep import LRSweepResult


def test_fit_optimum_recovers_a_parabolas_vertex():
    x = np.arange(-10, -3.5, 0.5)
    opt = fit_optimum(x, (x + 6.3) ** 2 + 0.2)
    assert opt.log2_lr == pytest.approx(-6.3) and opt.loss == pytest.approx(0.2) and not opt.at_edge
    assert fit_optimum(x, x).at_edge and fit_optimum(x, x).log2_lr == x[0]
    y = (x + 6.3) ** 2
    y[:5] = np.inf                                                  # diverged runs count as +inf
    assert fit_optimum(x, y).log2_lr == pytest.approx(-6.3)
    with pytest.raises(ValueError, match="diverged"):
        fit_optimum(x, np.full_like(x, np.inf))


def test_drift_is_the_slope_of_the_optimum_against_log2_depth():
    lrs = list(np.arange(-10.0, -2.0, 0.5))
    depths = [2, 4, 8, 16]
    x = np.array(lrs)
    curves = np.stack([[(x + 5 + 0.5 * np.log2(d) + 0.01 * k) ** 2 for k in range(3)] for d in depths])
    losses = np.moveaxis(curves, 1, -1)[None, None]                  # (scheme, width, depth, lr, seed)
    res = LRSweepResult(["s"], [64], depths, lrs, [0, 1, 2], losses)
    drift = res.drift("s")
    assert drift.slope == pytest.approx(-0.5, abs=1e-9)
    assert drift.low <= drift.slope <= drift.high


def test_lr_sweep_runs_through_the_runtime_and_resumes(tmp_path):
    kw = dict(widths=[16], seeds=[0], steps=3, batch_size=16, block_layers=2, progress=False,
              cache_dir=tmp_path)
    first = lr_sweep("teacher", {"dmup": DepthMuP()}, [2, 4], [-8.0, -6.0, -4.0], **kw)
    assert first.losses.shape == (1, 1, 2, 3, 1) and np.isfinite(first.losses).all()
    assert len(list(tmp_path.glob("*.pkl"))) == 2                     # batched: one cell per depth (one seed)
    again = lr_sweep("teacher", {"dmup": DepthMuP()}, [2, 4], [-8.0, -6.0, -4.0], **kw)
    np.testing.assert_array_equal(first.losses, again.losses)
    with pytest.raises(ValueError, match="task"):
        lr_sweep("cifar", {"d": DepthMuP()}, [2], [-1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="depth"):
        lr_sweep("teacher", {"d": DepthMuP()}, [0], [-1.0, 0.0, 1.0])
    with pytest.raises(TypeError, match="scheme"):
        lr_sweep("teacher", {"d": "depth-muP"}, [2], [-1.0, 0.0, 1.0])


def small_task():
    """A user's own data set, named by import path in lr_sweep."""
    import torch

    from stablelearn.depth import Task

    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 3, generator=g)
    return Task("user", X, X[:, :1].sin(), "mse")


def users_model(in_dim, width, depth, out_dim, **kw):
    from stablelearn.depth import ResidualMLP

    return ResidualMLP(in_dim, width, depth, out_dim, activation="tanh", **kw)


def test_lr_sweep_accepts_a_users_task_and_model_by_import_path():
    res = lr_sweep(f"{__name__}:small_task", {"d": DepthMuP()}, [1, 2], [-6.0, -4.0, -2.0], widths=[8], seeds=[0],
                   steps=2, batch_size=8, model=f"{__name__}:users_model", progress=False)
    assert res.losses.shape == (1, 1, 2, 3, 1) and np.isfinite(res.losses).all()
    with pytest.raises(ValueError, match="cannot be imported"):
        lr_sweep("teacher", {"d": DepthMuP()}, [1], [-1.0, 0.0, 1.0], model="nowhere.at_all:build")
