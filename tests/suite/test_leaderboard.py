"""A real benchmark of both smoke models, killed and rerun (tools/run_benchmark.py continues it), and its results
bundle beside plain run folders (real ones and the hand-written run in tests/benchmark/logs/): verified, ranked,
rejected with a reason, kept apart."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from tiny_kinetics import write_tiny_kinetics
from tools_in_process import run_net, run_tool

from slowfast.benchmark.bundle import read_bundle
from slowfast.suite.browser import check_page, find_browser
from slowfast.suite.leaderboard import load_bundles, rank, to_csv, to_html, to_markdown
from slowfast.suite.runner import run_state
from slowfast.utils.metrics import read_metrics, records_of

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMOKE = [os.path.join(REPO, "configs", "smoke", f"{name}.yaml") for name in ("X3D_M", "MVIT_B_16x4")]
RUN = os.path.join(REPO, "tests", "benchmark", "logs", "x3d_run_folder")
ENV = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _run_copy(root, name, *, system_name, speedup=1.0, with_wait=True):
    """A copy of the hand-written run as system ``system_name``, its clock ``speedup`` times faster."""
    run = os.path.join(root, name)
    shutil.copytree(RUN, run)
    with open(os.path.join(run, "mllog.txt")) as f:
        lines = [json.loads(line.split(" ", 1)[1]) for line in f]
    start = lines[0]["time_ms"]
    for line in lines:
        line["time_ms"] = start + (line["time_ms"] - start) / speedup
        if "clock_s" in line["metadata"]:
            line["metadata"]["clock_s"] /= speedup
        if line["key"] == "system":
            line["value"]["system_name"] = system_name
    with open(os.path.join(run, "mllog.txt"), "w") as f:
        f.writelines(f":::MLLOG {json.dumps(line)}\n" for line in lines)
    with open(os.path.join(run, "system.json")) as f:
        system = json.load(f)
    with open(os.path.join(run, "system.json"), "w") as f:
        json.dump({**system, "system_name": system_name}, f)
    with open(os.path.join(run, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    with open(os.path.join(run, "metrics.jsonl"), "w") as f:
        for record in records:
            record["time"] /= speedup
            if not with_wait:
                record.pop("data_wait_share", None)
            f.write(json.dumps(record) + "\n")
    return run


def test_run_folders_are_ranked_with_the_bundle_rules_and_show_their_input_wait(tmp_path):
    slow = _run_copy(tmp_path, "slow", system_name="slow box", with_wait=False)
    fast = _run_copy(tmp_path, "fast", system_name="fast box", speedup=2.0)
    edited = _run_copy(tmp_path, "edited", system_name="edited box", speedup=4.0)
    with open(os.path.join(edited, "system.json")) as f:
        system = json.load(f)
    with open(os.path.join(edited, "system.json"), "w") as f:
        json.dump({**system, "accelerators_per_node": 8}, f)  # claims 8 GPUs; the log ran on 1
    groups, rejected = rank(load_bundles([slow, edited, fast]))
    assert [b.path for b in rejected] == [edited]
    ((group, rows),) = groups.items()
    assert group.startswith("Kinetics20, closed division, data 0123456789ab")
    assert [(r.values["rank"], r.values["system"]) for r in rows] == [(1, "fast box"), (2, "slow box")]
    assert rows[0].values["cnn"] == pytest.approx(4.0) and rows[1].values["cnn"] == pytest.approx(2.0)
    assert rows[0].values["input_bound_share"] == pytest.approx(0.2) and rows[1].values["input_bound_share"] is None
    table = to_markdown(groups, rejected)
    assert "| input_bound_share |" in table.splitlines()[2]
    assert "| 1 | fast box |" in table and "| 0.2000 |" in table and "| 2 | slow box |" in table
    assert f"rejected `{edited}`: mllog.txt: system accelerators_per_node: the log says 1, the bundle 8" in table


def _short_run(data, epochs=1):
    """Overrides for ``epochs`` epochs on ``data`` with a target every evaluation reaches, so each run converges
    (no test, no model statistics: the leaderboard reads neither)."""
    opts = ["DATA.PATH_TO_DATA_DIR", data, "DATA.PATH_PREFIX", data, "MODEL.NUM_CLASSES", "4", "SOLVER.MAX_EPOCH"]
    return opts + [str(epochs), "TEST.ENABLE", "False", "BENCHMARK.TARGET_TOP1", "0.01", "LOG_MODEL_INFO", "False"]


def _single_run(out, data, *extra):
    """A plain run folder of the X3D smoke config (read as a one-run bundle: a cnn score, no benchmark_score),
    run in this process: one start-up less."""
    assert run_net.main(["--cfg", SMOKE[0], *_short_run(data), *extra, "OUTPUT_DIR", str(out)]) == 0
    return str(out)


def _has_second_epoch(run_dir):
    # The run is still writing: a last line without its newline does not parse and is skipped.
    return any(r["epoch"] == 1 for r in records_of(read_metrics(str(run_dir)), "train_iter", "epoch"))


@pytest.fixture(scope="module")
def interrupted_benchmark(tiny_kinetics, tmp_path_factory):
    """A benchmark of both smoke configs (two epochs, evaluated after the second, every step logged), killed with
    its run while the first run trains its second epoch, then rerun to the end: ``(command, out, rerun)``."""
    out = tmp_path_factory.mktemp("benchmark")
    command = [sys.executable, os.path.join(REPO, "tools", "run_benchmark.py"), "--configs", *SMOKE, "--out", str(out)]
    command += [*_short_run(tiny_kinetics, epochs=2), "TRAIN.EVAL_PERIOD", "2", "LOG_PERIOD", "1"]
    command += ["BENCHMARK.SUBMITTER", "tests"]
    process = subprocess.Popen(
        command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 600
    while not _has_second_epoch(out / "X3D_M" / "run_1"):
        assert process.poll() is None and time.time() < deadline, "the first run ended before it could be killed"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the benchmark and its run
    process.wait(timeout=60)
    states = [run_state(str(out / model / "run_1")) for model in ("X3D_M", "MVIT_B_16x4")]
    assert states == ["interrupted", "new"]
    rerun = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    return command, out, rerun


@pytest.mark.slow
def test_interrupted_benchmark_continues_when_rerun(interrupted_benchmark):
    command, out, rerun = interrupted_benchmark
    x3d, mvit = out / "X3D_M" / "run_1", out / "MVIT_B_16x4" / "run_1"
    assert "run 1/2: X3D_M run 1" in rerun.stdout and "(resuming;" in rerun.stdout
    with open(x3d / "log.txt") as f:
        assert "resumed from" in f.read()
    assert run_state(str(x3d)) == run_state(str(mvit)) == "finished"
    assert "QUICK-START BENCHMARK" in rerun.stdout and f"report             {out}/report.html" in rerun.stdout
    assert (out / "report.html").is_file() and (x3d / "report.html").is_file() and (mvit / "report.html").is_file()

    mllog_sizes = [os.path.getsize(d / "mllog.txt") for d in (x3d, mvit)]
    again = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0
    assert again.stdout.count("finished earlier, kept") == 2
    assert [os.path.getsize(d / "mllog.txt") for d in (x3d, mvit)] == mllog_sizes  # nothing ran again


@pytest.fixture(scope="module")
def bundles(interrupted_benchmark, tiny_kinetics, tmp_path_factory):
    """The interrupted benchmark's bundle, one model's run on the same machine under another system name, the
    bundle with an edited log, one model's run on another data set."""
    root = tmp_path_factory.mktemp("bundles")
    other_data = write_tiny_kinetics(root / "other_data", train_per_class=5, seed=1)
    good = str(interrupted_benchmark[1] / "bundle")
    renamed = _single_run(root / "b", tiny_kinetics, "BENCHMARK.SYSTEM_NAME", "second box")
    other = _single_run(root / "c", other_data)
    edited = str(root / "edited")
    shutil.copytree(good, edited)
    log = next(os.path.join(d, f) for d, _, fs in os.walk(edited) for f in fs if f == "result_1.txt")
    with open(log) as f:
        text = f.read()
    # Claim a better evaluation than the run measured (the metrics still hold the real one).
    head, tail = text.split('"key": "eval_accuracy", "value": ', 1)
    with open(log, "w") as f:
        f.write(head + '"key": "eval_accuracy", "value": 99.5' + tail[tail.index(",") :])
    return {"good": good, "renamed": renamed, "edited": edited, "other": other}


@pytest.mark.slow
def test_bundle_layout_and_verification(bundles):
    good = read_bundle(bundles["good"])
    assert good.problems == []
    assert good.system["submitter"] == "tests" and good.system["world_size"] == 1
    assert good.system["accelerators_per_node"] in (0, good.system["world_size"])
    assert sorted(r.model for r in good.results) == ["MVIT_B_16x4", "X3D_M"]
    assert good.fingerprint["train"]["videos"] == 24 and good.scores["benchmark_score"] is not None
    edited = read_bundle(bundles["edited"])
    assert any("metrics.jsonl" in p and "99.5" in p for p in edited.problems), edited.problems
    score = run_tool("score.py", bundles["edited"])
    assert score.returncode == 1 and "FAILED" in score.stdout


@pytest.mark.slow
def test_leaderboard_ranks_good_bundles_rejects_edited_and_separates_data(bundles, tmp_path):
    groups, rejected = rank(load_bundles(list(bundles.values())))
    assert [b.path for b in rejected] == [bundles["edited"]]
    assert len(groups) == 2  # the other data set is a group of its own
    shared, alone = sorted(groups.values(), key=len, reverse=True)
    # The bundle has a benchmark_score and ranks first; the one-model run under another system name follows.
    assert [(r.values["rank"], r.values["bundle"]) for r in shared] == [(1, bundles["good"]), (2, bundles["renamed"])]
    assert shared[1].values["system"] == "second box" and shared[1].values["benchmark_score"] is None
    assert [r.values["bundle"] for r in alone] == [bundles["other"]]
    assert to_csv(groups).count("\n") == 4 and "rejected `" + bundles["edited"] in to_markdown(groups, rejected)
    page = tmp_path / "leaderboard.html"
    done = run_tool("compare.py", *bundles.values(), "-o", page)
    assert done.returncode == 1 and "rejected " + bundles["edited"] in done.stderr
    html = page.read_text()
    assert html.count("data:image/png;base64,") == 4 and "second box" in html and "Rejected" in html


@pytest.mark.slow
@pytest.mark.skipif(find_browser() is None, reason="chromium is not installed (.ci/run installs it with apt)")
def test_leaderboard_renders_in_chromium_without_console_errors(bundles, tmp_path):
    groups, rejected = rank(load_bundles(list(bundles.values())))
    page, shot = tmp_path / "board.html", tmp_path / "board.png"
    page.write_text(to_html(groups, rejected))
    assert check_page(str(page), str(shot), find_browser()) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>undefined_function()</script></body></html>")
    assert check_page(str(broken), str(tmp_path / "broken.png"), find_browser()) != []


@pytest.mark.slow
def test_a_real_run_folder_ranks_beside_its_bundle_with_the_measured_input_wait(bundles):
    run = os.path.join(os.path.dirname(bundles["good"]), "X3D_M", "run_1")
    groups, rejected = rank(load_bundles([run, bundles["good"]]))
    assert rejected == []
    ((_, rows),) = groups.items()
    # The bundle has a benchmark_score and ranks first; the run folder has its one model's score.
    assert [r.values["bundle"] for r in rows] == [bundles["good"], run]
    assert rows[1].values["cnn"] == pytest.approx(rows[0].values["cnn"]) and rows[1].values["transformer"] is None
    assert all(0.0 <= r.values["input_bound_share"] <= 1.0 for r in rows)
