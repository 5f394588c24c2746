"""Spec section 1 tables: init variances, multipliers and LR factors at several (n, L)."""
import math

import pytest
import torch

from stablelearn.depth import (SP, CompleteP, DepthMuP, DepthMuPCorrected, MuP, ResidualMLP, param_groups,
                               record_of, scheme_from_dict)

SHAPES = [(32, 2), (64, 8), (128, 32)]
N0 = 32


def expected_lr(scheme, role, opt, m_n, m_L):
    """The tables of docs/depth.md (muP, depth-muP, correction) written out by hand, role by role."""
    if isinstance(scheme, SP) or type(scheme) is SP:
        return 1.0
    width = {("sgd", "input"): m_n, ("sgd", "output"): m_n, ("sgd", "block"): 1.0, ("sgd", "block_inner"): 1.0,
             ("adam", "input"): 1.0, ("adam", "output"): 1.0, ("adam", "block"): 1 / m_n,
             ("adam", "block_inner"): 1 / m_n}[(opt, role)]
    if type(scheme) is MuP or role in ("input", "output"):
        return width
    depth = {"sgd": 1.0, "adam": m_L ** -0.5}[opt]           # depth-muP, alpha = gamma = 1/2
    if type(scheme) is DepthMuPCorrected and role == "block_inner":
        depth *= m_L ** 0.5                                   # the correction: SGD eta*sqrt(L/L0), Adam eta/m_n
    return width * depth


@pytest.mark.parametrize("scheme", [SP(), MuP(), DepthMuP(), DepthMuPCorrected()], ids=lambda s: s.name)
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_param_groups_carry_the_tables_lr_factors(scheme, opt):
    for n, L in SHAPES:
        model = ResidualMLP(8, n, L, 3, block_layers=2, scheme=scheme, base_width=N0)
        rec = record_of(model)
        groups = param_groups(model, 0.1, opt)
        assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
        for g in groups:
            want = expected_lr(scheme, g["role"], opt, n / N0, L)
            assert g["lr"] == pytest.approx(0.1 * want, rel=1e-12), (g["role"], n, L)
        assert rec.branch_multiplier == pytest.approx(1.0 if type(scheme) in (SP, MuP) else L ** -0.5)
        assert rec.output_multiplier == pytest.approx(1.0 if type(scheme) is SP else N0 / n)


@pytest.mark.parametrize("scheme", [SP(), MuP(), DepthMuP()], ids=lambda s: s.name)
def test_initial_weights_have_the_tables_variances(scheme):
    d = 16
    for n, L in SHAPES[:2]:
        model = ResidualMLP(d, n, L, 4, block_layers=2, scheme=scheme, base_width=N0, seed=n + L)
        blocks = torch.cat([p.flatten() for name, p in model.named_parameters() if name.startswith("blocks")])
        assert blocks.var().item() == pytest.approx(1 / n, rel=0.05)
        assert model.stem.weight.var().item() == pytest.approx(1 / d, rel=0.15)
        want_out = 1 / n if type(scheme) is SP else 1 / N0     # muP readout: constant 1/n0 (TP5 / mup)
        assert model.head.weight.var().item() == pytest.approx(want_out, rel=0.3)


def test_readout_zero_init_and_alternative_depth_exponents():
    model = ResidualMLP(4, 64, 4, 2, scheme=MuP(readout_zero_init=True))
    assert torch.count_nonzero(model.head.weight) == 0
    ode = DepthMuP(alpha=1.0, gamma=0.0)                      # the 1/L scaling row of TP6
    assert ode.branch_multiplier(16.0) == pytest.approx(1 / 16)
    assert ode.lr_factor("block", "sgd", 1.0, 16.0) == pytest.approx(16.0)
    assert ode.lr_factor("block", "adam", 1.0, 16.0) == pytest.approx(1.0)
    quarter = DepthMuPCorrected(beta=0.25)
    assert quarter.lr_factor("block_inner", "sgd", 1.0, 16.0) == pytest.approx(2.0)
    assert CompleteP().lr_factor("block", "adam", 2.0, 16.0) == pytest.approx(0.5)


def test_scheme_round_trips_through_dict_and_table_prints():
    for s in [SP(), MuP(output_mult=2.0), DepthMuP(alpha=1.0, gamma=0.0), DepthMuPCorrected(beta=0.25), CompleteP()]:
        assert scheme_from_dict(s.to_dict()) == s
    assert "block_inner" in DepthMuPCorrected().table(128, 32, base_width=64, optimizer="adam")


def test_corrected_with_beta_zero_equals_depth_mup_exactly():
    kw = dict(block_layers=2, base_width=16, seed=3)
    a = ResidualMLP(8, 32, 8, 2, scheme=DepthMuP(), **kw)
    b = ResidualMLP(8, 32, 8, 2, scheme=DepthMuPCorrected(beta=0.0), **kw)
    for opt in ("sgd", "adam"):
        ga, gb = param_groups(a, 0.01, opt), param_groups(b, 0.01, opt)
        assert [(g["role"], g["lr"]) for g in ga] == [(g["role"], g["lr"]) for g in gb]
    x = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))
    oa, ob = torch.optim.Adam(param_groups(a, 0.01, "adam")), torch.optim.Adam(param_groups(b, 0.01, "adam"))
    for _ in range(3):
        for m, o in ((a, oa), (b, ob)):
            o.zero_grad()
            m(x).pow(2).mean().backward()
            o.step()
    assert torch.equal(a(x), b(x))


def test_activation_scale_at_init_is_independent_of_width_and_depth():
    x = torch.randn(256, 16, generator=torch.Generator().manual_seed(1))
    for k in (1, 2):
        for scheme in (DepthMuP(), DepthMuPCorrected()):
            sizes = [ResidualMLP(16, n, L, 1, block_layers=k, scheme=scheme, base_width=64, seed=L).features(x)
                     .pow(2).mean().sqrt().item() for n in (64, 256) for L in (1, 4, 32)]
            assert max(sizes) / min(sizes) < 1.3, sizes


def test_sp_activation_scale_grows_with_depth():
    x = torch.randn(256, 16, generator=torch.Generator().manual_seed(1))
    rms = [ResidualMLP(16, 64, L, 1, scheme=SP()).features(x).pow(2).mean().sqrt().item() for L in (2, 16)]
    assert rms[1] > 5 * rms[0]


@pytest.mark.parametrize("bad, match", [
    (dict(width=0), "width"), (dict(depth=0), "depth"), (dict(block_layers=0), "block_layers"),
    (dict(scheme="muP"), "scheme"), (dict(base_width=0), "base_width"), (dict(base_depth=0), "base_depth"),
])
def test_bad_model_arguments_raise(bad, match):
    kw = dict(in_dim=4, width=8, depth=2, out_dim=1)
    kw.update(bad)
    with pytest.raises((ValueError, TypeError), match=match):
        ResidualMLP(kw.pop("in_dim"), kw.pop("width"), kw.pop("depth"), kw.pop("out_dim"), **kw)


def test_optimizer_without_rule_and_unknown_names_raise():
    model = ResidualMLP(4, 8, 2, 1, scheme=CompleteP())
    with pytest.raises(ValueError, match="no learning-rate rule for optimizer 'sgd'"):
        param_groups(model, 0.1, "sgd")
    with pytest.raises(ValueError, match="optimizer"):
        param_groups(model, 0.1, "lion")
    with pytest.raises(ValueError, match="lr"):
        param_groups(model, -1.0, "adam")
    with pytest.raises(ValueError, match="unknown scheme"):
        scheme_from_dict({"scheme": "Nope"})
    with pytest.raises(ValueError, match="alpha"):
        DepthMuP(alpha=math.nan)


def test_completep_scales_adam_eps_and_block_vectors():
    m_n, m_L = 4.0, 16.0
    cp = CompleteP()
    assert cp.adam_eps_factor("block", m_n, m_L) == pytest.approx(1 / (m_n * m_L))      # m_n^-1 m_L^-alpha
    assert cp.adam_eps_factor("block_vector", m_n, m_L) == pytest.approx(1 / m_L)       # m_L^-alpha
    assert cp.adam_eps_factor("input", m_n, m_L) == 1.0 and cp.adam_eps_factor("output", m_n, m_L) == 1.0
    assert cp.lr_factor("block_vector", "adam", m_n, m_L) == pytest.approx(1.0)          # m_L^(alpha-1) = 1
    assert CompleteP(alpha=0.5).lr_factor("block_vector", "adam", m_n, m_L) == pytest.approx(m_L ** -0.5)
    model = ResidualMLP(4, 32, 16, 1, block_layers=2, bias=True, scheme=cp, base_width=8)
    eps = {g["role"]: g.get("eps") for g in param_groups(model, 1e-3, "adam", adam_eps=1e-8)}
    assert eps["block"] == pytest.approx(1e-8 / 64) and eps["block_vector"] == pytest.approx(1e-8 / 16)
    assert eps["input"] is None                                                          # torch's default
    assert "Adam eps factor" in cp.table(32, 16, base_width=8, optimizer="adam")


def test_correction_layers_first_or_every_nonfinal_layer():
    kw = dict(block_layers=3, base_width=16)
    roles = record_of(ResidualMLP(8, 16, 4, 2, **kw)).roles
    assert [roles[f"blocks.0.branch.{i}.weight"] for i in (1, 3, 5)] == ["block_inner", "block_middle", "block"]
    for layers, middle in (("nonfinal", 2.0), ("first", 1.0)):
        model = ResidualMLP(8, 16, 4, 2, scheme=DepthMuPCorrected(beta=0.5, layers=layers), **kw)
        lrs = {g["role"]: g["lr"] for g in param_groups(model, 1.0, "sgd")}
        assert lrs["block_inner"] == pytest.approx(2.0) and lrs["block_middle"] == pytest.approx(middle)
        assert lrs["block"] == pytest.approx(1.0)
