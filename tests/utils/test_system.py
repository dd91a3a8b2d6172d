"""The system description's GPU fields, read through a stand-in for NVML (no GPU here): an NVLink node, a PCIe
node, and a machine whose NVML cannot start; the CPU's clock."""

import sys
import types

import pynvml
import pytest

from slowfast.utils import system


def fake_nvml(*, gpus, nvlinks_per_gpu, ancestor, init_error=None):
    """A pynvml stand-in with ``gpus`` 80 GiB H100s; ``nvlinks_per_gpu`` active links each (0: PCIe only, whose
    link queries raise NotSupported); ``ancestor`` as the common ancestor of any two GPUs."""
    calls = []

    def link_state(handle, link):
        if nvlinks_per_gpu == 0:
            raise pynvml.NVMLError_NotSupported()
        if link >= 18:  # H100 SXM has 18 links; NVML rejects higher indices
            raise pynvml.NVMLError_InvalidArgument()
        return pynvml.NVML_FEATURE_ENABLED if link < nvlinks_per_gpu else pynvml.NVML_FEATURE_DISABLED

    def init():
        if init_error:
            raise init_error
        calls.append("init")

    fake = types.SimpleNamespace(
        NVMLError=pynvml.NVMLError,
        NVML_NVLINK_MAX_LINKS=pynvml.NVML_NVLINK_MAX_LINKS,
        NVML_FEATURE_ENABLED=pynvml.NVML_FEATURE_ENABLED,
        **{name: getattr(pynvml, name) for name in dir(pynvml) if name.startswith("NVML_TOPOLOGY_")},
        nvmlInit=init,
        nvmlShutdown=lambda: calls.append("shutdown"),
        nvmlDeviceGetCount=lambda: gpus,
        nvmlDeviceGetHandleByIndex=lambda i: f"gpu{i}",
        nvmlDeviceGetName=lambda handle: "NVIDIA H100 80GB HBM3",
        nvmlDeviceGetMemoryInfo=lambda handle: types.SimpleNamespace(total=80 * 2**30),
        nvmlSystemGetDriverVersion=lambda: "550.54.15",
        nvmlSystemGetCudaDriverVersion_v2=lambda: 12040,
        nvmlDeviceGetNvLinkState=link_state,
        nvmlDeviceGetTopologyCommonAncestor=lambda a, b: ancestor,
    )
    return fake, calls


def test_an_nvlink_node_is_described_with_its_links_topology_and_driver(monkeypatch):
    fake, calls = fake_nvml(gpus=4, nvlinks_per_gpu=18, ancestor=pynvml.NVML_TOPOLOGY_SYSTEM)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    gpus = system.accelerators()
    assert gpus == {
        "count": 4,
        "model": "NVIDIA H100 80GB HBM3",
        "memory_gib": 80.0,
        "driver": "550.54.15",
        "cuda_driver": "12.4",
        "nvlink_links": [18, 18, 18, 18],
        "interconnect": "NVLink",
        "topology": "GPU0-GPU1: SYS, GPU0-GPU2: SYS, GPU0-GPU3: SYS",
    }
    assert calls == ["init", "shutdown"]

    node = {"accelerators": gpus, "sockets": 2, "cpu_model": "Xeon", "cores": 56, "vcpus": 112}
    node |= {"cpu_frequency": "2.0 GHz", "memory_gib": 2015.6, "operating_system": "Linux"}
    node |= {"data_dir": {"filesystem": "nvme"}}
    description = system.system_description(nodes=[node, node], system_name="", submitter="", world_size=8)
    assert description["system_name"] == "4xNVIDIA H100 80GB HBM3" and description["submitter"] == "unknown"
    assert description["number_of_nodes"] == 2 and description["processes_per_node"] == 4
    assert description["accelerators_per_node"] == 4 and description["accelerator_interconnect"] == "NVLink"
    assert description["accelerator_memory_capacity"] == "80.0 GiB"
    assert description["accelerator_interconnect_topology"].startswith("GPU0-GPU1: SYS")


def test_a_pcie_node_has_no_links_and_names_its_pcie_topology(monkeypatch):
    fake, _ = fake_nvml(gpus=2, nvlinks_per_gpu=0, ancestor=pynvml.NVML_TOPOLOGY_HOSTBRIDGE)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    gpus = system.accelerators()
    assert gpus["nvlink_links"] == [0, 0] and gpus["interconnect"] == "PCIe" and gpus["topology"] == "GPU0-GPU1: PHB"


@pytest.mark.parametrize("error", [pynvml.NVMLError_LibraryNotFound(), OSError("libnvidia-ml.so.1")])
def test_without_a_driver_the_node_says_cpu(monkeypatch, error):
    fake, calls = fake_nvml(gpus=1, nvlinks_per_gpu=0, ancestor=0, init_error=error)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    assert system.accelerators() == {
        "count": 0,
        "model": system.CPU_ONLY,
        "memory_gib": 0.0,
        "driver": None,
        "interconnect": "none",
    }
    assert calls == []  # never started, so never shut down


def test_cpu_frequency_is_the_model_names_clock_else_the_clock_the_os_reports(monkeypatch):
    assert system.cpu_frequency("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz") == "2.4000 GHz"
    monkeypatch.setattr(system.psutil, "cpu_freq", lambda: types.SimpleNamespace(current=2445.428))
    assert system.cpu_frequency("AMD EPYC 7V13 64-Core Processor") == "2.4454 GHz"
    monkeypatch.setattr(system.psutil, "cpu_freq", lambda: None)  # not readable on this platform
    assert system.cpu_frequency(None) is None
