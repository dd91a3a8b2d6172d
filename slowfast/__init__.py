"""Video Model Benchmark: time-to-accuracy training of X3D-M and MViT-B on Kinetics20."""

import warnings

from slowfast.utils.machine_load import quiet_openmp_waits

# fvcore.nn, imported for precise BN, weight init and FLOP counts, scripts a focal loss we never use, and torch
# warns about torch.jit.script on every import: noise in front of every run's first line (and error lines).
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)

# Before anything imports torch (libgomp reads its wait policy once): see slowfast.utils.machine_load.
quiet_openmp_waits()
