"""A leaderboard across results bundles: rows per system and division, ranked only among comparable results.

Each input is a results bundle, a run_benchmark folder holding one, or a plain run folder (a run's OUTPUT_DIR,
read as a one-run bundle). Bundles that fail verification (slowfast/benchmark/bundle.py) are listed with their
reasons and never ranked. Results are ranked only within one group: the same dataset fingerprint digest,
division and kind (quick-start or Kinetics20), best benchmark_score first; rows without one (a single model's
runs) follow, by their cnn and then transformer score. input_bound_share is the mean share of the train epochs
spent waiting for input, where the runs' metrics record it.
"""

import csv
import html
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slowfast.benchmark.bundle import Bundle, read_bundle, read_run_folder
from slowfast.benchmark.mllog import MLLOG_FILENAME
from slowfast.suite.bundle import BUNDLE_DIRNAME
from slowfast.suite.report import new_figure, png_data, time_unit

COLUMNS = (
    *("group", "rank", "system", "division", "gpus", "nodes", "accelerator", "cnn", "transformer"),
    *("benchmark_score", "score_per_gpu", "epochs_ratio", "input_bound_share", "bundle"),
)


@dataclass
class Row:
    """One verified bundle's line of the leaderboard."""

    group: str
    values: dict[str, Any]
    bundle: Bundle


def load_bundles(paths: Sequence[str]) -> list[Bundle]:
    """Read each path as a run_benchmark folder holding ``bundle/``, a run folder (mllog.txt) or a bundle."""
    bundles = []
    for path in paths:
        inner = os.path.join(path, BUNDLE_DIRNAME)
        if os.path.isdir(inner):
            bundles.append(read_bundle(inner))
        elif os.path.isfile(os.path.join(path, MLLOG_FILENAME)):
            bundles.append(read_run_folder(path))
        else:
            bundles.append(read_bundle(path))
    return bundles


def _row(bundle: Bundle) -> Row:
    system, scores = bundle.system, bundle.scores
    by_kind = {e["kind"]: e for e in scores["models"].values()}
    combined = (scores["benchmark_score"] or {}).get("arithmetic")
    gpus = int(system["number_of_nodes"]) * int(system["accelerators_per_node"])
    ratios = [e["epochs_ratio"] for e in by_kind.values() if e["epochs_ratio"] is not None]
    waits = [share for share in bundle.data_wait_shares if share is not None]
    kind = "quick-start" if scores["quickstart"] else "Kinetics20"
    group = f"{kind}, {scores['division']} division, data {bundle.fingerprint.get('digest', '?')[:12]}"
    values = {
        "system": system["system_name"],
        "division": scores["division"],
        "gpus": gpus,
        "nodes": system["number_of_nodes"],
        "accelerator": system["accelerator_model_name"],
        "cnn": by_kind.get("cnn", {}).get("score"),
        "transformer": by_kind.get("transformer", {}).get("score"),
        "benchmark_score": combined,
        "score_per_gpu": combined / gpus if combined is not None and gpus else None,
        "epochs_ratio": sum(ratios) / len(ratios) if ratios else None,
        "input_bound_share": sum(waits) / len(waits) if waits else None,
        "bundle": bundle.path,
    }
    return Row(group, values, bundle)


def _rank_key(row: Row) -> tuple[float, ...]:
    """Best benchmark_score first; rows without one after, by cnn and then transformer score (None last)."""
    return tuple(
        -(row.values[c] if row.values[c] is not None else -1.0) for c in ("benchmark_score", "cnn", "transformer")
    )


def rank(bundles: Sequence[Bundle]) -> tuple[dict[str, list[Row]], list[Bundle]]:
    """Rank verified bundles within their groups.

    Returns:
        tuple: ({group: rows in the order of the module's docstring, each with "rank"}, bundles rejected by
        verification).
    """
    groups: dict[str, list[Row]] = {}
    for row in (_row(b) for b in bundles if not b.problems):
        groups.setdefault(row.group, []).append(row)
    for rows in groups.values():
        rows.sort(key=_rank_key)
        for position, row in enumerate(rows, 1):
            row.values["rank"] = position
    return groups, [b for b in bundles if b.problems]


def _text(value: object) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def to_csv(groups: dict[str, list[Row]]) -> str:
    """The ranked rows as CSV with a header line of COLUMNS."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for group, rows in groups.items():
        for row in rows:
            writer.writerow([group if c == "group" else _text(row.values.get(c)) for c in COLUMNS])
    return out.getvalue()


def to_markdown(groups: dict[str, list[Row]], rejected: Sequence[Bundle]) -> str:
    """A Markdown table per group, then the rejected bundles with their first reason."""
    lines = []
    for group, rows in groups.items():
        lines += [f"**{group}**", "", "| " + " | ".join(COLUMNS[1:-1]) + " |", "|" + "---|" * (len(COLUMNS) - 2)]
        lines += ["| " + " | ".join(_text(r.values.get(c)) for c in COLUMNS[1:-1]) + " |" for r in rows]
        lines.append("")
    lines += [f"- rejected `{b.path}`: {b.problems[0]}" for b in rejected]
    return "\n".join(lines) + "\n"


def _curves_figure(rows: Sequence[Row]) -> str:
    """Time-to-accuracy curves of every run, one colour per system, one marker per model."""
    figure = new_figure((7, 4))
    axis = figure.subplots()
    longest = max((e["time_s"] for r in rows for res in r.bundle.results for e in res.evals), default=1.0)
    scale, unit = time_unit(longest)
    for index, row in enumerate(rows):
        labelled: set[str] = set()
        for result in row.bundle.results:
            xs = [e["time_s"] / scale for e in result.evals]
            label = None if result.model in labelled else f"{row.values['system']}: {result.model}"
            labelled.add(result.model)
            marker = "s" if result.kind == "transformer" else "o"
            axis.plot(xs, [e["top1"] for e in result.evals], marker=marker, color=f"C{index}", label=label)
    axis.set(xlabel=f"benchmark clock ({unit})", ylabel="top-1 (%)", title="time to accuracy")
    axis.legend(fontsize="small")
    return png_data(figure)


def _gpu_figure(rows: Sequence[Row]) -> str:
    """benchmark_score against the GPU count (CPU systems at 0; rows without a benchmark_score are left out)."""
    figure = new_figure((5, 4))
    axis = figure.subplots()
    for index, row in enumerate(rows):
        point = (row.values["gpus"], row.values["benchmark_score"])
        if point[1] is not None:
            axis.scatter([point[0]], [point[1]], color=f"C{index}")
            axis.annotate(row.values["system"], point, fontsize=8)
    axis.set(xlabel="GPUs", ylabel="benchmark_score", title="score against GPU count")
    return png_data(figure)


def to_html(groups: dict[str, list[Row]], rejected: Sequence[Bundle]) -> str:
    """The leaderboard page: a table and two plots per group, then the rejected bundles with their reasons."""
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>Leaderboard</title></head><body>"]
    parts.append("<h1>Leaderboard</h1>")
    for group, rows in groups.items():
        head = "".join(f"<th>{c}</th>" for c in COLUMNS[1:])
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_text(r.values.get(c)))}</td>" for c in COLUMNS[1:]) + "</tr>"
            for r in rows
        )
        parts.append(f"<h2>{html.escape(group)}</h2><table border='1'><tr>{head}</tr>{body}</table>")
        for png in (_curves_figure(rows), _gpu_figure(rows)):
            parts.append(f"<img alt='plot' src='data:image/png;base64,{png}'>")
    if rejected:
        items = "".join(
            f"<li><b>{html.escape(b.path)}</b>: {html.escape('; '.join(b.problems))}</li>" for b in rejected
        )
        parts.append(f"<h2>Rejected (failed verification, not ranked)</h2><ul>{items}</ul>")
    return "".join(parts) + "</body></html>\n"
