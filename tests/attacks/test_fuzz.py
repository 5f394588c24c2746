"""Bad input for every public function of stablelearn.attacks (issue 14): a ValueError or TypeError that
names the argument, or a documented status; never another exception, never a hang, never a silent wrong
number. Includes every attacks finding of the bad-input review."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.contract import returns_or_refused
from stablelearn._conventions import torch_seeded
from stablelearn.attacks import (ARSOPT, OPT, PARSOPT, STATUSES, ARSOPTSubspace, HardLabelOracle, HopSkipJump,
                                 PriorOPT, PriorSignOPT, SignOPT, ars_schedule)

SCALARS = st.sampled_from([np.nan, np.inf, -np.inf, 0, 0.0, -1, -1.5, 1e308, 10**12, np.float64(2.0), np.int64(3),
                           np.float32(0.5), "a", True, 1 + 2j, None, [1.0], 2.5, 7])
FUZZ = settings(max_examples=25, deadline=None, derandomize=True)


with torch_seeded(0):
    VICTIM = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)).double()
X = np.random.default_rng(0).uniform(0, 1, (2, 1, 8, 8))
Y = HardLabelOracle(VICTIM, budget=1).predict(X)


def _contract(fn, name, x=X):
    """Call fn(); it returns (a result with documented statuses and honest numbers), or raises
    ValueError/TypeError naming ``name``."""
    out = returns_or_refused(fn, name)
    if hasattr(out, "status"):
        assert set(out.status) <= set(STATUSES)
        ok = np.isfinite(out.distance)
        flat = (out.x_adv - np.asarray(x, dtype=float)).reshape(len(out.distance), -1)
        np.testing.assert_allclose(out.distance[ok], np.linalg.norm(flat[ok], axis=1), rtol=1e-12)
    return out


ATTACKS = {"OPT": OPT, "SignOPT": SignOPT, "HopSkipJump": HopSkipJump, "ARSOPT": ARSOPT,
           "PARSOPT": lambda **kw: PARSOPT([VICTIM], **kw), "PriorOPT": lambda **kw: PriorOPT([VICTIM], **kw),
           "PriorSignOPT": lambda **kw: PriorSignOPT([VICTIM], **kw), "ARSOPTSubspace": ARSOPTSubspace}
PARAMS = {"OPT": ["q", "alpha", "beta", "init_dirs", "beta_min", "max_iter", "line_search"],
          "SignOPT": ["q", "alpha", "beta", "beta_min", "line_search"],
          "HopSkipJump": ["gamma", "init_evals", "max_evals", "init_dirs", "max_iter"],
          "ARSOPT": ["lr", "g_max", "q", "eps", "tol_grad", "tol_step", "init_dirs", "D_max", "lookahead",
                     "subspace", "line_search", "max_iter"],
          "PARSOPT": ["q", "lr", "D_max"], "PriorOPT": ["q", "dd_tol", "g_max", "beta"],
          "PriorSignOPT": ["q", "g_max"], "ARSOPTSubspace": ["factor", "q", "subspace"]}


@pytest.mark.timeout(60)
@FUZZ
@given(cls=st.sampled_from(sorted(ATTACKS)), data=st.data(), value=SCALARS)
def test_attack_hyperparameters(cls, data, value):
    name = data.draw(st.sampled_from(PARAMS[cls]))
    kw = {"q": 10} if cls not in ("HopSkipJump",) and name != "q" else {}
    if cls == "ARSOPTSubspace" and name != "subspace":
        kw["subspace"] = (4, 4)
    kw[name] = value
    att = _contract(lambda: ATTACKS[cls](**kw), name)
    if att is not None:  # accepted: the attack must run within its budget or refuse naming the argument
        _contract(lambda: att(HardLabelOracle(VICTIM, budget=60), X, Y, progress=False), name)


@pytest.mark.timeout(60)
@FUZZ
@given(name=st.sampled_from(["budget", "clip", "batch_size", "device"]), value=SCALARS)
def test_oracle_arguments(name, value):
    o = _contract(lambda: HardLabelOracle(VICTIM, **{"budget": 30, name: value}), name)
    if o is not None:
        _contract(lambda: SignOPT(q=10, max_iter=3)(o, X, Y, progress=False), name if name != "clip" else "x")


ARRAYS = st.sampled_from([
    np.full((2, 1, 8, 8), np.nan), np.full((2, 1, 8, 8), np.inf), np.zeros((0, 1, 8, 8)), np.zeros((2, 0)),
    np.zeros(64), np.array(["a"] * 128).reshape(2, 64), np.full((2, 1, 8, 8), 1 + 1j), np.float64(1.0),
    np.full((2, 1, 8, 8), 1e300), np.ones((3, 1, 8, 8)), torch.zeros(2, 1, 8, 8), np.ones((2, 1, 8, 8), bool),
])


@pytest.mark.timeout(60)
@FUZZ
@given(name=st.sampled_from(["x", "starting_points"]), value=ARRAYS)
def test_attack_arrays(name, value):
    kw = {"x": X, "starting_points": None, name: value}
    _contract(lambda: ARSOPT(q=10)(HardLabelOracle(VICTIM, budget=60, clip=None), kw["x"], Y,
                                   starting_points=kw["starting_points"], progress=False), name, x=kw["x"])


LABELS = st.sampled_from([np.array([0, 1, 2]), np.array([0.5, 1.0]), np.array([np.nan, 1.0]), np.array(["a", "b"]),
                          np.array([[0], [1]]), np.array([True, False]), np.int64(3), None, [1, 2],
                          np.array([-5, 10**9])])


@pytest.mark.timeout(60)
@FUZZ
@given(name=st.sampled_from(["y", "target", "seed", "progress", "callback"]), value=st.one_of(LABELS, SCALARS))
def test_call_arguments(name, value):
    kw = {"y": Y, name: value}
    y = kw.pop("y")
    _contract(lambda: SignOPT(q=10)(HardLabelOracle(VICTIM, budget=40), X, y, **kw), name)


@pytest.mark.timeout(30)
@FUZZ
@given(name=st.sampled_from(["d", "q", "lr", "s", "D_hat", "gamma"]), value=SCALARS)
def test_ars_schedule(name, value):
    kw = {"d": 1024, "q": 100, "lr": 2.0, "s": 1, "D_hat": 0.1, name: value}
    out = _contract(lambda: ars_schedule(**kw), name)
    if out is not None:
        zeta, alpha, gamma = out
        assert np.isfinite(zeta) and 0 < alpha < 1 and gamma > 0


# ----------------------------------------------------------------------------- the review's findings, one each

def test_labels_of_any_integer_including_minus_one():
    """A {-1, +1} classifier (scikit-learn style) is attacked like any other; -1 is a label, not a sentinel."""
    w = np.random.default_rng(1).standard_normal(64)

    def clf(a):
        return np.where(a.reshape(len(a), -1) @ w > 0, 1, -1)

    x = np.random.default_rng(2).uniform(0, 1, (2, 1, 8, 8))
    y = clf(x)
    res = SignOPT(q=10)(HardLabelOracle(clf, budget=300, clip=None), x, y, progress=False)
    assert res.success.all() and res.status == ["budget_exhausted"] * 2
    assert np.all(clf(res.x_adv) != y)


@pytest.mark.parametrize("call, name", [
    (lambda: HardLabelOracle(VICTIM, budget=10).query({0: X[0].reshape(1, -1)}), "start"),
    (lambda: HardLabelOracle(VICTIM, budget=10).remaining(0), "start"),
])
def test_oracle_before_start(call, name):
    with pytest.raises(RuntimeError, match=name):
        call()


@pytest.mark.parametrize("make, exc, name", [
    (lambda: PriorOPT([VICTIM], q=1), ValueError, "q"),
    (lambda: ars_schedule(10, 5, 0.0), ValueError, "lr"),
    (lambda: ars_schedule(2, 5, 1.0, s=2), ValueError, "d"),
    (lambda: ars_schedule(1024, 0, 1.0), ValueError, "q"),
    (lambda: HardLabelOracle(VICTIM, budget=10, device="bogus"), ValueError, "device"),
    (lambda: HardLabelOracle(VICTIM, budget=10, clip="ab"), TypeError, "clip"),
    (lambda: HardLabelOracle(VICTIM, budget=10, clip=5), TypeError, "clip"),
    (lambda: ARSOPT(D_max="a"), TypeError, "D_max"),
    (lambda: ARSOPT(subspace=5), TypeError, "subspace"),
    (lambda: PARSOPT(torch.nn.Linear(64, 10)), TypeError, "surrogates"),
    (lambda: SignOPT(q=10, line_search="fast"), ValueError, "line_search"),
])
def test_refused_at_construction(make, exc, name):
    with pytest.raises(exc, match=name):
        make()


def test_as_module_sample_out_of_range():
    o = HardLabelOracle(VICTIM, budget=10)
    o.start(X, Y)
    with pytest.raises(ValueError, match="sample"):
        o.as_module(99, 10)


def test_empty_x_and_string_model():
    with pytest.raises(ValueError, match="x"):
        ARSOPT(q=10)(HardLabelOracle(VICTIM, budget=10), np.zeros((0, 1, 8, 8)), np.zeros(0, int), progress=False)
    with pytest.raises(TypeError, match="model"):
        ARSOPT(q=10)(HardLabelOracle(lambda a: np.array(["cat"] * len(a)), budget=10), X, Y, progress=False)


@pytest.mark.parametrize("make", [lambda: ARSOPT(), lambda: PARSOPT([VICTIM]), lambda: PriorOPT([VICTIM]),
                                  lambda: PriorSignOPT([VICTIM]), lambda: ARSOPTSubspace(q=20)])
def test_q_larger_than_the_input_is_refused_before_any_query(make):
    calls = []

    def model(a):
        calls.append(len(a))
        return VICTIM(torch.tensor(a)).detach().numpy()

    with pytest.raises(ValueError, match="q"):
        make()(HardLabelOracle(model, budget=100), X, Y, progress=False)
    assert calls == []
