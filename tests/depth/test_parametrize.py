"""parametrize() on our own networks and on a user's network; roles; bad models."""
import pytest
import torch
from torch import nn

from stablelearn.depth import SP, DepthMuP, DepthMuPCorrected, ResidualBlock, ResidualMLP, ResNet, param_groups, parametrize


def test_parametrize_on_our_resnet_equals_building_it_with_the_scheme():
    scheme = DepthMuPCorrected(beta=0.5)
    built = ResNet(1, 8, 3, 10, block_layers=2, scheme=scheme, base_width=4, base_depth=1, seed=7)
    later = ResNet(1, 8, 3, 10, block_layers=2, scheme=SP(), seed=123)
    rec = parametrize(later, scheme, base_width=4, base_depth=1, seed=7)
    sa, sb = built.state_dict(), later.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert rec.branch_multiplier == pytest.approx(3 ** -0.5)
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(built(x), later(x))
    ga, gb = param_groups(built, 0.1, "adam"), param_groups(later, 0.1, "adam")
    assert [(g["role"], g["lr"]) for g in ga] == [(g["role"], g["lr"]) for g in gb]


def test_reparametrizing_replaces_the_readout_multiplier_instead_of_stacking_it():
    model = ResidualMLP(4, 64, 2, 1, scheme=DepthMuP(), base_width=16)
    x = torch.randn(8, 4)
    parametrize(model, SP(), seed=0)
    plain = model.head(model.head_act(model.features(x)))
    assert torch.equal(model(x), plain)


class UserNet(nn.Module):
    """A user's own residual MLP: blocks wrapped in ResidualBlock, biases everywhere."""

    def __init__(self, width, depth):
        super().__init__()
        self.embed = nn.Linear(5, width)
        self.body = nn.Sequential(*[ResidualBlock(nn.Sequential(nn.GELU(), nn.Linear(width, width),
                                                                nn.GELU(), nn.Linear(width, width)))
                                    for _ in range(depth)])
        self.out = nn.Linear(width, 3)

    def forward(self, x):
        return self.out(torch.relu(self.body(self.embed(x))))


def test_parametrize_a_users_network_infers_roles():
    net = UserNet(32, 4)
    rec = parametrize(net, DepthMuPCorrected(), base_width=16, base_depth=2, seed=0)
    assert rec.roles["embed.weight"] == "input" and rec.roles["out.weight"] == "output"
    assert rec.roles["body.0.branch.1.weight"] == "block_inner"
    assert rec.roles["body.0.branch.3.weight"] == "block"
    assert rec.roles["body.0.branch.1.bias"] == "block_vector"
    assert rec.roles["embed.bias"] == "vector" and rec.roles["out.bias"] == "fixed"
    assert (rec.width, rec.depth, rec.m_n, rec.m_L) == (32, 4, 2.0, 2.0)
    lrs = {g["role"]: g["lr"] for g in param_groups(net, 1.0, "sgd")}
    assert lrs["block_inner"] == pytest.approx(2 ** 0.5) and lrs["block"] == pytest.approx(1.0)
    assert lrs["input"] == pytest.approx(2.0) and lrs["fixed"] == pytest.approx(1.0)
    torch.optim.SGD(param_groups(net, 0.1, "sgd"))  # any torch optimizer accepts the groups


def test_blocks_are_the_shared_residual_block_and_follow_its_protocol():
    from stablelearn import nn as snn
    from stablelearn.depth import ResidualBlock as Exported

    model = ResidualMLP(4, 8, 3, 1, block_layers=2)
    assert Exported is snn.ResidualBlock
    assert all(isinstance(b, snn.ResidualBlock) for b in model.blocks)
    assert [n for n, _ in snn.residual_blocks(model)] == ["blocks.0", "blocks.1", "blocks.2"]
    assert model.blocks[0].h == pytest.approx(3 ** -0.5)


def test_model_without_residual_blocks_is_rejected():
    with pytest.raises(ValueError, match="no residual blocks"):
        parametrize(nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1)), DepthMuP())
    with pytest.raises(ValueError, match="not been parametrized"):
        param_groups(nn.Linear(3, 3), 0.1)
    with pytest.raises(TypeError, match="scheme"):
        parametrize(UserNet(8, 2), "depth-muP")
    with pytest.raises(TypeError, match="model"):
        parametrize("net", DepthMuP())


@pytest.mark.parametrize("act", ["relu", "abs", "tanh", "gelu"])
def test_post_nonlin_blocks_with_mean_subtraction(act):
    model = ResidualMLP(4, 16, 3, 2, block_layers=2, form="post", mean_subtract=True, activation=act)
    branch = model.blocks[0].branch
    z = torch.randn(5, 16)
    assert branch(z).mean(dim=1).abs().max() < 1e-5            # MS(x) has zero mean over features
    names = [type(m).__name__ for m in branch]
    assert names[0] == names[2] == "Linear" and names[-1] == "MeanSubtract"    # W, phi, W, phi, MS
    with pytest.raises(ValueError, match="activation"):
        ResidualMLP(4, 16, 3, 2, activation="swish")
    with pytest.raises(ValueError, match="form"):
        ResidualMLP(4, 16, 3, 2, form="mid")


def test_a_parameter_of_unknown_role_needs_an_explicit_role():
    net = UserNet(16, 2)
    net.pos = nn.Parameter(torch.zeros(4, 16))
    with pytest.raises(ValueError, match="cannot infer the role of parameter 'pos'"):
        parametrize(net, DepthMuP())
    rec = parametrize(net, DepthMuP(), roles={"pos": "fixed"})
    assert rec.roles["pos"] == "fixed"
    with pytest.raises(ValueError, match="unknown parameter"):
        parametrize(net, DepthMuP(), roles={"nope": "fixed"})
    with pytest.raises(ValueError, match="must be one of"):
        parametrize(net, DepthMuP(), roles={"pos": "embedding"})
