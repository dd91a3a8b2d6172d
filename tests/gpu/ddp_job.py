"""One DDP train step of the X3D-M smoke model on every process, for tests/gpu/test_ddp.py.

    python tests/gpu/ddp_job.py OUT_DIR [KEY VALUE ...]      (e.g. NUM_GPUS 2, or NUM_GPUS 0 NUM_CPU_PROCESSES 2)

Each rank trains on its own clips, then writes OUT_DIR/rank<R>.json: backend, loss, a digest of its weights
and whether they moved.
"""

import hashlib
import json
import os
import sys

import torch

from slowfast.config import load_config
from slowfast.engine.launch import DEFAULT_INIT_METHOD, launch_job
from slowfast.models import build_model
from slowfast.utils import distributed as du

SMOKE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "configs", "smoke", "X3D_M.yaml"
)


def _digest(module):
    digest = hashlib.sha256()
    for tensor in module.parameters():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def ddp_step(cfg, out_dir):
    rank = du.get_rank()
    device = torch.device("cuda", torch.cuda.current_device()) if cfg.NUM_GPUS > 0 else torch.device("cpu")
    torch.manual_seed(0)  # the same initial weights on every rank
    module = build_model(cfg).to(device)
    before = _digest(module)
    model = torch.nn.parallel.DistributedDataParallel(
        module, device_ids=[device.index] if device.index is not None else None
    )
    generator = torch.Generator().manual_seed(rank + 1)  # different clips on every rank
    crop = cfg.DATA.TRAIN_CROP_SIZE
    x = torch.randn(4, 3, cfg.DATA.NUM_FRAMES, crop, crop, generator=generator).to(device)
    labels = torch.randint(0, cfg.MODEL.NUM_CLASSES, (4,), generator=generator).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = torch.nn.functional.cross_entropy(model([x]), labels)
    loss.backward()
    optimizer.step()
    record = {
        "backend": torch.distributed.get_backend(),
        "world_size": du.get_world_size(),
        "loss": loss.item(),
        "before": before,
        "after": _digest(module),
    }
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(record, f)


def main(argv):
    out_dir, opts = argv[0], argv[1:]
    cfg = load_config(SMOKE, ["OUTPUT_DIR", out_dir, "TRAIN.BATCH_SIZE", "8", "DIST_TIMEOUT_S", "300", *opts])
    launch_job(cfg, DEFAULT_INIT_METHOD, ddp_step, out_dir)


if __name__ == "__main__":
    main(sys.argv[1:])
