#!/usr/bin/env python3
"""Does a run degrade gracefully on a busy machine? Training speed of one loop alone, then of two at once.

    python tools/benchmark_load.py [--cfg configs/quickstart/X3D_M.yaml] [--seconds 40] [--env KEY=VALUE ...]

Each loop is its own process, set up as tools/run_net.py sets up one process (slowfast imported before torch,
so its OpenMP wait policy applies; threads from slowfast.engine.launch.cpu_thread_setting), and trains the
config's model (train step, AdamW) on in-memory clips of TRAIN.BATCH_SIZE for --seconds after two warm-up
steps. No loader: this measures the compute threads. Printed: clips/s and threads of each loop, and each
pair loop's speed as a share of the solo speed (the goal: at least 40 % each on 2 cores).
--env sets variables in the loops' environment: GOMP_SPINCOUNT=300000 OMP_NUM_THREADS=2 is the old default on
2 cores (libgomp's own spin count, all cores).
"""

import argparse
import json
import os
import subprocess
import sys
import time

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import slowfast  # noqa: F401  (before torch: sets the OpenMP wait policy, as in run_net)
from slowfast.config.checks import ConfigError
from slowfast.config.cli import ToolParser, run_tool
from slowfast.utils.errors import UserError


def train_loop(cfg_file, seconds):
    """Train ``cfg_file``'s model on random clips for ``seconds``; return {"clips_per_s", "threads"}."""
    import torch

    from slowfast.config import merge_config
    from slowfast.engine.launch import cpu_thread_setting
    from slowfast.models import build_model

    torch.set_num_threads(cpu_thread_setting(1)[0])
    cfg = merge_config(cfg_file)
    model = build_model(cfg).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    crop, batch = cfg.DATA.TRAIN_CROP_SIZE, cfg.TRAIN.BATCH_SIZE
    clips = torch.randn(batch, cfg.DATA.INPUT_CHANNEL_NUM[0], cfg.DATA.NUM_FRAMES, crop, crop)
    labels = torch.randint(0, cfg.MODEL.NUM_CLASSES, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model([clips]), labels).backward()
        optimizer.step()

    step(), step()
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    return {"clips_per_s": steps * batch / (time.perf_counter() - start), "threads": torch.get_num_threads()}


def run_loops(count, args):
    """Start ``count`` loops at once; return their results."""
    env = dict(os.environ, **dict(item.split("=", 1) for item in args.env))
    command = [sys.executable, os.path.abspath(__file__), "--cfg", args.cfg, "--seconds", str(args.seconds), "--loop"]
    loops = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(count)]
    return [json.loads(loop.communicate()[0].strip().splitlines()[-1]) for loop in loops]


def measure(args):
    """One loop (``--loop``: print its JSON result), or the solo loop then the pair, printing their speeds."""
    if not os.path.isfile(args.cfg):
        raise ConfigError(f"config file not found: {args.cfg}: check the --cfg path")
    if args.loop:
        print(json.dumps(train_loop(args.cfg, args.seconds)))
        return
    bad_env = [item for item in args.env if "=" not in item]
    if bad_env:
        raise UserError(f"--env takes KEY=VALUE items, got {bad_env}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; loop environment: {args.env}")
    solo = run_loops(1, args)[0]
    print(f"solo  {solo['clips_per_s']:.2f} clips/s ({solo['threads']} threads)", flush=True)
    pair = run_loops(2, args)
    for index, result in enumerate(pair):
        print(
            f"pair {index} {result['clips_per_s']:.2f} clips/s ({result['threads']} threads): "
            f"{result['clips_per_s'] / solo['clips_per_s']:.0%} of solo"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def main(argv=None):
    """Time the loops; return the exit status (1: a user error, printed as one line; 130: Ctrl-C)."""
    parser = ToolParser(__doc__)
    parser.add_argument("--cfg", default="configs/quickstart/X3D_M.yaml", help="YAML config (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=40.0, help="timed seconds of each loop")
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="environment of the loops")
    parser.add_argument("--loop", action="store_true", help=argparse.SUPPRESS)  # one loop: print its JSON result
    return run_tool(parser, measure, argv)


if __name__ == "__main__":
    sys.exit(main())
