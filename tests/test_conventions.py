"""The shared conventions module and the shared residual block."""

import numpy as np
import pytest
import torch
from torch import nn

from stablelearn import _conventions as cv
from stablelearn.nn import ResidualBlock, is_residual_block, residual_blocks


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_check_int_accepts_numpy_integers(value):
    out = cv.check_int(value, "depth", low=1)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [True, 3.0, "3", None, np.float64(3)])
def test_check_int_rejects_other_types_naming_the_argument(value):
    with pytest.raises(TypeError, match="depth must be an integer"):
        cv.check_int(value, "depth")


def test_check_int_range_message():
    with pytest.raises(ValueError, match=r"depth must be an integer >= 1, got np.int64\(0\)|depth must be an integer >= 1, got 0"):
        cv.check_int(np.int64(0), "depth", low=1)
    with pytest.raises(ValueError, match="> 0 and <= 5"):
        cv.check_int(6, "k", low=0, high=5, low_inclusive=False)


@pytest.mark.parametrize("value", [0.5, np.float32(0.5), np.float64(0.5), 1, np.int64(1)])
def test_check_float_accepts_numpy_reals(value):
    assert type(cv.check_float(value, "lr", low=0, low_inclusive=False)) is float


@pytest.mark.parametrize("value,exc", [(np.nan, ValueError), (np.inf, ValueError), (-1.0, ValueError),
                                       ("a", TypeError), (True, TypeError), (1j, TypeError)])
def test_check_float_rejects(value, exc):
    with pytest.raises(exc, match="lr must be"):
        cv.check_float(value, "lr", low=0)


def test_check_float_infinite_allowed_when_asked():
    assert cv.check_float(np.inf, "tol", finite=False) == np.inf


def test_check_choice_and_bool():
    assert cv.check_choice("sgd", "optimizer", ("sgd", "adam")) == "sgd"
    with pytest.raises(ValueError, match=r"optimizer must be one of \('sgd', 'adam'\), got 'x'"):
        cv.check_choice("x", "optimizer", ("sgd", "adam"))
    with pytest.raises(TypeError, match="optimizer must be one of"):
        cv.check_choice(3, "optimizer", ("sgd", "adam"))
    assert cv.check_bool(np.bool_(True), "flag") is True
    with pytest.raises(TypeError, match="flag must be True or False"):
        cv.check_bool(1, "flag")


def test_check_array():
    a = cv.check_array([[1, 2]], "X", ndim=2)
    assert a.dtype == np.float64 and a.shape == (1, 2)
    with pytest.raises(ValueError, match="X must have 2 dimension"):
        cv.check_array([1, 2], "X", ndim=2)
    with pytest.raises(ValueError, match="X must be finite"):
        cv.check_array([np.nan], "X")
    with pytest.raises(ValueError, match="at least 1 entries"):
        cv.check_array(np.zeros((0, 3)), "X")
    with pytest.raises(TypeError, match="X must be an array of real numbers"):
        cv.check_array(["a"], "X")


def test_randomness_leaves_global_state_alone():
    np_state = np.random.get_state()[1].copy()
    torch_state = torch.get_rng_state().clone()
    a = cv.as_rng(5).normal(size=3)
    b = cv.as_rng(np.int64(5)).normal(size=3)
    assert np.array_equal(a, b)
    g = cv.torch_generator(7)
    assert torch.equal(torch.rand(3, generator=g), torch.rand(3, generator=cv.torch_generator(7)))
    with cv.torch_seeded(3):
        w1 = nn.Linear(2, 2).weight.detach().clone()
    with cv.torch_seeded(np.int64(3)):
        w2 = nn.Linear(2, 2).weight.detach().clone()
    assert torch.equal(w1, w2)
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)
    gen = np.random.default_rng(0)
    assert cv.as_rng(gen) is gen
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        cv.as_rng(-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        cv.as_rng("abc")


def test_spawn_seeds_are_distinct_and_reproducible():
    s = cv.spawn_seeds(0, 5)
    assert len(set(s)) == 5 and s == cv.spawn_seeds(0, 5)
    assert not set(s) & set(cv.spawn_seeds(1, 5))


def test_limit_threads_restores():
    before = torch.get_num_threads()
    with cv.limit_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with cv.limit_threads(1):
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before


def test_progress_rule():
    assert cv.progress_disabled(None) is None
    assert cv.progress_disabled(True) is False and cv.progress_disabled(False) is True
    with pytest.raises(TypeError, match="progress must be True or False"):
        cv.progress_disabled("yes")


def test_statuses_vocabulary():
    assert cv.check_statuses(("converged", "max_iter"), "x") == ("converged", "max_iter")
    with pytest.raises(ValueError, match="not in the shared vocabulary"):
        cv.check_statuses(("budget exhausted",), "x")


def test_residual_block_protocol():
    block = ResidualBlock(nn.Linear(3, 3), branch_multiplier=np.float64(0.5))
    x = torch.randn(4, 3)
    assert torch.allclose(block(x), x + 0.5 * block.branch(x))
    assert block.h == 0.5 and is_residual_block(block)
    model = nn.Sequential(nn.Linear(2, 3), block, ResidualBlock(nn.Tanh()), nn.Linear(3, 1))
    assert [n for n, _ in residual_blocks(model)] == ["1", "2"]
    with pytest.raises(ValueError, match="branch_multiplier must be a number >= 0"):
        ResidualBlock(nn.Linear(3, 3), -1.0)
    with pytest.raises(TypeError, match="branch must be an nn.Module"):
        ResidualBlock(lambda x: x)


def test_check_array_ragged_names_the_argument():
    with pytest.raises(ValueError, match="X must be an array of real numbers"):
        cv.check_array([[1, 2], [3]], "X")
