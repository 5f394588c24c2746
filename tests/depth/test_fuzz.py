"""Bad input at depth's public boundary (issue 14; the depth findings of the bad-input review).

The contract: a ValueError or TypeError whose message names the argument, or a documented status; never
another exception type, never a hang, never a silent wrong number.
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.contract import refused as _refused
from stablelearn.depth import (SP, STATUSES, DepthMuP, DepthMuPCorrected, LRSweepResult, MuP, ResidualMLP,
                               coord_check, fit_optimum, lr_sweep, param_groups, teacher_task, train)

FUZZ = settings(max_examples=20, deadline=None, derandomize=True)
BAD_SCALARS = [math.nan, math.inf, -math.inf, 0, -1, -2.5, 1e300, "3", None, [1], np.float64(math.nan), True]




@pytest.fixture(scope="module")
def tiny_task():
    return teacher_task(64, 4, 8)


def _net(**kw):
    return ResidualMLP(4, 8, 2, 1, block_layers=2, **kw)


# ------------------------------------------------------------------------ the review's findings, one by one


@pytest.mark.timeout(30)
def test_fit_optimum_sorts_the_grid_and_refuses_degenerate_ones():
    asc = fit_optimum([0, 1, 2], [2, 1, 3])
    desc = fit_optimum([2, 1, 0], [3, 1, 2])
    assert desc.log2_lr == pytest.approx(asc.log2_lr) and desc.log2_lr == pytest.approx(0.8333, abs=1e-3)
    _refused(lambda: fit_optimum([0, 0, 0], [3, 1, 3]), "log2_lrs")
    _refused(lambda: fit_optimum([0, 1], [1, 2]), "log2_lrs")
    _refused(lambda: fit_optimum(["a", "b", "c"], [1, 2, 3]), "log2_lrs")
    _refused(lambda: fit_optimum([0, 1, 2], [1, 2]), "losses")
    flat = fit_optimum([0, 1, 2, 3], [1.0, 1.0, 1.0, 1.0])      # a flat curve: a grid point, no LinAlgError
    assert flat.log2_lr in (0.0, 1.0, 2.0, 3.0)


@pytest.mark.timeout(60)
def test_lr_sweep_refuses_non_integer_grids_and_sorts_lrs():
    kw = dict(widths=[8], seeds=[0], steps=1, batch_size=8, progress=False)
    _refused(lambda: lr_sweep("teacher", {"d": DepthMuP()}, [2], [-6.0, -5.0, -4.0], **{**kw, "seeds": [0.5, 0.7]}),
             "seeds")
    _refused(lambda: lr_sweep("teacher", {"d": DepthMuP()}, [2], [-6.0, -5.0, -4.0], block_layers=1.5, **kw),
             "block_layers")
    _refused(lambda: lr_sweep("teacher", {"d": DepthMuP()}, [2.0], [-6.0, -5.0, -4.0], **kw), "depths")
    _refused(lambda: lr_sweep("teacher", {"d": DepthMuP()}, [2], [-6.0, math.nan, -4.0], **kw), "log2_lrs")
    _refused(lambda: lr_sweep("teacher", {"d": DepthMuP()}, [2], [-6.0, -6.0, -4.0], **kw), "log2_lrs")
    _refused(lambda: lr_sweep("teacher", {"d": DepthMuP()}, [2], [-6.0, -5.0, -4.0], executor=5, **kw), "executor")
    res = lr_sweep("teacher", {"d": DepthMuP()}, [2], [-4.0, -6.0, -5.0], executor="local", **kw)
    assert res.log2_lrs == [-6.0, -5.0, -4.0]


@pytest.mark.timeout(30)
def test_sweep_result_messages_name_what_is_missing():
    res = LRSweepResult(["dmp"], [8], [2], [-6.0, -5.0, -4.0], [0], np.ones((1, 1, 1, 3, 1)))
    _refused(lambda: res.optimum("dmp", 3), "depth")
    _refused(lambda: res.optimum("nope", 2), "scheme")
    _refused(lambda: res.drift("dmp"), "depths")


@pytest.mark.timeout(30)
def test_exponents_and_multipliers_are_validated():
    for kw in ({"alpha": 1000}, {"alpha": -1000}, {"gamma": 1000}, {"alpha": math.nan}, {"output_mult": 0},
               {"output_mult": -1.0}, {"branch_mult": math.inf}, {"alpha": "1"}):
        _refused(lambda: DepthMuP(**kw), next(iter(kw)))
    _refused(lambda: DepthMuPCorrected(beta=20), "beta")
    _refused(lambda: DepthMuPCorrected(layers="all"), "layers")
    _refused(lambda: SP().table(8, 4, base_width=0), "base_width")
    _refused(lambda: ResidualMLP(4, 8, 2, 1, dtype=torch.int64), "dtype")
    _refused(lambda: ResidualMLP(4, 8, 2, 1, seed="a"), "seed")
    _refused(lambda: ResidualMLP(4, 8, 2, 1, seed=-1), "seed")


@pytest.mark.timeout(30)
def test_train_refuses_mismatched_models_and_bad_thresholds(tiny_task):
    _refused(lambda: train(ResidualMLP(5, 8, 2, 1), tiny_task, lr=0.01, steps=1), "stem")
    _refused(lambda: train(ResidualMLP(4, 8, 2, 3), tiny_task, lr=0.01, steps=1), "readout")
    for bad in (-1, 0, 0.5, math.nan, "x"):
        _refused(lambda: train(_net(), tiny_task, lr=0.01, steps=1, diverge_factor=bad), "diverge_factor")
    _refused(lambda: train(_net(), "teacher", lr=0.01, steps=1), "task")


@pytest.mark.timeout(30)
def test_coord_check_refuses_bad_arguments_and_reports_non_finite_runs(tiny_task):
    build = {(8, 2): lambda: _net()}
    _refused(lambda: coord_check(build, "teacher", lr=0.1), "task")
    _refused(lambda: coord_check({8: lambda: _net()}, tiny_task, lr=0.1), "models")
    _refused(lambda: coord_check(build, tiny_task, lr=math.nan), "lr")
    cc = coord_check(build, tiny_task, lr=1e30, optimizer="sgd", progress=False)
    assert cc.statuses[(8, 2)] == "non_finite" and cc.statuses[(8, 2)] in STATUSES
    assert all(math.isfinite(r["value"]) for r in cc.records)


@pytest.mark.timeout(30)
def test_param_groups_refuses_bad_weight_decay_and_lr():
    model = _net(scheme=MuP())
    for bad in (math.nan, -1.0, math.inf, "0"):
        _refused(lambda: param_groups(model, 0.1, weight_decay=bad), "weight_decay")
    _refused(lambda: param_groups(model, 0.0), "lr")


# ------------------------------------------------------------------------------------- generated inputs


@pytest.mark.timeout(60)
@FUZZ
@given(st.sampled_from(BAD_SCALARS), st.sampled_from(["width", "depth", "block_layers", "base_width", "base_depth",
                                                      "in_dim", "out_dim"]))
def test_model_integers(bad, name):
    kw = dict(in_dim=4, width=8, depth=2, out_dim=1)
    kw[name] = bad
    _refused(lambda: ResidualMLP(kw.pop("in_dim"), kw.pop("width"), kw.pop("depth"), kw.pop("out_dim"), **kw), name)


@pytest.mark.timeout(60)
@FUZZ
@given(bad=st.sampled_from(BAD_SCALARS), name=st.sampled_from(["lr", "steps", "batch_size"]))
def test_train_scalars(bad, name, tiny_task):
    kw = dict(lr=0.01, steps=1, batch_size=8)
    kw[name] = bad
    if name == "lr" and bad == 1e300:
        res = train(_net(), tiny_task, optimizer="sgd", **kw)            # huge but valid: a documented status
        assert res.status in ("diverged", "non_finite") and res.final_loss == math.inf
        return
    if name in ("steps",) and bad == 0:
        assert train(_net(), tiny_task, **kw).status == "completed"
        return
    _refused(lambda: train(_net(), tiny_task, **kw), name)


@pytest.mark.timeout(60)
@FUZZ
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=3, max_size=8))
def test_fit_optimum_on_any_losses(losses):
    x = np.arange(len(losses), dtype=float)[::-1]
    arr = np.asarray(losses, float)
    if not np.isfinite(arr).any():
        _refused(lambda: fit_optimum(x, losses), "diverged")
        return
    opt = fit_optimum(x, losses)
    assert x.min() <= opt.log2_lr <= x.max()
    finite = arr[np.isfinite(arr)]
    assert opt.loss <= finite.max() + 1e-6 * (1 + abs(finite.max())) or math.isclose(opt.loss, finite.min())


@pytest.mark.timeout(60)
@FUZZ
@given(st.sampled_from(BAD_SCALARS), st.sampled_from(["beta", "alpha", "gamma", "branch_mult", "output_mult"]))
def test_scheme_numbers(bad, name):
    if bad in (0, -1, -2.5) and name in ("beta", "alpha", "gamma"):
        assert getattr(DepthMuPCorrected(**{name: bad}), name) == bad            # valid exponents
        return
    _refused(lambda: DepthMuPCorrected(**{name: bad}), name)
