import pytest

from stablelearn.rbno import HeatConduction
from stablelearn.rbno.pod import pod
from stablelearn.rbno.reduced import ReducedFOSLS


@pytest.fixture(scope="session")
def heat16():
    return HeatConduction(16)


@pytest.fixture(scope="session")
def heat_rb(heat16):
    """POD basis (r = 10) from 30 snapshots of the 16x16 heat-conduction problem."""
    mu = heat16.sample(30, seed=0)
    X = heat16.solve_many(mu, progress=False)
    basis = pod(X - heat16.lift, heat16.product(), 10)
    return X - heat16.lift, basis, ReducedFOSLS(heat16, basis)
