"""What the run ran on: versions, accelerators and CPU, logged at start-up and used as the MLPerf platform."""

import importlib.metadata
import os
import platform

import av
import psutil
import torch


def _package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment_info():
    """Return a dict of library versions and hardware facts of this machine."""
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "pyav": av.__version__,
        "torchcodec": _package_version("torchcodec"),  # DATA.DECODING_BACKEND torchcodec (optional extra)
        "cpu_count": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
    }
    return info


def platform_name(info, num_gpus):
    """Short platform string for the log, e.g. "4xNVIDIA TITAN RTX" or "cpu (2 cores)"."""
    if num_gpus > 0 and info["gpus"]:
        return f"{num_gpus}x{info['gpus'][0]}"
    return f"cpu ({info['cpu_count']} cores)"
