"""Spectral primitives against exact references: eigvalsh of the full Hessian, SVD of the full Jacobian."""

import numpy as np
import pytest
import torch
from torch import nn


from stablelearn.stability import (
    hessian_eigenvalues,
    input_jacobian_norm,
    lambda_min,
    parameter_jacobian_norm,
    sharpness,
)
from stablelearn.stability._functional import HessianOperator, ParamSpace
from stablelearn.stability.eigen import lanczos


@pytest.fixture(scope="module")
def small(mse):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    x = torch.randn(24, 4, dtype=torch.float64)
    y = torch.randn(24, 3, dtype=torch.float64)
    space = ParamSpace(model)
    theta = space.flat()
    hess = torch.autograd.functional.hessian(lambda t: mse(space.call(space.unflatten(t), x), y), theta)
    return model, x, y, space, np.linalg.eigvalsh(hess.numpy())


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_sharpness_matches_eigvalsh(small, method, mse):
    model, x, y, _, ev = small
    est = sharpness(model, mse, (x, y), method=method, tol=1e-6, iters=300)
    assert est.converged
    assert est.value == pytest.approx(ev[-1], rel=1e-3)
    assert est.vector.shape == (model[0].weight.numel() + 6 + 18 + 3,)


def test_lambda_min_matches_eigvalsh(small, mse):
    model, x, y, _, ev = small
    assert ev[0] < 0  # a non-convex case: lambda_min is negative
    assert lambda_min(model, mse, (x, y)).value == pytest.approx(ev[0], rel=1e-3)
    power = lambda_min(model, mse, (x, y), method="power", iters=2000, tol=1e-9)
    assert power.value == pytest.approx(ev[0], rel=1e-3)


def test_top_k_lanczos_and_chunked_double_backward(small, mse):
    model, x, y, _, ev = small
    top = hessian_eigenvalues(model, mse, (x, y), k=3)
    np.testing.assert_allclose(top.values, ev[::-1][:3], rtol=1e-3)
    bottom = hessian_eigenvalues(model, mse, (x, y), k=2, which="bottom")
    np.testing.assert_allclose(bottom.values, ev[:2], rtol=1e-3)
    # chunks of 7 rows (a DataLoader-like list) and the double-backward HVP give the same Hessian
    loader = [(x[i : i + 7], y[i : i + 7]) for i in range(0, 24, 7)]
    for hvp_mode in ("double-backward", "forward-over-reverse"):
        est = sharpness(model, mse, loader, hvp_mode=hvp_mode)
        assert est.value == pytest.approx(ev[-1], rel=1e-3)


def test_warm_start_needs_fewer_hvps(small, mse):
    model, x, y, _, _ = small
    cold = sharpness(model, mse, (x, y), method="power", tol=1e-6, iters=500)
    warm = sharpness(model, mse, (x, y), method="power", tol=1e-6, iters=500, vector=cold.vector)
    assert warm.matvecs < cold.matvecs
    assert warm.value == pytest.approx(cold.value, rel=1e-5)


def test_preconditioned_sharpness_is_eig_of_scaled_hessian(small, mse):
    model, x, y, space, _ = small
    theta = space.flat()
    hess = torch.autograd.functional.hessian(lambda t: mse(space.call(space.unflatten(t), x), y), theta).numpy()
    p = torch.linspace(0.5, 2.0, space.size, dtype=torch.float64)
    scale = 1 / np.sqrt(p.numpy())
    exact = np.linalg.eigvalsh(scale[:, None] * hess * scale[None, :])[-1]
    assert sharpness(model, mse, (x, y), preconditioner=p).value == pytest.approx(exact, rel=1e-3)


def test_jacobian_norms_match_svd(small):
    model, x, _, space, _ = small
    jac = torch.autograd.functional.jacobian(model, x)  # (B, out, B, in)
    per_example = [np.linalg.norm(jac[i, :, i, :].numpy(), 2) for i in range(x.shape[0])]
    est = input_jacobian_norm(model, x, tol=1e-9, iters=500)
    assert est.value == pytest.approx(max(per_example), rel=1e-3)
    np.testing.assert_allclose(est.values, per_example, rtol=1e-3)  # each example's own norm
    stacked = input_jacobian_norm(model, x, tol=1e-9, iters=2000, per_example=False)
    assert stacked.value == pytest.approx(max(per_example), rel=1e-3)  # the batch trick: max over the batch
    jt = torch.autograd.functional.jacobian(lambda t: space.call(space.unflatten(t), x), space.flat()).numpy()
    per = [np.linalg.norm(jt[i], 2) for i in range(x.shape[0])]
    pj = parameter_jacobian_norm(model, x, tol=1e-9, iters=500)
    assert pj.value == pytest.approx(max(per), rel=1e-3)
    np.testing.assert_allclose(pj.values, per, rtol=1e-3)
    stacked = parameter_jacobian_norm(model, x, reduction="stacked", tol=1e-9, iters=500).value
    assert stacked == pytest.approx(np.linalg.norm(jt.reshape(-1, space.size), 2), rel=1e-3)


def test_eval_mode_is_used_and_restored(mse):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Dropout(0.5), nn.Linear(5, 1)).double()
    x, y = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 1, dtype=torch.float64)
    model.train()
    a = sharpness(model, mse, (x, y), seed=0).value
    b = sharpness(model, mse, (x, y), seed=1).value  # deterministic: dropout is off, BN frozen
    assert a == pytest.approx(b, rel=1e-4)
    assert all(m.training for m in model.modules())


def test_bad_inputs_raise(mse):
    model = nn.Linear(2, 1)
    x, y = torch.randn(4, 2), torch.randn(4, 1)
    with pytest.raises(ValueError, match="empty"):
        sharpness(model, mse, (x[:0], y[:0]))
    with pytest.raises(ValueError, match="empty"):
        sharpness(model, mse, [])
    frozen = nn.Linear(2, 1).requires_grad_(False)
    with pytest.raises(ValueError, match="no parameters requiring grad"):
        sharpness(frozen, mse, (x, y))
    with pytest.raises(ValueError, match="iters"):
        sharpness(model, mse, (x, y), iters=0)
    with pytest.raises(ValueError, match="method"):
        sharpness(model, mse, (x, y), method="arnoldi")
    with pytest.raises(TypeError, match="data"):
        sharpness(model, mse, 3)
    with pytest.raises(ValueError, match="vector"):
        sharpness(model, mse, (x, y), vector=torch.ones(7))
    with pytest.raises(ValueError, match="NaN"):
        input_jacobian_norm(model, torch.full((2, 2), float("nan")))


def test_nan_ends_with_status(mse):
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    with torch.no_grad():
        model[0].weight.fill_(float("nan"))
    est = sharpness(model, mse, (torch.ones(3, 2, dtype=torch.float64), torch.ones(3, 1, dtype=torch.float64)),
                    method="power")
    assert est.status == "non_finite" and not est.converged


def test_lanczos_reuses_a_given_first_product(small, mse):
    model, x, y, space, _ = small
    op = HessianOperator(space, mse, [(x, y)])
    v0 = space.random_unit(3)
    plain = lanczos(op, v0, k=1, iters=30, tol=1e-8)
    count = op.count
    reused = lanczos(op, v0, k=1, iters=30, tol=1e-8, w0=op(v0))
    assert reused.value == pytest.approx(plain.value, rel=1e-10) and reused.matvecs == plain.matvecs
    assert op.count - count == plain.matvecs  # the given product replaced the first one
