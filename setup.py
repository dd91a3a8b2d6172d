"""Video Model Benchmark: time-to-accuracy training benchmark for video models (package ``slowfast``)."""

from setuptools import find_packages, setup

setup(
    name="video-model-benchmark",
    version="0.1.0",
    description="Time-to-accuracy benchmark training X3D and MViT on Kinetics20, derived from PySlowFast",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["slowfast", "slowfast.*"]),
    package_data={"slowfast.benchmark": ["*.yaml"]},
    install_requires=[
        # Pinned: the newest torch/torchvision pair available here (see INSTALL.md for other CUDA builds).
        "torch==2.14.1",
        "torchvision==0.29.1",
        "fvcore",
        "iopath",
        "av>=17",  # VideoFrame.reformat(threads=...) (pyav_reader.py)
        "numpy",
        "simplejson",
        "psutil",
        "nvidia-ml-py",  # GPUs, driver, NVLink/PCIe topology in the system description (NVML)
        "tensorboard",
        "pyyaml",
        "yacs",
        "mlperf-logging",
        "matplotlib",
        "tqdm",
    ],
    extras_require={
        # submitit: tests/suite/test_slurm.py; pytest-xdist: the suite's two workers (README, "Tests")
        "dev": ["pytest", "pytest-timeout", "pytest-xdist", "ruff", "mypy", "submitit"],
        # DATA.DECODING_BACKEND torchcodec; it also needs FFmpeg's shared libraries from the system (INSTALL.md).
        "torchcodec": ["torchcodec==0.17.0"],
        # tools/submit.py: SLURM jobs (slowfast/suite/slurm.py).
        "slurm": ["submitit"],
    },
)
