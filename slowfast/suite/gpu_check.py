"""The GPU machine's proof: a short real training of each scored config on synthetic data, with ``auto``.

``tools/gpu_check.py`` runs it (after ``pytest -m gpu``). Each scored config trains one short epoch and one
evaluation through the real engine (launcher, DDP on every visible GPU, auto's search, warm-up, loaders), on
the reference's videos per GPU, from a small synthetic data set generated before the clock. The summary line of
each run: clips/s and the share of time waiting for data (both without the loader's start, the first batch's
wait, which is shown apart), peak GPU memory, recompilations in the timed epoch and the precision; ``problems``
lists what a GPU user must look at (a recompilation, an input-bound run).
"""

import functools
import os
from dataclasses import dataclass
from typing import Any

from fvcore.common.config import CfgNode

from slowfast.benchmark.mllog import describe_implementation
from slowfast.benchmark.result import INPUT_BOUND_SHARE
from slowfast.benchmark.run_reader import read_run
from slowfast.config import load_config
from slowfast.config.cli import DEFAULT_INIT_METHOD
from slowfast.engine.launch import launch_job
from slowfast.engine.run import benchmark_job
from slowfast.utils.metrics import read_metrics, records_of

# Synthetic videos per class: 80 train videos (a few steps per GPU at the reference's batch), 20 val videos.
_TRAIN_PER_CLASS = 4
_VAL_PER_CLASS = 1


@dataclass
class CheckRun:
    """One config's short run: where it wrote its logs and what it measured."""

    name: str
    run_dir: str
    summary: dict[str, Any]


def check_config(cfg_file: str, *, data_dir: str, output_dir: str, gpus: int, opts: list[str]) -> CfgNode:
    """The scored config ``cfg_file`` shortened to one epoch on the synthetic data, with ``auto``.

    Args:
        cfg_file (str): a scored config, e.g. configs/X3D_M.yaml.
        data_dir (str): folder of the synthetic data set (generated on first use).
        output_dir (str): the run's OUTPUT_DIR.
        gpus (int): GPUs to train on (0: one CPU process, for a machine without CUDA).
        opts (list of str): further KEY VALUE overrides.
    Returns:
        CfgNode
    """
    base = load_config(cfg_file)
    videos_per_gpu = base.SOLVER.BASE_LR_BATCH_SIZE // base.BENCHMARK.REFERENCE_NUM_GPUS
    # One epoch of the schedule shrunk as a whole: the warm-up keeps its share of the epochs.
    warmup_epochs = base.SOLVER.WARMUP_EPOCHS / base.SOLVER.MAX_EPOCH
    overrides = [
        *("DATA.PATH_TO_DATA_DIR", data_dir, "DATA.PATH_PREFIX", data_dir, "DATA.SYNTHETIC.ENABLE", "True"),
        *("DATA.SYNTHETIC.TRAIN_PER_CLASS", str(_TRAIN_PER_CLASS), "DATA.SYNTHETIC.VAL_PER_CLASS", str(_VAL_PER_CLASS)),
        *("NUM_GPUS", str(gpus), "TRAIN.BATCH_SIZE", str(videos_per_gpu * max(gpus, 1))),
        *("BENCHMARK.IMPLEMENTATION", "auto", "TEST.ENABLE", "False"),
        *("SOLVER.MAX_EPOCH", "1", "SOLVER.WARMUP_EPOCHS", str(warmup_epochs)),
        *("TRAIN.AUTO_RESUME", "False", "OUTPUT_DIR", output_dir),
    ]
    return load_config(cfg_file, overrides + list(opts))


def summarize_run(run_dir: str) -> dict[str, Any]:
    """The figures a GPU user checks first, from a run's metrics.jsonl and mllog.

    The check's epoch is a few steps long, so the loader's start (its workers, its first batch) would dominate
    the epoch's rates: clips/s and the data-wait share here leave the first batch's wait out and report it apart.

    Returns:
        dict: clips_per_s, data_wait_share (steady, without the first batch's wait), first_batch_wait_s,
        memory_mb, recompilations (of the last epoch), implementation (its one-line description, precision
        included) and problems (list of str).
    """
    epoch = records_of(read_metrics(run_dir), "train_epoch")[-1]
    summary = {
        "clips_per_s": epoch["steady_clips_per_s"],
        "data_wait_share": epoch["steady_data_wait_share"],
        **{key: epoch[key] for key in ("first_batch_wait_s", "memory_mb", "recompilations")},
        "implementation": describe_implementation(read_run(run_dir).implementation),
    }
    problems = []
    if summary["recompilations"]:
        problems.append(f"{summary['recompilations']} recompilation(s) in the timed epoch (expected none)")
    if summary["data_wait_share"] > INPUT_BOUND_SHARE:
        problems.append(f"input-bound: {100 * summary['data_wait_share']:.0f} % of training time waiting for data")
    summary["problems"] = problems
    return summary


def format_summary(run: CheckRun) -> str:
    """One line per run, then its problems."""
    s = run.summary
    line = (
        f"{run.name:12s} {s['clips_per_s']:8.1f} clips/s  waiting for data {100 * s['data_wait_share']:3.0f} % "
        f"(first batch {s['first_batch_wait_s']:.1f} s)  memory {s['memory_mb']:7.0f} MB  "
        f"recompilations {s['recompilations']}  [{s['implementation']}]"
    )
    return "\n".join([line, *(f"{'':12s} PROBLEM: {p}" for p in s["problems"])])


def run_gpu_check(
    cfg_files: list[str], *, data_dir: str, output_dir: str, gpus: int, opts: list[str]
) -> list[CheckRun]:
    """Train each config briefly (``check_config``) and summarize it.

    Args:
        cfg_files (list of str): configs to run, e.g. both scored ones.
        data_dir, output_dir (str): the synthetic data's folder; the parent of each run's OUTPUT_DIR.
        gpus (int): GPUs per run.
        opts (list of str): overrides for every run.
    Returns:
        list of CheckRun
    """
    runs = []
    for cfg_file in cfg_files:
        name = os.path.splitext(os.path.basename(cfg_file))[0]
        run_dir = os.path.join(output_dir, name)
        cfg = check_config(cfg_file, data_dir=data_dir, output_dir=run_dir, gpus=gpus, opts=opts)
        # No result block: a one-epoch run on synthetic data is not a score, and its compliance and "target not
        # reached" lines would bury the summary this check prints.
        launch_job(cfg, DEFAULT_INIT_METHOD, functools.partial(benchmark_job, result_block=False), cfg_file)
        runs.append(CheckRun(name, run_dir, summarize_run(run_dir)))
    return runs
