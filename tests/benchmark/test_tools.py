"""tools/score.py and tools/report.py (in this process) run on the hand-written logs in tests/benchmark/logs/."""

import base64
import io
import json
import os
import re

import matplotlib.image
import pytest
from tools_in_process import run_tool

from slowfast.utils.errors import USER_ERROR_EXIT

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOGS = os.path.join(REPO, "tests", "benchmark", "logs")
RUNS = ["x3d_4gpu_a", "x3d_1gpu", "x3d_4gpu_b", "mvit_4gpu", "x3d_open", "x3d_aborted"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_score_tool_recomputes_from_logs():
    done = run_tool("score.py", *[os.path.join(LOGS, r) for r in RUNS])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "benchmark_score = 1.5000" in done.stdout
    assert "geometric mean 1.4142" in done.stdout
    assert "olympic mean 2.0000" in done.stdout
    assert "changed (open division): SOLVER.BASE_LR: 0.05 -> 0.1" in done.stdout


def test_score_tool_json_and_problem_exit_status(tmp_path):
    done = run_tool("score.py", "--json", os.path.join(LOGS, "x3d_4gpu_a"), os.path.join(LOGS, "x3d_1gpu"))
    summary = json.loads(done.stdout)
    assert [r["score"] for r in summary["runs"]] == pytest.approx([2.0, 2.0])
    assert summary["benchmark_score"] is None
    (tmp_path / "mllog.txt").write_text(':::MLLOG {"broken json\n')
    assert run_tool("score.py", str(tmp_path)).returncode == 1
    missing = run_tool("score.py", str(tmp_path / "missing"))
    assert missing.returncode == USER_ERROR_EXIT
    assert missing.stderr.splitlines() == [f"error: no mllog.txt in {tmp_path / 'missing'}: pass a run's OUTPUT_DIR"]


def test_report_embeds_decodable_plots(tmp_path):
    out = tmp_path / "report.html"
    done = run_tool("report.py", *[os.path.join(LOGS, r) for r in RUNS], "-o", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    page = out.read_text()
    assert "benchmark_score = 1.5000" in page and "SOLVER.BASE_LR" in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    # Time to accuracy for X3D_M and MVIT_B_16x4, loss, learning rate, throughput + data wait.
    assert len(images) == 5
    for encoded in images:
        data = base64.b64decode(encoded)
        assert data.startswith(PNG_SIGNATURE)
        pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300
        assert pixels.std() > 0.01  # not a blank canvas


def test_report_without_metrics_still_renders(tmp_path):
    out = tmp_path / "report.html"
    done = run_tool("report.py", os.path.join(LOGS, "x3d_1gpu"), "-o", str(out))
    assert done.returncode == 0
    page = out.read_text()
    assert page.count("data:image/png;base64,") == 1
    assert page.count("No data in metrics.jsonl.") == 3


def test_quickstart_runs_get_their_own_section_in_score_and_report(tmp_path):
    run = tmp_path / "quickstart_x3d"
    run.mkdir()
    with open(os.path.join(LOGS, "x3d_4gpu_a", "mllog.txt")) as f:
        text = f.read()
    flag = '"key": "quickstart", "value": '
    (run / "mllog.txt").write_text(text.replace(flag + "false", flag + "true"))
    done = run_tool("score.py", str(run))
    assert "QUICK-START" in done.stdout and "Quick-start runs" in done.stdout
    assert "no scored run" not in done.stdout and "benchmark_score" not in done.stdout  # nothing contradicts the run
    out = tmp_path / "report.html"
    assert run_tool("report.py", str(run), "-o", str(out)).returncode == 0
    page = out.read_text()
    assert "<h2>Quick-start runs" in page and "<h2>Scores</h2>" not in page
    assert "quick-start score" in page and "no compliant run reached the target" not in page
