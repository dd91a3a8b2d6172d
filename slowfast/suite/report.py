"""A self-contained HTML report of benchmark runs: plots as embedded PNGs and the score table.

Inputs per run are OUTPUT_DIR/mllog.txt (evaluations, target, score) and OUTPUT_DIR/metrics.jsonl
(curves; its record types are defined in slowfast/utils/metrics.py). A field missing from a record is left out
of the plots.
"""

import base64
import datetime
import html
import io
import numbers
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

from slowfast.benchmark.mllog import describe_implementation, describe_versions
from slowfast.benchmark.result import input_bound_text
from slowfast.benchmark.run_reader import check_run_dirs, read_run
from slowfast.benchmark.run_result import RunResult, summarize_runs
from slowfast.engine.checkpoint import saved_evaluations
from slowfast.utils.files import atomic_write_text
from slowfast.utils.metrics import read_metrics, records_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORT_FILENAME = "report.html"


def series(records: list[dict[str, Any]], record_type: str, x_key: str, y_key: str) -> tuple[list[float], list[float]]:
    """Return (xs, ys) of the records of ``record_type`` where both fields are numbers.

    Args:
        records (list of dict): metrics.jsonl records.
        record_type (str): "train_iter", "train_epoch" or "eval".
        x_key (str), y_key (str): field names of that record type.
    Returns:
        tuple of two lists of float.
    Raises:
        MetricsSchemaError: a field the record type does not have.
    """
    xs: list[float] = []
    ys: list[float] = []
    for record in records_of(records, record_type, x_key, y_key):
        x, y = record.get(x_key), record.get(y_key)
        if _is_number(x) and _is_number(y):
            xs.append(float(x))
            ys.append(float(y))
    return xs, ys


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def new_figure(figsize: tuple[float, float]) -> "Figure":
    """A matplotlib figure of ``figsize`` inches, outside pyplot (no global figure list; PNG through Agg).

    matplotlib is imported here, on the first plot: the processes that write no report (a machine's agent, the
    ranks other than 0) start ~0.5 s faster.
    """
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def png_data(figure: "Figure") -> str:
    """The figure as base64 PNG text for an ``<img src="data:image/png;base64,...">``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def time_unit(max_seconds: float) -> tuple[float, str]:
    """Return (divisor, label) for a time axis reaching ``max_seconds``: seconds, minutes or hours."""
    if max_seconds < 120:
        return 1.0, "s"
    return (60.0, "min") if max_seconds < 2 * 3600 else (3600.0, "h")


def accuracy_figure(model: str, results: Sequence[RunResult]) -> str:
    """Top-1 against wall time for every run of ``model``, with the target and the reference time."""
    figure = new_figure((7, 4))
    axis = figure.subplots()
    divisor, unit = time_unit(max(e["time_s"] for r in results for e in r.evals))
    for result in results:
        axis.plot(
            [e["time_s"] / divisor for e in result.evals],
            [e["top1"] for e in result.evals],
            marker="o",
            label=f"{result.run_dir} ({result.n_gpu} acc.)",
        )
        if result.reached and result.t_bench_s is not None:
            axis.plot([result.t_bench_s / divisor], [result.target_top1], marker="*", markersize=14, color="k")
    first = results[0]
    axis.axhline(first.target_top1, color="r", linestyle="--", label=f"target {first.target_top1:.2f} %")
    for seconds, label in reference_marks(results):
        axis.axvline(seconds / divisor, color="g", linestyle=":", label=label)
    axis.set(xlabel=f"benchmark clock ({unit})", ylabel="top-1 (%)", title=f"{model}: top-1 against wall time")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    return png_data(figure)


def reference_marks(results: Sequence[RunResult]) -> list[tuple[float, str]]:
    """Where a run scores 1 on the time axis, one mark per process count: the reference time x n_ref / n.

    Args:
        results (sequence of RunResult): runs of one model (the first one's reference is used).
    Returns:
        list of (seconds, legend label); empty without a reference time.
    """
    first = results[0]
    if not first.t_ref_s:
        return []
    marks = []
    for n in sorted({r.n_gpu for r in results}):
        seconds = first.t_ref_s * first.n_gpu_ref / n
        label = f"reference time ({_processes(first.n_gpu_ref)})"
        if n != first.n_gpu_ref:
            label = f"score 1 on {_processes(n)}: reference {first.t_ref_s:.0f} s x {first.n_gpu_ref}/{n}"
        marks.append((seconds, label))
    return marks


def _processes(count: int) -> str:
    return f"{count} process" if count == 1 else f"{count} processes"


def curve_figure(
    results: Sequence[RunResult], metrics: Sequence[list[dict[str, Any]]], y_key: str, ylabel: str
) -> str | None:
    """``y_key`` (e.g. loss or lr) against the clock per run: iteration records, else epoch records."""
    # Fewer than two iteration records draw no line; epoch records are the coarser fallback.
    curves = []
    for result, records in zip(results, metrics):
        xs, ys = series(records, "train_iter", "time", y_key)
        if len(xs) < 2:
            xs, ys = series(records, "train_epoch", "time", y_key)
        if xs:
            curves.append((result.run_dir, xs, ys))
    if not curves:
        return None
    divisor, unit = time_unit(max(max(xs) for _, xs, _ in curves))
    figure = new_figure((7, 3.5))
    axis = figure.subplots()
    for label, xs, ys in curves:
        axis.plot([x / divisor for x in xs], ys, marker=".", label=label)
    axis.set(xlabel=f"benchmark clock ({unit})", ylabel=ylabel, title=f"{ylabel} during training")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    return png_data(figure)


def throughput_figure(results: Sequence[RunResult], metrics: Sequence[list[dict[str, Any]]]) -> str | None:
    """Training clips/s and data-wait share per epoch, one line per run; None without data."""
    figure = new_figure((10, 3.5))
    speed, wait = figure.subplots(1, 2)
    plotted = False
    for result, records in zip(results, metrics):
        for axis, key in ((speed, "clips_per_s"), (wait, "data_wait_share")):
            xs, ys = series(records, "train_epoch", "epoch", key)
            if xs:
                # Records count epochs from 0; the logs and mllog's epoch_num count from 1.
                axis.plot([x + 1 for x in xs], ys, marker="o", label=result.run_dir)
                plotted = True
    if not plotted:
        return None
    speed.set(xlabel="epoch (from 1, as in the logs)", ylabel="clips / s", title="training throughput")
    wait.set(xlabel="epoch (from 1, as in the logs)", ylabel="share of step time", title="time waiting for data")
    # From zero: a zoomed axis makes noise between epochs look like swings.
    speed.set_ylim(bottom=0)
    wait.set_ylim(0, max(1.0, wait.get_ylim()[1]))
    for axis in (speed, wait):
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7)
    return png_data(figure)


def _cell(value: object, fmt: str = "") -> str:
    return "-" if value is None else html.escape(format(value, fmt))


def score_table(results: Sequence[RunResult]) -> str:
    """Return the per-run HTML table."""
    header = (
        "run",
        "model",
        "division",
        "accelerators",
        "target top-1",
        "reached",
        "t_bench (s)",
        "epochs to target",
        "score",
        "= epoch-time ratio",
        "x epochs ratio",
        "global batch (clips)",
        "base LR",
        "status",
        "implementation",
        "input-bound",
        "problems",
    )
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>"]
    for r in results:
        division = "quick-start" if r.quickstart else r.division
        notes = "; ".join(r.changes + r.problems)
        cells = (
            _cell(r.run_dir),
            _cell(r.model),
            _cell(division),
            _cell(r.n_gpu),
            _cell(r.target_top1, ".2f"),
            "yes" if r.reached else "no",
            _cell(r.t_bench_s, ".2f"),
            _cell(r.epochs_to_target),
            _cell(r.score, ".4f"),
            _cell(r.epoch_time_ratio, ".4f"),
            _cell(r.epochs_ratio, ".4f"),
            _cell(r.global_clips),
            _cell(r.base_lr, ".4g"),
            _cell(r.status),
            html.escape(
                "; ".join(
                    filter(None, (describe_implementation(r.implementation), describe_versions(r.implementation)))
                )
            ),
            html.escape(input_bound_text(r.data_wait_shares)),
            html.escape(notes),
        )
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "<table>" + "\n".join(rows) + "</table>"


def summary_html(
    models: dict[str, dict[str, Any]], combined: dict[str, float] | None, score_name: str = "benchmark_score"
) -> str:
    """Return the per-model summary and the combined score (``score_name``) as HTML."""
    items = []
    for model, entry in models.items():
        if not entry["scores"]:
            items.append(f"<li>{html.escape(model)}: no compliant run reached the target</li>")
            continue
        olympic = _cell(entry["olympic_mean"], ".4f") if entry["olympic_mean"] else "n/a (needs 3 runs)"
        s = entry["spread"]
        name = f"{html.escape(model)} ({html.escape(entry['kind'])})"
        items.append(
            f"<li>{name}: {len(entry['scores'])} run(s), mean {s['mean']:.4f}, "
            f"range {s['min']:.4f}..{s['max']:.4f}, olympic mean {olympic}</li>"
        )
    headline = (
        f"<p><b>{score_name} = {combined['arithmetic']:.4f}</b> (geometric mean {combined['geometric']:.4f})</p>"
        if combined
        else f"<p>{score_name}: needs a CNN and a transformer run that reached the target.</p>"
    )
    return "<ul>" + "".join(items) + "</ul>" + headline


def score_sections(results: Sequence[RunResult]) -> list[str]:
    """Return the HTML of the scored runs and, in their own labelled section, the quick-start runs."""
    summary = summarize_runs(results)
    scored = [r for r in results if not r.quickstart]
    quick = [r for r in results if r.quickstart]
    parts = []
    if scored or not quick:
        parts += ["<h2>Scores</h2>", score_table(scored), summary_html(summary["models"], summary["benchmark_score"])]
    if quick:
        parts += [
            "<h2>Quick-start runs (synthetic data, scored against their CPU references; not benchmark scores)</h2>",
            score_table(quick),
            summary_html(
                summary["quickstart"]["models"], summary["quickstart"]["benchmark_score"], "quick-start score"
            ),
        ]
    return parts


def build_report(results: Sequence[RunResult]) -> str:
    """Return the HTML document for ``results`` (RunResult list, each with ``run_dir`` set).

    Args:
        results (list of RunResult): runs read with ``read_run``.
    Returns:
        str: a self-contained HTML page.
    """
    metrics = [read_metrics(r.run_dir) for r in results]
    sections: list[tuple[str, str | None]] = []
    by_model: dict[str, list[RunResult]] = {}
    for result in results:
        by_model.setdefault(result.model, []).append(result)
    for model, runs in by_model.items():
        if any(r.evals for r in runs):
            sections.append((f"{model}: time to accuracy", accuracy_figure(model, runs)))
    sections.append(("Training loss", curve_figure(results, metrics, "loss", "loss")))
    sections.append(("Learning rate", curve_figure(results, metrics, "lr", "learning rate")))
    sections.append(("Throughput and data wait", throughput_figure(results, metrics)))
    body = [
        f"<h1>Video Model Benchmark report</h1><p>Generated {datetime.datetime.now():%Y-%m-%d %H:%M}. "
        "Scores are recomputed from each run's mllog.txt; score = t_ref / t_bench &times; "
        "n_gpu_ref / n_gpu = epoch-time ratio &times; epochs ratio &times; n_gpu_ref / n_gpu (the epochs "
        "ratio above 1 is convergence, not machine speed).</p>",
        *score_sections(results),
    ]
    for title, png in sections:
        body.append(f"<h2>{html.escape(title)}</h2>")
        body.append(
            f'<img alt="{html.escape(title)}" src="data:image/png;base64,{png}">'
            if png
            else "<p>No data in metrics.jsonl.</p>"
        )
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:3px 6px;font-size:90%}"
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Benchmark report</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def read_runs(run_dirs: Sequence[str]) -> list[RunResult]:
    """Read each run's results from its logs (mllog.txt, metrics.jsonl) and checkpoints.

    Args:
        run_dirs (sequence of str): run OUTPUT_DIRs.
    Returns:
        list of RunResult: one per folder, in order.
    Raises:
        UserError: a folder without mllog.txt, named.
    """
    check_run_dirs(run_dirs)
    return [read_run(run_dir, saved_evaluations(run_dir)) for run_dir in run_dirs]


def write_run_report(run_dir: str) -> str:
    """Write ``run_dir/report.html`` for one run, recomputed from its logs.

    Args:
        run_dir (str): the run's OUTPUT_DIR (holding mllog.txt).
    Returns:
        str: the report's path.
    """
    report = build_report(read_runs([run_dir]))
    return atomic_write_text(os.path.join(run_dir, REPORT_FILENAME), report)


def closing_line(run_dir: str) -> str:
    """The last line of a run: where its results are and the commands that score and compare them."""
    return (
        f"results in {run_dir}/ ({REPORT_FILENAME}, mllog.txt, metrics.jsonl); score: python tools/score.py "
        f"{run_dir}; compare: python tools/report.py {run_dir} OTHER_RUN_DIR -o compare.html"
    )


def finish_run_report(run_dir: str) -> str:
    """At the end of a run: write its report into ``run_dir``; return the closing lines to print."""
    return f"report with plots: {write_run_report(run_dir)}\n{closing_line(run_dir)}"
