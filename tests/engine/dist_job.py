"""A tiny job for the launcher tests, run as a script (spawn) or under torchrun.

    python tests/engine/dist_job.py MODE OUT_DIR [--init_method tcp://HOST:PORT] [KEY VALUE ...]

MODE "collectives": every rank exercises the distributed helpers and writes OUT_DIR/rank<R>.json.
MODE "one_fails": rank 1 raises at once while rank 0 sleeps far longer than the test waits, so the job
can only end in time if the failure stops the sibling.
MODE "spawned": "collectives", then "threads", then each rank works in OUT_DIR/rank<R> with the relative
OUTPUT_DIR "out", as machines that do not share OUTPUT_DIR, and writes the checkpoint state it resumes from to
OUT_DIR/resume<R>.json (one job for the tests of the spawned launcher: each job costs three torch start-ups).
MODE "user_error": rank 1 raises a UserError while rank 0 waits in a collective; the job must end with one
``error:`` line and exit status 1.
MODE "threads": every rank writes its torch intra-op thread count to OUT_DIR/threads<R>.json.
MODE "peer_dies" / "peer_frozen": after one all_reduce rank 1 kills itself (SIGKILL: gloo sees the connection
reset) or freezes (SIGSTOP: no reset, as NCCL on real machines) while rank 0 keeps reducing; rank 0's heartbeat
watcher must end it with one ``error:`` line naming rank 1 and its host.
With "peer_frozen" rank 0 registers ``on_peer_exit`` to write OUT_DIR/peer_exit0.txt as the watcher ends it.
MODE "hold_lock": every rank runs under ``run_lock`` (as benchmark_job does), writes OUT_DIR/started<R> and
sleeps.
MODE "peer_stuck": rank 1 sleeps (alive but silent, like a hung peer on another machine) while rank 0
waits in an all_reduce; the process-group timeout (STUCK_TIMEOUT_S) must make rank 0 fail.
"""

import json
import os
import signal
import sys
import time

import torch

from slowfast.config import load_config
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.launch import DEFAULT_INIT_METHOD, launch_job
from slowfast.engine.run_lock import run_lock
from slowfast.utils import distributed as du
from slowfast.utils.errors import UserError
from slowfast.utils.peer_watch import on_peer_exit

SIBLING_SLEEP_S = 600
STUCK_TIMEOUT_S = 5


def collectives(cfg, out_dir):
    rank, world = du.get_rank(), du.get_world_size()
    summed = du.all_reduce_sum(torch.tensor([rank + 1.0, 10.0 * rank]))
    numbers = du.all_reduce_sum([rank + 1, torch.tensor([float(rank)]), 2.5])
    mean = du.all_reduce_mean(torch.tensor([float(rank), 4.0]))
    # Rank r contributes r + 1 rows filled with r: sizes differ between ranks.
    gathered = du.all_gather_tensors(torch.full((rank + 1, 2), rank, dtype=torch.long))
    objects = du.all_gather_objects({"rank": rank})
    broadcast = du.broadcast_object(f"from rank {rank}", src=0)
    du.synchronize()
    record = {
        "rank": rank,
        "shard_id": cfg.SHARD_ID,
        "world_size": world,
        "local_rank": du.get_local_rank(),
        "is_main": du.is_main_process(),
        "backend": torch.distributed.get_backend(),
        "summed": summed.tolist(),
        "numbers": [numbers[0], numbers[1].tolist(), numbers[2]],
        "mean": mean.tolist(),
        "gathered": gathered.tolist(),
        "objects": objects,
        "broadcast": broadcast,
    }
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(record, f)


def one_fails(cfg, out_dir):
    if du.get_rank() == 1:
        raise RuntimeError("rank 1 fails on purpose")
    time.sleep(SIBLING_SLEEP_S)


def user_error(cfg, out_dir):
    if du.get_rank() == 1:
        raise UserError("rank 1 found a problem the user can fix")
    du.all_reduce_sum(torch.ones(1))


def threads(cfg, out_dir):
    with open(os.path.join(out_dir, f"threads{du.get_rank()}.json"), "w") as f:
        json.dump({"threads": torch.get_num_threads()}, f)


def peer_stuck(cfg, out_dir):
    if du.get_rank() == 1:
        time.sleep(SIBLING_SLEEP_S)
    du.all_reduce_sum(torch.ones(1))


def peer_dies(cfg, out_dir):
    du.all_reduce_sum(torch.ones(1))
    if du.get_rank() == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    for _ in range(SIBLING_SLEEP_S):
        du.all_reduce_sum(torch.ones(1))
        time.sleep(1)


def peer_frozen(cfg, out_dir):
    du.all_reduce_sum(torch.ones(1))
    if du.get_rank() == 1:
        os.kill(os.getpid(), signal.SIGSTOP)
    # What the run does to log an aborted run_stop when the watcher ends it.
    with on_peer_exit(lambda: open(os.path.join(out_dir, f"peer_exit{du.get_rank()}.txt"), "w").close()):
        du.all_reduce_sum(torch.ones(1))


def hold_lock(cfg, out_dir):
    with run_lock(cfg):
        open(os.path.join(out_dir, f"started{du.get_rank()}"), "w").close()
        time.sleep(SIBLING_SLEEP_S)


def resume_choice(out_dir):
    rank = du.get_rank()
    os.chdir(os.path.join(out_dir, f"rank{rank}"))
    path, state = ckpt.resume_state("out")
    with open(os.path.join(out_dir, f"resume{rank}.json"), "w") as f:
        json.dump({"path": path, "epoch": state["epoch"], "weights": state["w"].tolist()}, f)


def spawned(cfg, out_dir):
    collectives(cfg, out_dir)
    threads(cfg, out_dir)
    resume_choice(out_dir)


def main(argv):
    mode, out_dir, opts = argv[0], argv[1], argv[2:]
    init_method = DEFAULT_INIT_METHOD
    if opts[:1] == ["--init_method"]:
        init_method, opts = opts[1], opts[2:]
    timeout_s = STUCK_TIMEOUT_S if mode == "peer_stuck" else 300
    cfg = load_config(None, ["OUTPUT_DIR", out_dir, "DIST_TIMEOUT_S", str(timeout_s), *opts])
    job = {
        "collectives": collectives,
        "one_fails": one_fails,
        "user_error": user_error,
        "threads": threads,
        "peer_stuck": peer_stuck,
        "peer_dies": peer_dies,
        "peer_frozen": peer_frozen,
        "spawned": spawned,
        "hold_lock": hold_lock,
    }[mode]
    launch_job(cfg, init_method, job, out_dir)


if __name__ == "__main__":
    main(sys.argv[1:])
