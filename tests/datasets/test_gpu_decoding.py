"""GPU decoding's device choice, worker bound and error handling, shown on the CPU with a stand-in decoder:
each process decodes on its own GPU, and a failing GPU ends the run instead of counting as bad videos."""

import os

import pytest
import torch
from conftest import GOLDEN_DIR, REPO

from slowfast.benchmark.compliance import check_compliance, load_official_config
from slowfast.config import load_config
from slowfast.config.checks import ConfigError, configured_processes
from slowfast.datasets import decoder
from slowfast.datasets import torchcodec_reader as tcr
from slowfast.datasets.loader import loader_workers
from slowfast.datasets.video_reader import DeviceDecodeError, VideoDecodeError

VIDEO = os.path.join(GOLDEN_DIR, "videos", "val_c00_0.mp4")
CLIP = dict(num_frames=4, sampling_rate=2, target_fps=30, choose_start=lambda n, span: 0.0)


def _fake_decoder(opened, error=None):
    class FakeDecoder:
        def __init__(self, path, *, device, **kwargs):
            opened.append(device)
            if error is not None:
                raise error

        def __len__(self):
            return 10

    return FakeDecoder


@pytest.mark.parametrize(("local_rank", "visible", "expected"), [("3", 4, "cuda:3"), ("3", 1, "cuda:0")])
def test_each_process_decodes_on_its_own_gpu(monkeypatch, local_rank, visible, expected):
    opened = []
    monkeypatch.setenv("LOCAL_RANK", local_rank)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: visible)
    monkeypatch.setattr(tcr, "_video_decoder_class", lambda: _fake_decoder(opened))
    tcr.TorchCodecReader(VIDEO, device="cuda").close()
    assert opened == [expected]
    tcr.TorchCodecReader(VIDEO, device="cpu").close()
    assert opened[-1] == "cpu"


@pytest.mark.parametrize(("device", "raised"), [("cuda", DeviceDecodeError), ("cpu", VideoDecodeError)])
def test_a_cuda_error_opening_a_video_ends_the_run_on_the_gpu_only(monkeypatch, device, raised):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    error = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")
    monkeypatch.setattr(tcr, "_video_decoder_class", lambda: _fake_decoder([], error))
    with pytest.raises(raised, match="out of memory"):
        tcr.TorchCodecReader(VIDEO, device=device)


class FailingReader:
    """A reader whose decoding raises ``error`` (as NVDEC would mid-clip)."""

    def __init__(self, error):
        self.error = error

    @property
    def header(self):
        raise self.error

    fps = 30.0

    def close(self):
        pass


@pytest.mark.parametrize(
    ("error", "device", "raised"),
    [
        (torch.AcceleratorError("CUDA error: an illegal memory access was encountered"), "cuda", DeviceDecodeError),
        (torch.OutOfMemoryError("CUDA out of memory"), "cuda:3", DeviceDecodeError),
        (torch.cuda.CudaError(2), "cuda", DeviceDecodeError),  # the CUDA runtime API's cudaErrorMemoryAllocation
        # torchcodec's checks, NVDEC's included, raise plain RuntimeErrors: the file, whatever the words say.
        (RuntimeError("NVDEC: cuvidDecodePicture failed"), "cuda", VideoDecodeError),
        (RuntimeError("Invalid data found when processing input"), "cuda", VideoDecodeError),
        (RuntimeError("cannot open /data/cuda_out_of_memory_demo.mp4"), "cuda", VideoDecodeError),
        (torch.AcceleratorError("CUDA error: an illegal memory access was encountered"), "cpu", VideoDecodeError),
    ],
)
def test_decode_errors_on_the_gpu_are_device_failures_by_type_not_words(monkeypatch, error, device, raised):
    monkeypatch.setattr(decoder, "open_reader", lambda *args: FailingReader(error))
    with pytest.raises(raised):
        decoder.decode_clip(VIDEO, **CLIP, backend="torchcodec", device=device)


@pytest.mark.parametrize(("cap", "expected"), [(None, 8), ("4", 4), ("64", 32)])
def test_gpu_decoding_bounds_the_workers_per_loader_by_its_config_key(cap, expected):
    many = ["DATA_LOADER.NUM_WORKERS", "32"]
    gpu = ["DATA.DECODING_BACKEND", "torchcodec", "DATA.DECODING_DEVICE", "cuda"]
    capped = [] if cap is None else ["DATA_LOADER.MAX_CUDA_DECODE_WORKERS", cap]
    assert loader_workers(load_config(None, many + gpu + capped)) == expected  # the default is documented as 8
    assert loader_workers(load_config(None, many + capped)) == 32  # decoding on the CPU: no cap


def test_the_decode_worker_cap_is_a_resource_key_and_at_least_one():
    official = load_official_config(os.path.join(REPO, "configs", "X3D_M.yaml"))
    run = official.clone()
    run.defrost()
    run.merge_from_list(["DATA_LOADER.MAX_CUDA_DECODE_WORKERS", 2])
    verdict = check_compliance(run, official, configured_processes(official))
    assert verdict.division == "closed"
    assert [change.key for change in verdict.allowed] == ["DATA_LOADER.MAX_CUDA_DECODE_WORKERS"]
    with pytest.raises(ConfigError, match="DATA_LOADER.MAX_CUDA_DECODE_WORKERS"):
        load_config(None, ["DATA_LOADER.MAX_CUDA_DECODE_WORKERS", "0"])
