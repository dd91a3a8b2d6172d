"""The whole benchmark in one command: every run of both models, resumable, then the scores and the report.

Each run is a subprocess of tools/run_net.py with its own OUTPUT_DIR under one benchmark folder
(``OUT/X3D_M/run_1``, ...), so a crash or a Ctrl-C of one run loses nothing of the others. Whether a run
is finished is read from its own mllog.txt, never from a separate state file: its last session (after the
last run_start / run_resume) logged run_stop with status success, or trained every epoch of epoch_count.
A rerun of the same command keeps finished runs and restarts the others, which resume from their
checkpoints (TRAIN.AUTO_RESUME).

The report and the bundle (torch, matplotlib) are imported by ``finish`` only: the benchmark's own process
checks its command line in milliseconds and stays small while its runs train.
"""

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from slowfast.benchmark import mllog as keys
from slowfast.benchmark.mllog import read_mllog
from slowfast.benchmark.recipe import compliant_batch_overrides
from slowfast.benchmark.run_result import summarize_runs
from slowfast.config import ConfigError, load_config
from slowfast.config.loading import model_name_of
from slowfast.utils.files import atomic_write_text

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_NET = os.path.join(REPO_ROOT, "tools", "run_net.py")
SCORED_CONFIGS = ("configs/X3D_M.yaml", "configs/MVIT_B_16x4.yaml")
QUICKSTART_CONFIGS = ("configs/quickstart/X3D_M.yaml", "configs/quickstart/MVIT_B_16x4.yaml")
QUICKSTART_TITLE = "QUICK-START BENCHMARK (synthetic data, scored against the CPU references; not a benchmark_score)"


@dataclass(frozen=True)
class PlannedRun:
    """One run of the benchmark: its config, its OUTPUT_DIR and its place in the order."""

    cfg_file: str
    output_dir: str
    model: str
    index: int


def plan_runs(cfg_files: Sequence[str], runs: int, out_dir: str) -> list[PlannedRun]:
    """Every run in order: all runs of the first config, then of the second.

    Args:
        cfg_files (sequence of str): config paths.
        runs (int): runs per config.
        out_dir (str): the benchmark folder.
    Returns:
        list of PlannedRun, with OUTPUT_DIR ``out_dir/<config name>/run_<i>``.
    """
    planned: list[PlannedRun] = []
    for cfg_file in cfg_files:
        model = model_name_of(cfg_file)
        for index in range(1, runs + 1):
            planned.append(PlannedRun(cfg_file, os.path.join(out_dir, model, f"run_{index}"), model, index))
    return planned


def run_state(output_dir: str) -> str:
    """ "new" (nothing logged), "finished" or "interrupted", from ``output_dir/mllog.txt`` alone."""
    path = os.path.join(output_dir, keys.MLLOG_FILENAME)
    if not os.path.isfile(path):
        return "new"
    lines, _ = read_mllog(path)
    session_start = max((i for i, line in enumerate(lines) if line.key in ("run_start", keys.RUN_RESUME)), default=None)
    if session_start is None:
        return "new"
    epochs = next((line.value["value"] for line in lines if line.key == "epoch_count"), None)
    session = lines[session_start:]
    trained = max((line.value["metadata"].get("epoch_num", 0) for line in lines if line.key == "epoch_stop"), default=0)
    for line in session:
        if line.key == "run_stop":
            status = line.value["metadata"].get("status")
            if status == keys.STATUS_SUCCESS or (epochs is not None and trained >= epochs):
                return "finished"
    return "interrupted"


def default_configs(quickstart: bool) -> tuple[str, ...]:
    """The scored configs (or the quick-start ones), as paths relative to the repository root.

    Raises:
        ConfigError: the current folder is not the repository root (the configs are not there).
    """
    configs = QUICKSTART_CONFIGS if quickstart else SCORED_CONFIGS
    if not all(os.path.isfile(cfg_file) for cfg_file in configs):
        raise ConfigError(
            f"{configs[0]} is not in {os.getcwd()}: run tools/run_benchmark.py from the repository root ({REPO_ROOT})"
        )
    return configs


def check_overrides(cfg_files: Sequence[str], overrides: Sequence[str]) -> None:
    """Load every config with the overrides once, before hours of training.

    Raises:
        ConfigError: an override names OUTPUT_DIR (the benchmark sets it; use --out) or fails a config's checks.
    """
    if "OUTPUT_DIR" in list(overrides)[::2]:
        raise ConfigError("OUTPUT_DIR is set per run by run_benchmark: use --out DIR for the benchmark folder")
    for cfg_file in cfg_files:
        load_config(cfg_file, [*overrides, *compliant_batch_overrides(cfg_file, overrides)])


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {seconds:02d} s" if hours else f"{minutes} min {seconds:02d} s"


def run_one(run: PlannedRun, overrides: Sequence[str], position: int, total: int, started: float) -> int:
    """Run (or resume) one run as a tools/run_net.py subprocess; return its exit status."""
    state = run_state(run.output_dir)
    print(
        f"[run_benchmark] run {position}/{total}: {run.model} run {run.index} -> {run.output_dir} "
        f"({'resuming' if state == 'interrupted' else 'starting'}; {_duration(time.monotonic() - started)} "
        "spent so far)",
        flush=True,
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")])))
    # Each model keeps its reference videos per GPU on the layout the overrides describe (README, "The recipe").
    batches = compliant_batch_overrides(run.cfg_file, overrides)
    command = [sys.executable, RUN_NET, "--cfg", run.cfg_file, *overrides, *batches, "OUTPUT_DIR", run.output_dir]
    process = subprocess.Popen(command, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # The run got the same Ctrl-C; let it end so its logs and checkpoints are consistent.
        process.wait()
        raise


def run_all(
    cfg_files: Sequence[str], runs: int, out_dir: str, overrides: Sequence[str] = ()
) -> list[tuple[PlannedRun, int | None]]:
    """Run every planned run that is not finished yet, in order; keep going when one fails.

    Args:
        cfg_files (sequence of str): configs, e.g. SCORED_CONFIGS.
        runs (int): runs per config.
        out_dir (str): the benchmark folder.
        overrides (sequence of str): KEY VALUE pairs forwarded to every run.
    Returns:
        list of (PlannedRun, exit status or None when it was already finished).
    """
    planned, started = plan_runs(cfg_files, runs, out_dir), time.monotonic()
    outcomes: list[tuple[PlannedRun, int | None]] = []  # (run, exit status, or None when kept from earlier)
    for position, run in enumerate(planned, 1):
        if run_state(run.output_dir) == "finished":
            print(
                f"[run_benchmark] run {position}/{len(planned)}: {run.model} run {run.index} finished "
                f"earlier, kept ({run.output_dir})",
                flush=True,
            )
            outcomes.append((run, None))
            continue
        status = run_one(run, overrides, position, len(planned), started)
        if status != 0:
            print(
                f"[run_benchmark] run {position}/{len(planned)} ({run.output_dir}) failed with exit status "
                f"{status}; going on with the next run",
                flush=True,
            )
        outcomes.append((run, status))
    print(f"[run_benchmark] all {len(planned)} runs done in {_duration(time.monotonic() - started)}", flush=True)
    return outcomes


def _bundle_line(out_dir: str, run_dirs: Sequence[str]) -> str:
    """Write ``out_dir/bundle`` (every run ran); return its path, or why there is none."""
    from slowfast.suite.bundle import BUNDLE_DIRNAME, BundleError, write_bundle
    from slowfast.suite.report import REPORT_FILENAME

    if not run_dirs:
        return "none: no run logged anything"
    try:
        return write_bundle(os.path.join(out_dir, BUNDLE_DIRNAME), run_dirs, os.path.join(out_dir, REPORT_FILENAME))
    except BundleError as err:
        return f"none: {err}"


def finish(out_dir: str, run_dirs: Sequence[str]) -> str:
    """Score the runs from their logs, write ``out_dir/report.html`` and the results bundle, return the final block.

    Quick-start runs are scored against their CPU references and the block is labelled as such.

    Args:
        out_dir (str): the benchmark folder.
        run_dirs (sequence of str): OUTPUT_DIRs holding mllog.txt (others are listed as missing).
    Returns:
        str: the block to print.
    """
    from slowfast.suite.report import REPORT_FILENAME, build_report, read_runs

    present = [d for d in run_dirs if os.path.isfile(os.path.join(d, keys.MLLOG_FILENAME))]
    results = read_runs(present)
    report = atomic_write_text(os.path.join(out_dir, REPORT_FILENAME), build_report(results))
    summary = summarize_runs(results)
    quickstart = bool(results) and all(r.quickstart for r in results)
    section = summary["quickstart"] if quickstart else summary
    name = "quick-start score" if quickstart else "benchmark_score"
    lines = []
    for model, entry in section["models"].items():
        if entry["scores"]:
            value = entry["olympic_mean"] or entry["spread"]["mean"]
            lines.append(f"{model:<18} score {value:.4f} ({entry['kind']}; {len(entry['scores'])} run(s))")
        else:
            lines.append(f"{model:<18} no score: no run reached the target in compliance")
    lines += [f"{d:<18} missing: no mllog.txt" for d in run_dirs if d not in present]
    combined = section["benchmark_score"]
    lines.append(
        f"{name:<18} "
        + (
            f"{combined['arithmetic']:.4f} (geometric mean {combined['geometric']:.4f})"
            if combined
            else "none: needs a CNN and a transformer score"
        )
    )
    lines.append(f"{'report':<18} {report}")
    lines.append(f"{'results bundle':<18} {_bundle_line(out_dir, present)}")
    rule = "=" * 78
    title = QUICKSTART_TITLE if quickstart else "BENCHMARK (scored configs; score = t_ref / t_bench x n_ref / n)"
    return "\n".join([rule, title, rule, *lines, rule])
