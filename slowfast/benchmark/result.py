"""The one block printed at the end of a run (from a live run's RunResult or one read back from its logs)."""

from slowfast.benchmark.mllog import STATUS_ABORTED, describe_implementation, describe_versions
from slowfast.benchmark.run_result import RunResult

QUICKSTART_LABEL = "QUICK-START (synthetic data, not a Kinetics20 score)"
# Share of training time spent waiting for data above which the loader, not the accelerator, sets the speed.
INPUT_BOUND_SHARE = 0.10
INPUT_BOUND_ADVICE = (
    "more DATA_LOADER.NUM_WORKERS (CPU cores permitting), GPU decoding (DATA.DECODING_BACKEND torchcodec, "
    "DATA.DECODING_DEVICE cuda), faster storage (local SSD, not a network disk)"
)


def format_result_block(result: RunResult) -> str:
    """Return the multi-line end-of-run block for ``result`` (rank 0 prints and logs it).

    Args:
        result (RunResult): the run's outcome.
    Returns:
        str: the block, framed by rule lines, without a trailing newline.
    """
    title = QUICKSTART_LABEL if result.quickstart else "BENCHMARK RESULT"
    best = max((e["top1"] for e in result.evals), default=None)
    lines = [
        f"model              {result.model} ({result.kind or 'not scored'})",
        f"target top-1       {_target_text(result.target_top1)}",
        f"reached            {'yes' if result.reached else 'no'}"
        + ("" if best is None else f" (best top-1 {best:.2f} % over {len(result.evals)} evaluations)"),
        f"t_bench            {_seconds(result.t_bench_s)}",
        f"epochs to target   {result.epochs_to_target if result.epochs_to_target is not None else '-'}",
        f"n_gpu              {result.n_gpu} (reference run: {result.n_gpu_ref})",
        f"t_ref              {_seconds(result.t_ref_s)}",
        f"score              {_score_text(result)}",
        *_score_split_lines(result),
        f"batch              {_batch_text(result)}",
        f"base LR            {_lr_text(result)}",
        f"compliance         {_compliance_text(result)}",
    ]
    lines += [f"  changed          {line}" for line in result.changes]
    if result.bad_videos:
        lines.append(
            "bad videos         "
            + ", ".join(f"{split} {n}" for split, n in sorted(result.bad_videos.items()))
            + " (run totals, skipped and counted)"
        )
    if result.implementation:
        lines.append(f"implementation     {describe_implementation(result.implementation)}")
        lines.append(f"  versions         {describe_versions(result.implementation)}")
    if result.data_wait_shares:
        lines.append(f"input-bound        {input_bound_text(result.data_wait_shares)}")
    if result.status:
        lines.append(f"run status         {_status_text(result)}")
    if result.resumes:
        lines.append(f"resumed            {_resumes_text(result.resumes)}")
    lines += [f"problem            {p}" for p in result.problems]
    rule = "=" * 78
    return "\n".join([rule, title, rule, *lines, rule])


def _status_text(result: RunResult) -> str:
    # MLPerf's run_stop says "aborted" for any run that ends short of the target: finished epochs or Ctrl-C alike.
    if result.status != STATUS_ABORTED:
        return result.status
    ended = "did not reach the target" if result.target_top1 > 0 else "ended without a target"
    return f'{ended} (mllog.txt run_stop status "{STATUS_ABORTED}")'


def input_bound_text(shares: list[float]) -> str:
    """How much of its training time a run waited for data, and what to do when that is much.

    Args:
        shares (list of float): per epoch, the share of training time spent waiting for data (0..1).
    Returns:
        str: e.g. "31 % waiting for data (epochs 28-35 %): input-bound; try more DATA_LOADER.NUM_WORKERS, ...".
    """
    if not shares:
        return "-"
    mean = sum(shares) / len(shares)
    text = f"{100 * mean:.0f} % waiting for data (epochs {100 * min(shares):.0f}-{100 * max(shares):.0f} %)"
    if mean > INPUT_BOUND_SHARE:
        return f"{text}: input-bound; try {INPUT_BOUND_ADVICE}"
    return f"{text}: the accelerators set the pace"


def _seconds(value: float | None) -> str:
    return "-" if not value else f"{value:.2f} s ({value / 3600:.3f} h)"


def _target_text(target_top1: float) -> str:
    if target_top1 > 0:
        return f"{target_top1:.2f} %"
    return (
        "none: BENCHMARK.TARGET_TOP1 is not set, so the run is timed but not scored (a PySlowFast YAML? start "
        "from configs/X3D_M.yaml or configs/MVIT_B_16x4.yaml, or set BENCHMARK.TARGET_TOP1)"
    )


def _score_text(result: RunResult) -> str:
    if result.target_top1 <= 0:
        return "none (no target set: not scored)"
    if result.quickstart:
        # Against the quick-start's own reference (a 2-core CPU): compares machines, never a Kinetics20 score.
        if result.score is None:
            return "none (quick-start, target not reached)"
        return f"{result.score:.4f} (quick-start vs its CPU reference, not a benchmark score)"
    if result.score is None:
        return "none (target not reached)" if not result.reached else "none (no reference time)"
    text = f"{result.score:.4f}"
    return text if result.compliant else text + " (open division, not comparable)"


def _score_split_lines(result: RunResult) -> list[str]:
    """``score = epoch-time ratio x epochs ratio x GPU ratio``, and a plain warning when convergence dominates."""
    seconds, epochs_ratio = result.epoch_seconds, result.epochs_ratio
    if seconds is None or epochs_ratio is None:
        return []
    ref_epoch_s, run_epoch_s = seconds
    lines = [
        f"  = epoch time     {result.epoch_time_ratio:.4f} (reference {ref_epoch_s:.1f} s/epoch, this run "
        f"{run_epoch_s:.1f})",
        f"  x epochs         {epochs_ratio:.4f} (reference {result.reference_epochs} epochs to target, "
        f"this run {result.epochs_to_target})",
        f"  x GPUs           {result.n_gpu_ref / result.n_gpu:.4f} ({result.n_gpu_ref} / {result.n_gpu})",
    ]
    if epochs_ratio >= 1.5:
        lines.append(
            f"  note             the target took {result.epochs_to_target} epochs, the reference needed "
            f"{result.reference_epochs}: x{epochs_ratio:.2f} of this score comes from faster "
            "convergence, not from the machine"
        )
    return lines


def _batch_text(result: RunResult) -> str:
    if not result.global_videos:
        return "-"
    per_process = result.global_videos / result.n_gpu if result.n_gpu else 0
    return (
        f"{result.global_videos} videos = {result.global_clips} clips per step over {result.n_gpu} process(es) "
        f"({per_process:g} videos each)"
    )


def _lr_text(result: RunResult) -> str:
    if result.base_lr is None:
        return "-"
    return f"{result.base_lr:.6g} (x{result.lr_factor:g} linear scaling with the global batch)"


def _compliance_text(result: RunResult) -> str:
    if result.compliant:
        return "compliant (closed division)"
    return f"NON-COMPLIANT (open division): {len(result.changes)} disallowed change(s)"


def _resumes_text(resumes: list[dict[str, float]]) -> str:
    """ "2 time(s) after interruptions; redone: 1 epoch(s), 41.3 s of clock" for a run's resumes."""
    epochs = sum(int(r["epochs_redone"]) for r in resumes)
    seconds = sum(r["seconds_redone"] for r in resumes)
    return f"{len(resumes)} time(s) after interruptions; redone: {epochs} epoch(s), {seconds:.1f} s of clock"
