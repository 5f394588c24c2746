"""Decoupled backward, feature updates, knock-outs and the coordinate check (docs/depth.md, "Diagnostics")."""
import pytest
import torch

from stablelearn.depth import (SP, DepthMuP, MuP, ResidualMLP, ResNet, coord_check, decoupled, feature_updates,
                               knockouts, snapshot, stream, teacher_task)
from stablelearn.depth.decoupled import DecoupledLayer


def _grads(model, x):
    model.zero_grad()
    model(x).pow(2).sum().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("make, x", [
    (lambda: ResidualMLP(6, 16, 3, 2, block_layers=2, bias=True), torch.randn(5, 6)),
    (lambda: ResNet(1, 4, 2, 3, block_layers=2), torch.randn(2, 1, 6, 6)),
])
def test_decoupled_twin_with_b0_equal_w0_is_exact_backprop(make, x):
    model = make()
    twin = decoupled(model, seed=1)
    assert torch.equal(model(x), twin(x))
    for m in twin.modules():
        if isinstance(m, DecoupledLayer):
            m.b0.copy_(m.w0)
    g, gt = _grads(model, x), _grads(twin, x)
    assert g.keys() == gt.keys()
    for k in g:
        torch.testing.assert_close(g[k], gt[k], rtol=1e-5, atol=1e-6)


def test_decoupled_twin_differs_only_in_the_backward():
    model = ResidualMLP(6, 16, 3, 2, block_layers=2)
    twin = decoupled(model, seed=1)
    x = torch.randn(5, 6)
    g, gt = _grads(model, x), _grads(twin, x)
    torch.testing.assert_close(g["head.weight"], gt["head.weight"])      # readout sees the same forward
    last = "blocks.2.branch.3.weight"                                     # last layer: same upstream grad
    torch.testing.assert_close(g[last], gt[last])
    assert not torch.allclose(g["blocks.0.branch.1.weight"], gt["blocks.0.branch.1.weight"])


def test_feature_updates_and_knockouts_measure_the_weight_change():
    model = ResidualMLP(6, 32, 4, 2, block_layers=2, seed=0)
    x = torch.randn(64, 6, generator=torch.Generator().manual_seed(2))
    init = snapshot(model)
    fu = feature_updates(model, init, x)
    assert fu.r.shape == (4, 2) and fu.r.max() == 0 and fu.stream_change == 0
    assert knockouts(model, init, x).tolist() == [0.0, 0.0]
    layer = model.blocks[1].branch[3]                                     # W_{2,2}: the second layer
    delta = 0.1 * torch.randn(layer.weight.shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        z = torch.relu(model.blocks[1].branch[1](torch.relu(stream(model, x)[0])))
        layer.weight.add_(delta)
    fu = feature_updates(model, init, x)
    assert fu.r[1, 1] == pytest.approx((z @ delta.T).pow(2).mean().sqrt().item(), rel=1e-5)
    assert fu.r[:, 0].max() == 0 and fu.r[[0, 2, 3], 1].max() == 0
    assert fu.scaled[1] == pytest.approx(2 * fu.r[:, 1].mean())
    ko = knockouts(model, init, x)
    assert ko[0] == 0 and ko[1] == pytest.approx(fu.stream_change, rel=1e-6)


def test_coord_check_sp_grows_with_width_while_mup_is_flat():
    task = teacher_task(n_samples=256)
    slopes = {}
    for scheme in (SP(), MuP()):
        models = {(w, 2): (lambda w=w: ResidualMLP(16, w, 2, 1, scheme=scheme, base_width=32, seed=0))
                  for w in (32, 128, 512)}
        cc = coord_check(models, task, lr=0.05, steps=3, optimizer="sgd")
        slopes[scheme.name] = cc.slope("dh", along="width")
    assert slopes["SP"] > 1.0, slopes
    assert abs(slopes["muP"]) < 0.25, slopes


def test_coord_check_depth_mup_is_flat_in_depth():
    task = teacher_task(n_samples=256)
    models = {(32, L): (lambda L=L: ResidualMLP(16, 32, L, 1, block_layers=2, scheme=DepthMuP(), seed=0))
              for L in (2, 8, 32)}
    cc = coord_check(models, task, lr=0.05, steps=3, optimizer="sgd")
    for q in ("h@1", "dh", "out", "r[1]"):
        assert abs(cc.slope(q, along="depth")) < 0.2, (q, cc.slope(q, along="depth"))
    fig = cc.plot(["h@1", "dh"])
    assert len(fig.axes) == 4
    import matplotlib.pyplot as plt
    plt.close(fig)
    with pytest.raises(ValueError, match="models"):
        coord_check({}, task, lr=0.1)
