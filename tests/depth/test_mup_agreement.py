"""Agreement with Microsoft's ``mup`` (MuReadout, set_base_shapes, MuAdam, MuSGD) on a width sweep."""
import pytest
import torch
from torch import nn

from stablelearn.depth import MuP, ResidualBlock, ResidualMLP, make_optimizer, param_groups

mup = pytest.importorskip("mup", reason="the `mup` package is not installed (pip install mup)")

BASE = 32


class MupNet(nn.Module):
    def __init__(self, width, depth=3):
        super().__init__()
        self.stem = nn.Linear(10, width, bias=False)
        self.blocks = nn.ModuleList(ResidualBlock(nn.Sequential(nn.ReLU(), nn.Linear(width, width, bias=False)))
                                    for _ in range(depth))
        self.head_act = nn.ReLU()
        self.head = mup.MuReadout(width, 4, bias=False)

    def forward(self, x):
        h = self.stem(x)
        for b in self.blocks:
            h = b(h)
        return self.head(self.head_act(h))


def _mup_model(width):
    model = MupNet(width)
    mup.set_base_shapes(model, MupNet(BASE), delta=MupNet(2 * BASE))
    return model


@pytest.mark.parametrize("opt_name", ["adam", "sgd"])
def test_lr_groups_and_training_match_mup_over_widths(opt_name):
    x = torch.randn(32, 10, generator=torch.Generator().manual_seed(0))
    y = torch.randn(32, 4, generator=torch.Generator().manual_seed(1))
    lr = 1e-2 if opt_name == "adam" else 0.05
    for width in (32, 64, 256):
        ours = ResidualMLP(10, width, 3, 4, scheme=MuP(), base_width=BASE, seed=width)
        theirs = _mup_model(width)
        theirs.load_state_dict(ours.state_dict())
        torch.testing.assert_close(ours(x), theirs(x))
        lr_ours = {id(p): g["lr"] for g in param_groups(ours, lr, opt_name) for p in g["params"]}
        mu_opt = (mup.MuAdam if opt_name == "adam" else mup.MuSGD)(theirs.parameters(), lr=lr)
        lr_theirs = {name: g["lr"] for g in mu_opt.param_groups for p in g["params"]
                     for name, q in theirs.named_parameters() if q is p}
        for name, p in ours.named_parameters():
            assert lr_ours[id(p)] == pytest.approx(lr_theirs[name], rel=1e-12), (width, name)
        opt = make_optimizer(ours, lr, opt_name)
        for _ in range(3):
            for model, o in ((ours, opt), (theirs, mu_opt)):
                o.zero_grad()
                nn.functional.mse_loss(model(x), y).backward()
                o.step()
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-5)
