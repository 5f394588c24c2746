import pytest

from stablelearn._conventions import limit_threads


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny matmuls run faster single-threaded on the shared 2-core CI box."""
    with limit_threads(1):
        yield
