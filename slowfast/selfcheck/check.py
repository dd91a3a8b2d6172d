"""The machine self-check: is this machine set up for the configured run, and how long will the run take?

``run_selfcheck`` gathers the environment (slowfast.utils.env.machine_facts), launches the probes
(slowfast.selfcheck.probes) on every configured process with the run's own launcher, judges whether training
is input-bound, predicts the run (slowfast.benchmark.prediction) and writes OUTPUT_DIR/selfcheck.json. Each
finding that needs action says what to change.
"""

import json
import math
import os
import tempfile
from typing import Any, TypedDict

from fvcore.common.config import CfgNode

from slowfast.benchmark.prediction import predict_run, write_selfcheck
from slowfast.benchmark.result import INPUT_BOUND_SHARE
from slowfast.config.checks import ConfigError, processes_per_machine
from slowfast.datasets.synthetic import ensure_synthetic_data
from slowfast.engine.launch import DEFAULT_INIT_METHOD, launch_job
from slowfast.selfcheck import probes
from slowfast.utils.env import machine_facts
from slowfast.utils.machine_load import busy_machine_advice

# File systems reached over the network: a data set there is often what makes a run input-bound.
NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "ceph", "lustre", "glusterfs", "9p", "fuse.s3fs")
# Safety factor on the estimated /dev/shm need: collation copies, pinned-memory staging, other processes.
SHM_MARGIN = 2.0
# Steps fed by the loader below this share of the in-memory speed, without waiting for data, mean the loader's
# workers and the training threads competed for the cores.
CONTENTION_SHARE = 0.8


class Finding(TypedDict):
    """One judged check: its name, whether it passed, what was found and how to fix it (None when ok)."""

    check: str
    ok: bool
    message: str
    fix: str | None


def _finding(check: str, ok: bool, message: str, fix: str | None = None) -> Finding:
    return {"check": check, "ok": ok, "message": message, "fix": fix}


def shm_need_mb(cfg: CfgNode, local_processes: int) -> float:
    """MB of /dev/shm the loaders hold at once: processes x workers x prefetch x one batch of clips (videos x
    AUG.NUM_SAMPLE), in uint8, as the workers hand training clips over."""
    workers = cfg.DATA_LOADER.NUM_WORKERS
    if workers == 0:
        return 0.0
    videos = max(cfg.TRAIN.BATCH_SIZE // max(local_processes * cfg.NUM_SHARDS, 1), 1)
    clips = videos * cfg.AUG.NUM_SAMPLE
    values = sum(cfg.DATA.INPUT_CHANNEL_NUM) * cfg.DATA.NUM_FRAMES * cfg.DATA.TRAIN_CROP_SIZE**2
    return local_processes * workers * cfg.DATA_LOADER.PREFETCH_FACTOR * clips * values / 2**20


def environment_findings(cfg: CfgNode, facts: dict[str, Any]) -> list[Finding]:
    """Judge /dev/shm, CPU cores, machine load and GPUs against what the config asks for.

    Args:
        cfg (CfgNode): the configuration (NUM_GPUS, NUM_CPU_PROCESSES, DATA_LOADER.*, batch and clip size).
        facts (dict): from ``machine_facts``.
    Returns:
        list of dict: {"check", "ok", "message", "fix"}.
    """
    findings = [_shm_finding(cfg, facts), _cores_finding(cfg, facts), _load_finding(facts), _gpu_finding(cfg, facts)]
    return [finding for finding in findings if finding is not None]


def _shm_finding(cfg: CfgNode, facts: dict[str, Any]) -> Finding | None:
    local = processes_per_machine(cfg)
    need = shm_need_mb(cfg, local)
    if facts["shm_total_mb"] is None or need == 0:
        return None
    ok = facts["shm_total_mb"] >= SHM_MARGIN * need
    size_gb = max(1, math.ceil(SHM_MARGIN * need / 1024))
    fix = (
        f"give the container more shared memory: docker run --shm-size={size_gb}g (or --ipc=host); "
        "or lower DATA_LOADER.NUM_WORKERS / DATA_LOADER.PREFETCH_FACTOR"
    )
    message = (
        f"/dev/shm {facts['shm_total_mb']} MB for about {need:.0f} MB of batches in flight ({local} process(es) x "
        f"{cfg.DATA_LOADER.NUM_WORKERS} workers x prefetch {cfg.DATA_LOADER.PREFETCH_FACTOR}); too little crashes "
        "loader workers with a bus error"
    )
    return _finding("shared memory", ok, message, None if ok else fix)


def _cores_finding(cfg: CfgNode, facts: dict[str, Any]) -> Finding:
    local, workers = processes_per_machine(cfg), cfg.DATA_LOADER.NUM_WORKERS
    cores, needed = facts["cpu_count"] or 1, local * (workers + 1)
    fix = (
        f"use DATA_LOADER.NUM_WORKERS {max(0, cores // local - 1)} ({cores} cores / {local} "
        "process(es), keeping one core per process for training)"
    )
    message = f"{cores} cores for {local} process(es) x ({workers} workers + 1)"
    return _finding("cpu cores", cores >= needed, message, None if cores >= needed else fix)


def _load_finding(facts: dict[str, Any]) -> Finding:
    cores = facts["cpu_count"] or 1
    advice = busy_machine_advice(facts["load_1min"], cores)
    message = f"load average {facts['load_1min']} on {cores} cores before the check"
    return _finding("machine load", advice is None, message, advice)


def _gpu_finding(cfg: CfgNode, facts: dict[str, Any]) -> Finding | None:
    if cfg.NUM_GPUS == 0:
        return None
    gpus = len(facts["gpus"])
    ok = gpus >= cfg.NUM_GPUS
    return _finding(
        "gpus", ok, f"{gpus} GPU(s) visible for NUM_GPUS {cfg.NUM_GPUS}", None if ok else f"use NUM_GPUS {gpus}"
    )


def measurement_findings(
    cfg: CfgNode, facts: dict[str, Any], measured: dict[str, Any]
) -> tuple[bool, str, list[Finding]]:
    """Input-bound verdict and disk check from the probes.

    Args:
        cfg (CfgNode): the configuration.
        facts (dict): from ``machine_facts``.
        measured (dict): from ``probes.measure_job``.
    Returns:
        tuple: (input_bound (bool), verdict text, list of findings).
    """
    compute = min(measured["compute_clips_per_s"])
    loader = min(measured["loader_clips_per_s"])
    # The run's rule (its result block): more than INPUT_BOUND_SHARE of training time waiting for data, here
    # measured the same way, with the real loader feeding real steps; the two rates say why.
    input_bound = measured["data_wait_share"] > INPUT_BOUND_SHARE
    if input_bound:
        verdict = (
            f"INPUT-BOUND: the loader delivers {loader:.1f} clips/s per process, the model trains "
            f"{compute:.1f}: training would be up to {max(compute / loader, 1.0):.2f}x faster with enough input"
        )
    else:
        verdict = (
            f"not input-bound: the loader delivers {loader:.1f} clips/s per process, the model trains "
            f"{compute:.1f} ({loader / compute:.2f}x the model's rate)"
        )
    verdict += f"; with the real loader {100 * measured['data_wait_share']:.0f} % of the step time waited for data"
    fed = measured["clips_per_step"] / measured["step_s"]
    if fed < CONTENTION_SHARE * compute and measured["data_wait_share"] < 1 - CONTENTION_SHARE:
        # Slower steps that did not wait: the loader's workers took CPU time from the training threads.
        verdict += (
            f", yet fed by the loader the model trained {fed:.1f} clips/s, not {compute:.1f}: its "
            f"{cfg.DATA_LOADER.NUM_WORKERS} loader worker(s) shared the {facts['cpu_count']} cores with training"
        )
    findings = [_input_finding(cfg, facts, verdict)] if input_bound else []
    return input_bound, verdict, findings + [_disk_finding(cfg, facts, measured)]


def _input_finding(cfg: CfgNode, facts: dict[str, Any], verdict: str) -> Finding:
    local, cores = processes_per_machine(cfg), facts["cpu_count"] or 1
    spare = cores // local - 1 - cfg.DATA_LOADER.NUM_WORKERS
    fix = (
        f"raise DATA_LOADER.NUM_WORKERS to {cfg.DATA_LOADER.NUM_WORKERS + spare} (cores allow it)"
        if spare > 0
        else "the cores are all in use: a machine with more cores per accelerator, or pre-decoded data"
    )
    if facts["data_filesystem"] in NETWORK_FILESYSTEMS:
        fix = f"copy the data from the {facts['data_filesystem']} network file system to a local disk; " + fix
    return _finding("input", False, verdict, fix)


def _disk_finding(cfg: CfgNode, facts: dict[str, Any], measured: dict[str, Any]) -> Finding:
    checkpoints = cfg.SOLVER.MAX_EPOCH // cfg.TRAIN.CHECKPOINT_PERIOD + 1
    need_gb = checkpoints * measured["checkpoint_bytes"] / 2**30
    ok = facts["output_free_gb"] >= need_gb
    message = (
        f"{facts['output_free_gb']} GB free under OUTPUT_DIR {cfg.OUTPUT_DIR} for about {need_gb:.1f} GB "
        f"of checkpoints ({checkpoints} x {measured['checkpoint_bytes'] / 2**20:.0f} MB)"
    )
    return _finding("disk", ok, message, None if ok else "point OUTPUT_DIR at a disk with more free space")


def run_selfcheck(cfg: CfgNode, init_method: str = DEFAULT_INIT_METHOD, budget_s: float = 20.0) -> dict[str, Any]:
    """Check the machine for ``cfg`` and write OUTPUT_DIR/selfcheck.json.

    Args:
        cfg (CfgNode): the configuration of the run to check (its processes, workers, data, OUTPUT_DIR).
        init_method (str): rendezvous for several processes, as tools/run_net.py's --init_method.
        budget_s (float): seconds given to each timed probe (four of them, plus set-up).
    Returns:
        dict: the record written (environment, measured, verdict, prediction keys, input_bound, findings, path).
    Raises:
        ConfigError: the configured data folder has no train.csv or val.csv.
    """
    facts = machine_facts(cfg.OUTPUT_DIR, cfg.DATA.PATH_TO_DATA_DIR)
    findings = environment_findings(cfg, facts)
    ensure_synthetic_data(cfg)
    for split in ("train", "val"):
        if not os.path.isfile(os.path.join(cfg.DATA.PATH_TO_DATA_DIR, f"{split}.csv")):
            raise ConfigError(
                f"DATA.PATH_TO_DATA_DIR = {cfg.DATA.PATH_TO_DATA_DIR!r} has no {split}.csv: prepare the "
                "data (data/README.md) or pass DATA.PATH_TO_DATA_DIR DIR DATA.PATH_PREFIX DIR"
            )
    with tempfile.TemporaryDirectory() as folder:
        result_path = os.path.join(folder, "measured.json")
        launch_job(cfg, init_method, probes.measure_job, result_path, budget_s)
        with open(result_path) as f:
            measured = json.load(f)
    input_bound, verdict, more = measurement_findings(cfg, facts, measured)
    record: dict[str, Any] = {
        "environment": facts,
        "measured": measured,
        "verdict": verdict,
        **predict_run(cfg, measured),
        "input_bound": input_bound,
        "findings": findings + more,
    }
    record["path"] = write_selfcheck(cfg.OUTPUT_DIR, record)
    return record


def format_report(cfg: CfgNode, record: dict[str, Any]) -> str:
    """The self-check's printed report: environment, all-reduce, throughput, verdict, prediction, findings."""
    env, m = record["environment"], record["measured"]
    gpus = ", ".join(f"{n} ({g} GB)" for n, g in zip(env["gpus"], env["gpu_memory_gb"])) or "none"
    bandwidth = m["allreduce_busbw_gbs"]
    lines = [
        f"environment   torch {env['torch']}, CUDA {env['cuda']}, cuDNN {env['cudnn']}, NCCL {env['nccl']}, "
        f"driver {env['driver']}; GPUs: {gpus}; {env['cpu_count']} CPU cores, {env['memory_gb']} GB RAM, "
        f"/dev/shm {env['shm_total_mb']} MB, {env['output_free_gb']} GB free under OUTPUT_DIR, data on "
        f"{env['data_filesystem'] or '?'}",
        "all-reduce    "
        + (
            f"{bandwidth:.2f} GB/s bus bandwidth over {m['processes']} processes ({m['device']})"
            if bandwidth is not None
            else "single process: nothing to reduce"
        ),
        f"throughput    per process: model {', '.join(f'{v:.1f}' for v in m['compute_clips_per_s'])} clips/s on "
        f"in-memory clips; loader {', '.join(f'{v:.1f}' for v in m['loader_clips_per_s'])} clips/s with "
        f"{cfg.DATA_LOADER.NUM_WORKERS} workers; model fed by the loader {m['clips_per_step'] / m['step_s']:.1f}",
        f"implementation {m.get('implementation', '-')} (chosen as the run chooses it)",
        f"verdict       {record['verdict']}",
        f"prediction    epoch {record['predicted_epoch_s']:.1f} s (train {record['predicted_train_s']:.1f} s + "
        f"evaluation {record['predicted_eval_s']:.1f} s); {cfg.SOLVER.MAX_EPOCH} epochs (MAX_EPOCH) "
        f"{record['predicted_run_s']:.0f} s",
    ]
    if record["predicted_target_s"] is not None:
        score_text = "" if record["predicted_score"] is None else f", score {record['predicted_score']:.3f}"
        lines.append(
            f"              if the target takes the reference's {cfg.BENCHMARK.REFERENCE_EPOCHS} "
            f"epochs: {record['predicted_target_s']:.0f} s to the target{score_text}"
        )
    else:
        lines.append(
            "              no score prediction: the reference's epochs to the target are not recorded "
            "(BENCHMARK.REFERENCE_EPOCHS)"
        )
    for f in record["findings"]:
        lines.append(
            f"{'ok' if f['ok'] else 'ACTION':<13} {f['check']}: {f['message']}"
            + (f"\n              fix: {f['fix']}" if f["fix"] else "")
        )
    lines.append(f"written to {record['path']}")
    return "\n".join(lines)
