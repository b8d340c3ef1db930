"""Model tests run single-threaded: on a small, busy machine OpenMP threads contending with
other processes can make small convolutions (and backward passes) many times slower."""
import pytest
import torch


@pytest.fixture(autouse=True, scope='module')
def _single_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
