"""Bad input at the public boundary: a TypeError/ValueError naming the argument, or a documented status;
never another exception, never a hang, never a silent wrong number (docs/stability.md, "Input contract")."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from stablelearn._conventions import torch_seeded
from stablelearn.stability import (
    STATUSES,
    StabilityMonitor,
    hessian_eigenvalues,
    input_jacobian_norm,
    lambda_min,
    laws,
    optimizer_info,
    parameter_jacobian_norm,
    sharpness,
    spectral_norm_bound,
)

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
BAD_SCALARS = [float("nan"), float("inf"), -float("inf"), 0, -1, -0.5, 1e308, 2.5, "x", None, True, np.int64(-3),
               np.float64(float("nan")), [1], np.zeros(2)]


def _net():
    with torch_seeded(0):
        return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def _data(n=8):
    gen = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, generator=gen), torch.randn(n, 2, generator=gen)


def _mse(out, y):
    return ((out - y) ** 2).mean()


def _contract(call, name):
    """``call()`` either raises TypeError/ValueError naming ``name`` or returns a result with a known status."""
    try:
        out = call()
    except (TypeError, ValueError) as err:
        assert name in str(err), f"message does not name {name!r}: {err}"
        return None
    status = getattr(out, "status", None)
    if status is not None:
        assert status in STATUSES
        assert math.isfinite(out.value) or status == "non_finite"
    return out


@pytest.mark.timeout(60)
@SETTINGS
@given(name=st.sampled_from(["iters", "tol", "seed", "chunk_size", "mode", "method", "hvp_mode"]),
       value=st.sampled_from(BAD_SCALARS))
def test_sharpness_scalar_arguments(name, value):
    _contract(lambda: sharpness(_net(), _mse, _data(), **{name: value}), name)


@pytest.mark.timeout(60)
@SETTINGS
@given(fn=st.sampled_from([lambda_min, hessian_eigenvalues]), name=st.sampled_from(["iters", "tol", "mode"]),
       value=st.sampled_from(BAD_SCALARS))
def test_other_solvers_scalar_arguments(fn, name, value):
    _contract(lambda: fn(_net(), _mse, _data(), **{name: value}), name)


@pytest.mark.timeout(60)
@SETTINGS
@given(fn=st.sampled_from([input_jacobian_norm, parameter_jacobian_norm, spectral_norm_bound]),
       x=st.sampled_from([torch.randn(3), torch.zeros(0, 3), torch.full((2, 3), float("nan")),
                          torch.ones(2, 3, dtype=torch.long), "x", np.ones((2, 3)), torch.randn(2, 5),
                          torch.full((2, 3), 1e30)]))
def test_jacobian_inputs(fn, x):
    _contract(lambda: fn(_net(), x), "x")


@pytest.mark.timeout(60)
@SETTINGS
@given(data=st.sampled_from([
    (torch.randn(8, 3), torch.randn(8, 5)),  # targets do not fit the outputs
    (torch.randn(8, 4), torch.randn(8, 2)),  # inputs of the wrong width
    (torch.ones(8, 3, dtype=torch.long), torch.randn(8, 2)),  # long-dtype inputs
    (torch.randn(8, 3), torch.randn(7, 2)), (torch.randn(0, 3), torch.randn(0, 2)), "xy", 5, [1, 2],
    (torch.full((8, 3), float("inf")), torch.randn(8, 2)),
]))
def test_data_mismatches_name_what_does_not_fit(data):
    _contract(lambda: sharpness(_net(), _mse, data), "data" if not isinstance(data, tuple) or
              data[0].shape[0] != data[1].shape[0] or data[0].shape[0] == 0 or not torch.isfinite(data[0]).all()
              else ("loss_fn" if data[1].shape[1] == 5 else "model"))


@pytest.mark.timeout(60)
def test_loss_contract_and_model_type():
    x, y = _data()
    with pytest.raises(ValueError, match="scalar"):
        sharpness(_net(), nn.MSELoss(reduction="none"), (x, y))
    with pytest.raises(ValueError, match="graph"):
        sharpness(_net(), lambda o, t: torch.tensor(1.0), (x, y))
    with pytest.raises(TypeError, match="model"):
        sharpness("x", _mse, (x, y))
    with pytest.raises(TypeError, match="loss_fn"):
        sharpness(_net(), "mse", (x, y))
    with pytest.raises(ValueError, match="model failed") as info:
        sharpness(_net(), _mse, (torch.randn(8, 4), y))
    assert isinstance(info.value.__cause__, RuntimeError)  # the original error is chained


@pytest.mark.timeout(60)
def test_numpy_inputs_are_accepted_and_correct():
    x, y = _data()
    ref = sharpness(_net(), _mse, (x, y)).value
    assert sharpness(_net(), _mse, (x.numpy(), y.numpy()), iters=np.int64(100)).value == pytest.approx(ref, rel=1e-6)
    n = sum(p.numel() for p in _net().parameters())
    assert sharpness(_net(), _mse, (x, y), preconditioner=np.ones(n)).value == pytest.approx(ref, rel=1e-6)
    with pytest.raises(ValueError, match="preconditioner"):
        sharpness(_net(), _mse, (x, y), preconditioner=np.ones(n + 1))
    with pytest.raises(TypeError, match="preconditioner"):
        sharpness(_net(), _mse, (x, y), preconditioner=[1.0] * n)


@pytest.mark.timeout(60)
def test_forward_over_reverse_with_mse_loss():
    x, y = _data()
    ref = sharpness(_net(), nn.MSELoss(), (x, y)).value
    assert sharpness(_net(), nn.MSELoss(), (x, y), hvp_mode="forward-over-reverse").value == pytest.approx(ref, rel=1e-6)


@pytest.mark.timeout(60)
def test_single_example_jacobian_is_refused_not_wrong():
    net, x = _net(), torch.randn(3)
    with pytest.raises(ValueError, match="batch dimension"):
        input_jacobian_norm(net, x)
    one = input_jacobian_norm(net, x[None], iters=200, tol=1e-10).value
    exact = torch.linalg.matrix_norm(torch.autograd.functional.jacobian(net, x), ord=2).item()
    assert one == pytest.approx(exact, rel=1e-5)


@pytest.mark.timeout(30)
@SETTINGS
@given(rtol=st.sampled_from([0, -1, float("nan"), 1.0, 2, "x", None]))
def test_mean_square_step_rtol_never_hangs(rtol):
    H = np.stack([np.diag([1.0, 2.0]), np.diag([3.0, 0.5])])
    _contract(lambda: laws.mean_square_step(H, rtol=rtol), "rtol")


@pytest.mark.timeout(30)
@SETTINGS
@given(H=st.sampled_from([np.zeros((2, 2, 2)), -np.stack([np.eye(2)] * 2), np.ones((2, 2)), np.full((1, 2, 2), np.nan),
                          np.zeros((0, 2, 2)), [["a"]], np.array([[[1.0, 2.0], [0.0, 1.0]]])]))
def test_mean_square_laws_refuse_bad_hessians(H):
    _contract(lambda: laws.mean_square_step(H), "batch_hessians")
    _contract(lambda: laws.mean_square_factor(0.1, H), "batch_hessians")


@pytest.mark.timeout(30)
@SETTINGS
@given(fn=st.sampled_from([laws.gd_max_step, lambda v: laws.adam_edge(v), lambda v: laws.residual_max_step(v, 1.0),
                           lambda v: laws.contraction_factor(v, 0.1, 1.0), lambda v: laws.dissipative_factor(v, 1, 1)]),
       value=st.sampled_from(BAD_SCALARS + [np.float32(0.5), np.int64(2)]))
def test_laws_scalars(fn, value):
    try:
        out = fn(value)
    except (TypeError, ValueError) as err:
        assert any(k in str(err) for k in ("lam_max", "eta", "mu", "h")), str(err)
        return
    assert not math.isnan(out)  # huge inputs may overflow to inf, the float limit of the formula


@pytest.mark.timeout(30)
@SETTINGS
@given(norms=st.sampled_from([[1.0], [np.nan, 1.0], [-1.0, 2.0], ["a", "b"], [0.0, 1.0], np.ones((2, 2)), []]))
def test_growth_inputs(norms):
    _contract(lambda: laws.classify_growth(norms), "norms")


@pytest.mark.timeout(60)
@SETTINGS
@given(name=st.sampled_from(["every", "overhead", "patience", "iters", "tol", "probe_size", "cheap_every",
                             "batch_size", "window", "mode", "alerts", "metrics", "tracking", "refresh_every",
                             "audit_every"]),
       value=st.sampled_from(BAD_SCALARS))
def test_monitor_arguments(name, value):
    _contract(lambda: StabilityMonitor(_net(), _mse, _data(), **{name: value}), name)


@pytest.mark.timeout(60)
def test_monitor_accepts_lr_zero_numpy_scalars_and_a_metric_string():
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    mon = StabilityMonitor(net, _mse, _data(), every=np.int64(1), metrics="sharpness", alerts="off")
    row = mon.on_step(np.int64(0), opt)
    assert row["margin"] == 0.0 and math.isinf(row["edge"])
    assert optimizer_info(lr=0.0).edge == math.inf
    for bad, kind in (("first", TypeError), (-1, ValueError), (1.5, TypeError)):
        with pytest.raises(kind, match="step"):
            mon.on_step(bad, opt)
    with pytest.raises(TypeError, match="optimizer"):
        mon.on_step(1, "sgd")
