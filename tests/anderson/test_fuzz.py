"""Bad input for every public function of stablelearn.anderson (issue 14): a ValueError or TypeError
that names the argument, or a documented status; never another exception, never a hang, never a
silent wrong number."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from tests.contract import returns_or_refused
from stablelearn.anderson import (STATUSES, Accelerator, Box, ElasticNet, L1, SquaredL2, estimate_L, gd_map,
                                  high_resolution_coefficients, prox_grad_map, solve)
from stablelearn.anderson import problems as P

SCALARS = st.sampled_from([np.nan, np.inf, -np.inf, 0, 0.0, -1, -1.5, 1e308, -1e308, 1e-320, np.float64(2.0),
                           np.int64(3), np.float32(0.5), "a", True, 1 + 2j, None, [1.0], 2.5, 7])
ARRAYS = st.sampled_from([
    np.array([1.0, np.nan, 0.0]), np.array([np.inf, 0.0, 1.0]), np.array([]), np.zeros((2, 2)),
    np.array([1 + 1j, 0, 0]), np.array(["a", "b", "c"]), np.array([None, 1, 2], dtype=object),
    np.array([1, 2, 3]), np.array([1e300, -1e300, 1e300]), np.float64(3.0), [1.0, 2.0, 3.0],
    np.array([True, False, True]), torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1, 2, 3]),
])
FUZZ = settings(max_examples=25, deadline=None, derandomize=True)


def _contract(fn, name, allowed_statuses=STATUSES):
    """Call fn(); it returns, or raises ValueError/TypeError naming ``name``."""
    out = returns_or_refused(fn, name)
    if hasattr(out, "status"):
        assert out.status in allowed_statuses
        assert np.all(np.isfinite(np.asarray(out.x, dtype=float)))
    return out


def _quad(x):
    return x - 1.0


@pytest.mark.timeout(60)
@FUZZ
@given(name=st.sampled_from(["L", "h", "m", "reg", "tol", "max_iter", "a", "beta_max", "growth", "sigma",
                             "relaxation", "restart_on_reject", "preset", "governor", "guard_ref", "energy", "cooldown",
                             "on_reject", "stall_window", "stall_factor", "stall_steps", "method", "progress",
                             "record_F"]), value=SCALARS)
def test_solve_scalar_arguments(name, value):
    kw = {"grad": _quad, "F": lambda x: 0.5 * float((x - 1) @ (x - 1)), "L": 1.0, "max_iter": 50}
    if name in ("a",):
        kw["governor"] = "dissipative"
    if name == "sigma":
        kw["guard_ref"] = "monotone"
    if name in ("L", "h"):
        kw.pop("L")
    kw[name] = value
    _contract(lambda: solve(np.zeros(3), **kw), name)


@pytest.mark.timeout(60)
@FUZZ
@given(x0=ARRAYS, method=st.sampled_from(["egaa", "aa", "gd", "fista_restart", "aa1_safe"]))
def test_solve_array_argument(x0, method):
    _contract(lambda: solve(x0, grad=lambda x: x - 1.0, F=lambda x: 0.5 * float(((x - 1) ** 2).sum()), L=1.0,
                            method=method, max_iter=50), "x0")


@pytest.mark.timeout(60)
@FUZZ
@given(value=SCALARS, name=st.sampled_from(["m", "reg", "governor", "a", "beta_max", "growth", "guard_ref",
                                            "sigma", "restart_on_reject", "relaxation", "h", "smooth",
                                            "cooldown", "on_reject", "stall_window", "stall_factor",
                                            "stall_steps"]))
def test_accelerator_arguments(name, value):
    _contract(lambda: Accelerator(**{name: value}), name)


@pytest.mark.timeout(60)
@FUZZ
@given(bad=ARRAYS, which=st.sampled_from(["x", "Tx"]))
def test_accelerator_step_arrays(bad, which):
    acc = Accelerator(3, governor="none")
    acc.step(np.zeros(3), np.ones(3))
    args = {"x": np.ones(3), "Tx": np.full(3, 1.5)}
    args[which] = bad
    _contract(lambda: acc.step(args["x"], args["Tx"]), "x")  # messages name "x" or "Tx"


@pytest.mark.timeout(60)
@FUZZ
@given(value=SCALARS, which=st.sampled_from(["L1", "SquaredL2", "ElasticNet", "Box_lower", "Box_upper"]))
def test_prox_parameters(value, which):
    build = {"L1": lambda v: L1(v), "SquaredL2": lambda v: SquaredL2(v), "ElasticNet": lambda v: ElasticNet(v, 0.1),
             "Box_lower": lambda v: Box(lower=v, upper=None), "Box_upper": lambda v: Box(lower=None, upper=v)}[which]
    name = {"L1": "lam", "SquaredL2": "lam", "ElasticNet": "l1", "Box_lower": "lower", "Box_upper": "upper"}[which]
    out = _contract(lambda: build(value), name)
    if out is not None:
        assert np.all(np.isfinite(out(np.array([0.5, -2.0, 3.0]), 0.1)))


@pytest.mark.timeout(60)
@FUZZ
@given(value=SCALARS, name=st.sampled_from(["h", "n_iter", "rtol", "seed"]))
def test_maps_and_estimate_L(value, name):
    if name == "h":
        _contract(lambda: gd_map(_quad, value), "h")
        _contract(lambda: prox_grad_map(_quad, L1(0.1), value), "h")
        _contract(lambda: high_resolution_coefficients(np.zeros(2), value), "h")
    else:
        _contract(lambda: estimate_L(lambda v: 2.0 * v, np.ones(4), **{name: value}), name)


@pytest.mark.timeout(60)
@FUZZ
@given(value=SCALARS, name=st.sampled_from(["n", "kappa", "seed"]))
def test_problem_constructors(value, name):
    kw = {"n": 10, "kappa": 10.0, "seed": 0}
    kw[name] = value
    _contract(lambda: P.quadratic(**kw), name)


@pytest.mark.timeout(60)
def test_findings_of_the_bad_input_review():
    # an overflowing residual is never "converged" (the norm scales; an infinite norm is non_finite)
    for method in ("gd", "aa", "egaa"):
        r = solve(np.zeros(3), T=lambda x: x + 1e160, method=method, max_iter=20)
        assert r.status == "max_iter" and r.history.residual[0] == pytest.approx(np.sqrt(3) * 1e160)
    r = solve(torch.zeros(3, dtype=torch.float64), T=lambda x: 0.5 * x + 1e308, method="aa", max_iter=20)
    assert r.status == "non_finite" and isinstance(r.x, torch.Tensor)
    # complex x0 is refused, not silently truncated
    with pytest.raises(TypeError, match="x0"):
        solve(np.array([1 + 1j, 0, 0]), grad=_quad, L=1.0)
    # T or grad changing shape mid-run names the function
    calls = {"n": 0}

    def shifty(x):
        calls["n"] += 1
        return x + 1.0 if calls["n"] < 4 else np.zeros(7)

    with pytest.raises(ValueError, match="T must return"):
        solve(np.ones(5), T=shifty, method="aa", max_iter=20)
    calls["n"] = 0

    def shifty_grad(x):  # grad = 1: T(x) = x - 1 never converges
        calls["n"] += 1
        return np.ones_like(x) if calls["n"] < 4 else np.ones(7)

    with pytest.raises(ValueError, match="grad must return"):
        solve(np.ones(5), grad=shifty_grad, L=1.0, method="gd", max_iter=20)
    # a T that changes the backend is refused; x keeps x0's backend
    with pytest.raises(TypeError, match="T must return"):
        solve(np.ones(3), T=lambda x: torch.as_tensor(0.5 * x), method="aa")
    # NaN in Accelerator.step: a ValueError, not a LinAlgError
    acc = Accelerator(3, governor="none")
    acc.step(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="Tx must be finite"):
        acc.step(np.ones(3), np.array([np.nan, 1.0, 1.0]))
    # estimate_L with a matvec that returns a list
    with pytest.raises(TypeError, match="matvec"):
        estimate_L(lambda v: list(v), np.ones(3))
    # m far larger than n is clipped to n (no m x m allocation)
    r = solve(np.zeros(4), grad=_quad, L=1.0, method="aa", m=10**7, max_iter=20)
    assert r.status == "converged" and r.info["options"]["m"] == 4
    # an estimated L that is not positive: the message says it was estimated
    with pytest.raises(ValueError, match="could not estimate L"):
        solve(np.zeros(3), grad=lambda x: np.ones(3))
    # F that returns an array
    with pytest.raises(TypeError, match="F must return"):
        solve(np.zeros(3), grad=_quad, F=lambda x: x, L=1.0)
