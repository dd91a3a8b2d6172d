"""The one block printed at the end of a run, and the RunResult of a live run."""

from slowfast.benchmark.mllog import describe_implementation, describe_versions
from slowfast.benchmark.score import RunResult

QUICKSTART_LABEL = "QUICK-START (synthetic data, not a Kinetics20 score)"


def summarize_run(cfg, clock, world_size, verdict, model_name, status="", implementation=None):
    """Build the RunResult of a live run from its config, clock and compliance verdict.

    Args:
        cfg (CfgNode): the run's configuration (reads BENCHMARK.*).
        clock (BenchmarkClock): the run's clock.
        world_size (int): accelerators (processes) of the run.
        verdict (ComplianceVerdict): from ``check_compliance``.
        model_name (str): name shown, e.g. "X3D_M".
        status (str): "success" or "aborted" once the run ended.
        implementation (dict or None): the value of the run's ``implementation`` event.
    Returns:
        RunResult
    """
    return RunResult(
        model=model_name, kind=cfg.BENCHMARK.KIND, target_top1=float(cfg.BENCHMARK.TARGET_TOP1),
        n_gpu=int(world_size), t_ref_s=float(cfg.BENCHMARK.REFERENCE_TIME_S),
        n_gpu_ref=int(cfg.BENCHMARK.REFERENCE_NUM_GPUS), reached=clock.reached, t_bench_s=clock.t_bench,
        epochs_to_target=clock.epochs_to_target, division=verdict.division,
        changes=verdict.change_lines(), quickstart=bool(cfg.BENCHMARK.QUICKSTART), status=status,
        evals=[dict(e) for e in clock.evals], implementation=dict(implementation or {}),
    )


def format_result_block(result):
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
        f"target top-1       {result.target_top1:.2f} %",
        f"reached            {'yes' if result.reached else 'no'}"
        + ("" if best is None else f" (best top-1 {best:.2f} % over {len(result.evals)} evaluations)"),
        f"t_bench            {_seconds(result.t_bench_s)}",
        f"epochs to target   {result.epochs_to_target if result.epochs_to_target is not None else '-'}",
        f"n_gpu              {result.n_gpu} (reference run: {result.n_gpu_ref})",
        f"t_ref              {_seconds(result.t_ref_s)}",
        f"score              {_score_text(result)}",
        f"compliance         {_compliance_text(result)}",
    ]
    lines += [f"  changed          {line}" for line in result.changes]
    if result.implementation:
        lines.append(f"implementation     {describe_implementation(result.implementation)}")
        lines.append(f"  versions         {describe_versions(result.implementation)}")
    if result.status:
        lines.append(f"run status         {result.status}")
    lines += [f"problem            {p}" for p in result.problems]
    rule = "=" * 78
    return "\n".join([rule, title, rule, *lines, rule])


def _seconds(value):
    return "-" if not value else f"{value:.2f} s ({value / 3600:.3f} h)"


def _score_text(result):
    if result.quickstart:
        # Against the quick-start's own reference (a 2-core CPU): compares machines, never a Kinetics20 score.
        if result.score is None:
            return "none (quick-start, target not reached)"
        return f"{result.score:.4f} (quick-start vs its CPU reference, not a benchmark score)"
    if result.score is None:
        return "none (target not reached)" if not result.reached else "none (no reference time)"
    text = f"{result.score:.4f}"
    return text if result.compliant else text + " (open division, not comparable)"


def _compliance_text(result):
    if result.compliant:
        return "compliant (closed division)"
    return f"NON-COMPLIANT (open division): {len(result.changes)} disallowed change(s)"
