"""What the run ran on: versions, accelerators and CPU, logged at start-up and used as the MLPerf platform."""

import importlib.metadata
import os
import platform
import shutil
import subprocess

import av
import psutil
import torch


def _package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_model():
    """The CPU's model name (Linux /proc/cpuinfo, else ``platform.processor()``); None if unknown."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _nccl_version():
    if not (torch.cuda.is_available() and hasattr(torch.cuda, "nccl")):
        return None
    try:
        return ".".join(str(part) for part in torch.cuda.nccl.version())
    except (RuntimeError, AttributeError):
        return None


def library_versions():
    """torch, CUDA, cuDNN, NCCL, PyAV and torchcodec versions (None where not built in or not installed)."""
    return {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "nccl": _nccl_version(),
        "pyav": av.__version__,
        "torchcodec": _package_version("torchcodec"),  # DATA.DECODING_BACKEND torchcodec (optional extra)
    }


def environment_info():
    """Return a dict of library versions and hardware facts of this machine."""
    info = {
        "python": platform.python_version(),
        **library_versions(),
        "cpu_count": os.cpu_count(),
        # CPU numerics (and so a CPU quick-start's accuracy per epoch) follow the kernels this ISA selects.
        "cpu_model": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
    }
    return info


def platform_name(info, world_size, on_gpu):
    """Short platform string for the log, e.g. "4xNVIDIA TITAN RTX" or "cpu (2 cores, ...)".

    Args:
        info (dict): ``environment_info()``.
        world_size (int): processes in the job, one GPU each on CUDA: the GPU count under torchrun too,
            where NUM_GPUS need not say it.
        on_gpu (bool): whether the job trains on CUDA.
    Returns:
        str
    """
    if on_gpu and info["gpus"]:
        return f"{world_size}x{info['gpus'][0]}"
    return f"cpu ({info['cpu_count']} cores, {info.get('cpu_model') or 'unknown model'})"


def _existing_parent(path):
    """``path`` or its nearest existing parent folder (OUTPUT_DIR may not exist yet)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def mount_of(path):
    """(device, file system type, mount point) of the mount holding ``path``; ("", "", "") when unknown."""
    path = _existing_parent(path)
    best = ("", "", "")
    for part in psutil.disk_partitions(all=True):
        inside = path == part.mountpoint or path.startswith(part.mountpoint.rstrip("/") + "/")
        if inside and len(part.mountpoint) > len(best[2]):
            best = (part.device, part.fstype, part.mountpoint)
    return best


def filesystem_type(path):
    """Type of the file system holding ``path`` (e.g. "ext4", "nfs4", "overlay"), "" when unknown."""
    return mount_of(path)[1]


def _gpu_driver():
    """NVIDIA driver version from nvidia-smi, or None without it."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else None


def machine_facts(output_dir: str, data_dir: str) -> dict:
    """What the self-check reports about this machine, beyond ``environment_info``.

    Args:
        output_dir (str): the run's OUTPUT_DIR (free disk is measured on its file system).
        data_dir (str): the data folder (its file system type tells a network disk).
    Returns:
        dict: environment_info's keys plus driver, gpu_memory_gb (per GPU), shm_total_mb,
        shm_free_mb (None without /dev/shm), output_free_gb, data_filesystem, load_1min (load average of the
        last minute), torch_threads (intra-op threads of this process).
    """
    facts = environment_info()
    cuda = torch.cuda.is_available()
    facts["driver"] = _gpu_driver() if cuda else None
    facts["gpu_memory_gb"] = [
        round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1) for i in range(torch.cuda.device_count())
    ]
    shm = shutil.disk_usage("/dev/shm") if os.path.isdir("/dev/shm") else None
    facts["shm_total_mb"] = round(shm.total / 2**20) if shm else None
    facts["shm_free_mb"] = round(shm.free / 2**20) if shm else None
    facts["output_free_gb"] = round(shutil.disk_usage(_existing_parent(output_dir)).free / 2**30, 1)
    facts["data_filesystem"] = filesystem_type(data_dir)
    facts["load_1min"] = round(os.getloadavg()[0], 1)
    facts["torch_threads"] = torch.get_num_threads()
    return facts
