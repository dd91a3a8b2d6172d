"""Device tests: every test takes ``device``, run on the CPU (where meaningful) and on CUDA when it exists.

Run them with ``pytest -m gpu`` (all of tests/gpu carries the marker); on a machine without CUDA the CUDA
cases are skipped with the reason printed (``-rs``). Run them before a scored run on a GPU machine.
"""

import os

import pytest
import torch

NO_CUDA = "CUDA is not available on this machine"


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.gpu)


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """torch.device for each test; the CUDA case is skipped (with its reason) when there is no GPU."""
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip(NO_CUDA)
    return torch.device(request.param)
