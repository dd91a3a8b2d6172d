"""Device tests: every test takes ``device``, run on the CPU (where meaningful) and on CUDA when it exists.

Run them with ``pytest -m gpu`` (every module here sets ``pytestmark = pytest.mark.gpu``); on a machine
without CUDA the CUDA cases are skipped with the reason printed (``-rs``). Run them before a scored run on a
GPU machine.
"""

import pytest
import torch

NO_CUDA = "CUDA is not available on this machine"


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """torch.device for each test; the CUDA case is skipped (with its reason) when there is no GPU."""
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip(NO_CUDA)
    return torch.device(request.param)
