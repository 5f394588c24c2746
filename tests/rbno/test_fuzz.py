"""Bad input at rbno's public boundary (issue 14; the rbno findings of the bad-input review).

The contract: a ValueError or TypeError whose message names the argument, or a documented status; never
another exception type, never a hang, never a silent wrong number.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract import refused as _refused
from stablelearn.rbno import (RBNO, STATUSES, DarcyFlow, Elasticity, HeatConduction, PCANet, ReducedFOSLS, matern_kl, pod,
                              rectangle_mesh, relative_error)

FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

BAD_SCALARS = [math.nan, math.inf, -math.inf, 0, -1, -2.5, 1e300, "3", None, [1], np.float64(math.nan), 2.5, True]




@pytest.fixture(scope="module")
def darcy4():
    return DarcyFlow(n=4, modes=4)


# ---------------------------------------------------------------------------- the review's findings, one by one


@pytest.mark.timeout(60)
def test_reduced_chunk_is_validated_and_does_not_change_the_system(heat16, heat_rb):
    basis = heat_rb[1]
    for bad in (-1, 0, 2.5, "4", True):
        _refused(lambda: ReducedFOSLS(heat16, basis, chunk=bad), "chunk")
    mu = heat16.sample(2, seed=0)
    A1 = ReducedFOSLS(heat16, basis, chunk=1000).system(mu).A
    assert torch.allclose(A1, heat_rb[2].system(mu).A, rtol=1e-12, atol=1e-12)


@pytest.mark.timeout(60)
def test_extreme_kl_parameters_are_outside_the_admissible_range(darcy4):
    el = Elasticity(nx=4, ny=2, modes=4)
    for P in (darcy4, el):
        _refused(lambda: P.solve(np.full(4, 1e3)), "mu")
        _refused(lambda: P.check_mu(np.full(4, -1e3)), "mu")
        P.solve(P.sample(1, seed=0)[0])  # ordinary draws stay admissible
    for kw in ({"delta": math.nan}, {"gamma": math.inf}, {"delta": 0.0}, {"gamma": -1.0}, {"delta": "a"}):
        _refused(lambda: DarcyFlow(n=4, modes=4, **kw), next(iter(kw)))
    _refused(lambda: DarcyFlow(n=4, modes=4, width="a"), "width")


@pytest.mark.timeout(60)
def test_rbno_construction_and_fit_refusals(heat16, heat_rb):
    red = heat_rb[2]
    _refused(lambda: RBNO("x"), "reduced")
    _refused(lambda: RBNO(red, device="bogus"), "device")
    _refused(lambda: RBNO(red, hidden=()), "hidden")
    _refused(lambda: RBNO(red, hidden=(0,)), "hidden")
    _refused(lambda: RBNO(red, dtype=torch.int64), "dtype")
    net = RBNO(red, hidden=(np.int64(8),), seed=np.int64(3))  # NumPy integers are integers
    _refused(lambda: net.fit(np.zeros((0, 16))), "mu")
    both = RBNO(red, loss="both", hidden=(8,))
    _refused(lambda: both.fit(heat16.sample(4), labelled=np.zeros((0, 16)), steps=1), "labelled")
    assert net.fit(heat16.sample(8), steps=np.int64(3), progress=False).n_iter == 3
    _refused(lambda: net.load_state_dict({}), "state")
    _refused(lambda: net.load_state_dict({"net": {}, "c_mean": torch.zeros(3), "c_scale": torch.ones(3)}), "c_mean")
    _refused(lambda: net.load_state_dict(RBNO(red, hidden=(9,)).state_dict()), "state['net']")
    for bad in ("pca", 1, None, math.nan):
        _refused(lambda: net.fit(heat16.sample(4), steps=1, output_map=bad), "output_map")
    for bad in ("kl", "x", [math.nan] * 16, [1.0] * 15, [0.0] * 16, np.ones((2, 16))):  # heat has no KL modes
        _refused(lambda: RBNO(red, hidden=(8,), input_scale=bad), "input_scale")
    from stablelearn.rbno import RBNOEnsemble
    for bad in (net, [], None, [net, 3]):
        _refused(lambda: RBNOEnsemble(bad), "members")


@pytest.mark.timeout(60)
def test_mesh_problem_and_sampling_refusals(heat16, heat_rb):
    for kw, name in (({"lx": 0}, "lx"), ({"lx": -1}, "lx"), ({"ly": math.nan}, "ly"), ({"nx": 0}, "nx")):
        args = {"nx": 2, "ny": 2, **kw}
        _refused(lambda: rectangle_mesh(**args), name)
    _refused(lambda: HeatConduction(n=16, intorder=-1), "intorder")
    _refused(lambda: Elasticity(nx=4, ny=2, modes=0), "modes")
    _refused(lambda: heat16.sample(2, seed=-1), "seed")
    _refused(lambda: heat16.sample(0), "n")
    _refused(lambda: heat16.solve_many(np.zeros((0, 16))), "mu")
    red = heat_rb[2]
    c = red.optimum(heat16.sample(2, seed=0))
    _refused(lambda: red.solution(c[0], heat16.sample(2, seed=0)), "mu")
    _refused(lambda: red.solution(c, heat16.sample(1, seed=0)), "c")
    _refused(lambda: red.loss(c, heat16.sample(3, seed=0)), "c")
    _refused(lambda: ReducedFOSLS(heat16, np.zeros((heat16.ndofs, 0))), "basis")
    _refused(lambda: ReducedFOSLS("p", heat_rb[1]), "problem")


@pytest.mark.timeout(60)
def test_pod_and_kl_refusals(heat16, heat_rb):
    S = heat_rb[0]
    _refused(lambda: pod(S, -heat16.product(), 1), "product")
    _refused(lambda: pod(S, heat16.product(), 0), "r")
    _refused(lambda: pod(S, heat16.product(), np.float64(2)), "r")
    assert pod(S, heat16.product(), np.int64(2)).r == 2
    _refused(lambda: pod(S[:0], heat16.product(), 1), "snapshots")
    _refused(lambda: matern_kl(np.zeros((3, 2)), 4), "points")
    _refused(lambda: matern_kl(np.zeros(5), 4), "points")
    _refused(lambda: matern_kl(np.zeros((2, 3)), 0), "modes")


# ---------------------------------------------------------------------------- property-based sweeps


ADMISSIBLE = {"steps": [], "batch_size": [], "eval_every": [], "lr": [2.5],
              "weight_decay": [0, 2.5, 1e300], "ridge": [0, 2.5, 1e300, [1]]}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("arg", sorted(ADMISSIBLE))
def test_fit_scalars(heat16, heat_rb, arg):
    """Each scalar of fit: refused with its name, or (where admissible) a run that ends with a status."""
    net = RBNO(heat_rb[2], hidden=(4,), seed=0)
    mu = heat16.sample(4, seed=0)
    for value in BAD_SCALARS:
        admissible = not isinstance(value, bool) and any(type(value) is type(v) and value == v
                                                          for v in ADMISSIBLE[arg])
        kw = {"steps": 1, arg: value} if arg != "steps" else {arg: value}
        if admissible:
            assert net.fit(mu, **kw, progress=False).status in STATUSES
        else:
            _refused(lambda: net.fit(mu, **kw, progress=False), arg)


@pytest.mark.timeout(120)
@FUZZ
@given(mu=st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=20),
    st.sampled_from(["abc", None, [[1.0] * 16] * 0, [[0.5] * 15], [[2.0] * 16], [["a"] * 16], np.zeros((2, 2, 16))])))
def test_parameters(heat16, heat_rb, mu):
    """Every entry point taking parameters refuses what is not a non-empty finite (n, 16) array in [-1, 1]."""
    arr = np.asarray(mu, dtype=object) if mu is not None else None
    good = (arr is not None and arr.ndim in (1, 2) and arr.shape[-1] == 16 and arr.size > 0
            and all(isinstance(v, float) and math.isfinite(v) and abs(v) <= 1 for v in arr.ravel()))
    red = heat_rb[2]
    for fn in (lambda: heat16.check_mu(mu), lambda: red.system(mu), lambda: red.optimum(mu)):
        if good:
            assert np.isfinite(np.asarray(fn().A if hasattr(fn(), "A") else fn())).all()
        else:
            _refused(fn, "mu")


@pytest.mark.timeout(120)
@FUZZ
@given(shape=st.sampled_from([(0,), (3,), (2, 3), (1, 10, 1)]), fill=st.sampled_from([0.0, math.nan, math.inf]))
def test_coefficients_and_fields(heat16, heat_rb, shape, fill):
    red = heat_rb[2]
    mu = heat16.sample(1, seed=0)
    _refused(lambda: red.loss(np.full(shape, fill), mu), "c")
    _refused(lambda: red.decode(np.full(shape, fill)), "c")
    _refused(lambda: heat16.fosls(np.full(shape, fill), mu[0]), "x")
    _refused(lambda: relative_error(heat16, np.full(shape, fill), np.zeros(heat16.ndofs)), "x")


@pytest.mark.timeout(60)
def test_grid_baseline_refusals(heat16):
    _refused(lambda: PCANet(heat16, output_modes=0), "output_modes")
    _refused(lambda: PCANet(heat16, inputs="pixels"), "inputs")
    model = PCANet(heat16, output_modes=2, hidden=(4,))
    mu = heat16.sample(3, seed=0)
    _refused(lambda: model.fit(mu, np.zeros((2, 3, heat16.mesh.p.shape[1]))), "values")
    _refused(lambda: model.fit(mu, np.full((3, 3, heat16.mesh.p.shape[1]), math.nan)), "values")


@pytest.mark.timeout(60)
def test_field_blocks_and_weighting_refusals(heat16, heat_rb):
    """The Darcy study options: field_blocks (int >= 0, MLP only) and fit's weighting (a choice)."""
    red = heat_rb[2]
    for bad in BAD_SCALARS:
        if isinstance(bad, bool) or (type(bad) is int and bad >= 0):
            continue
        _refused(lambda: RBNO(red, hidden=(4,), field_blocks=bad), "field_blocks")
    _refused(lambda: RBNO(red, architecture="cnn", field_blocks=np.int64(2)), "field_blocks")
    assert RBNO(red, hidden=(4,), field_blocks=np.int64(2), seed=0).net[0].in_features > 16
    net = RBNO(red, hidden=(4,), seed=0)
    for bad in ("energy", 1, None, math.nan, "TRACE"):
        _refused(lambda: net.fit(heat16.sample(4), steps=1, weighting=bad), "weighting")
