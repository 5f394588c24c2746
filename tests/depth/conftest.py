import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny matmuls run faster single-threaded on the shared 2-core CI box."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
