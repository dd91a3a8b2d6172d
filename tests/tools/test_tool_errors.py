"""Every tool in tools/ runs from a plain checkout, from any folder, and reports a user mistake as one line."""

import importlib.util
import os
import subprocess
import sys

import pytest

from slowfast.utils.errors import USER_ERROR_EXIT

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(REPO, "tools")
SMOKE = os.path.join(REPO, "configs", "smoke")

# tool -> (a wrong command line, run from an empty folder; what its one error line names).
BAD_ARGUMENTS = {
    "benchmark_load.py": (["--cfg", "missing.yaml"], "config file not found: missing.yaml"),
    "benchmark_loader.py": (["--cfg", "missing.yaml"], "config file not found: missing.yaml"),
    "benchmark_model.py": (["--cfg", "missing.yaml"], "config file not found: missing.yaml"),
    "check_dataset.py": (["--cfg", "missing.yaml"], "config file not found: missing.yaml"),
    "compare.py": (["missing"], "no such folder: missing"),
    "gpu_check.py": (["--gpus", "x"], "argument --gpus: invalid int value: 'x'"),
    "make_synthetic_dataset.py": (["--out", "data", "--size", "15x16"], "must be even and >= 16, got 15x16"),
    "model_info.py": (["--cfg", "missing.yaml"], "config file not found: missing.yaml"),
    "prepare_kinetics20.py": (["--videos", "missing", "--annotations", "train.csv"], "--videos missing is not"),
    "recipe.py": (["--cfg", "missing.yaml"], "config file not found: missing.yaml"),
    "report.py": (["missing"], "no mllog.txt in missing"),
    "run_benchmark.py": (["--configs", "missing.yaml", "missing.yaml"], "config file not found: missing.yaml"),
    "run_net.py": (["--cfg", "missing.yaml"], "config file not found: missing.yaml"),
    "score.py": (["missing"], "no mllog.txt in missing"),
    "selfcheck.py": (["--cfg", "missing.yaml"], "config file not found: missing.yaml"),
    "submit.py": (["--cfg", "missing.yaml"], "config file not found: missing.yaml"),
}
# Tools whose own helpers use torch throughout, so they import it before checking their arguments; every other
# tool reports a mistake before importing torch (in a fraction of a second, not seconds).
TORCH_FIRST = {"benchmark_loader.py", "benchmark_model.py", "check_dataset.py"}


def load_tool(name):
    """tools/<name>.py as a module, so a test can call its ``main(argv)`` in this process."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS, f"{name}.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_every_tool_has_a_bad_argument_case():
    assert sorted(BAD_ARGUMENTS) == sorted(name for name in os.listdir(TOOLS) if name.endswith(".py"))


@pytest.mark.parametrize("tool", sorted(BAD_ARGUMENTS))
def test_bad_argument_is_one_error_line_from_another_folder(tool, tmp_path):
    # An installed slowfast that must not be the one imported: each tool puts its own checkout first.
    shadows = {"slowfast": "imported an installed slowfast, not the checkout"}
    if tool not in TORCH_FIRST:
        shadows["torch"] = "imported torch before checking the arguments"
    for name, message in shadows.items():
        (tmp_path / "site" / name).mkdir(parents=True)
        (tmp_path / "site" / name / "__init__.py").write_text(f"raise ImportError({message!r})\n")
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    argv, named = BAD_ARGUMENTS[tool]
    done = subprocess.run(
        [sys.executable, os.path.join(TOOLS, tool), *argv],
        cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(tmp_path / "site"), OMP_NUM_THREADS="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith("error: ") and named in errors[0], done.stderr
    assert done.returncode == USER_ERROR_EXIT


def test_model_info_puts_configs_side_by_side(capsys):
    configs = [os.path.join(SMOKE, name) for name in ("X3D_M.yaml", "MVIT_B_16x4.yaml")]
    assert load_tool("model_info").main(["--cfg", configs[0], "--cfg", configs[1], "DATA.NUM_FRAMES", "2"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[:3] for row in rows] == [[configs[0], "X3D", "2x32x32"], [configs[1], "MViT", "2x32x32"]]


def test_model_info_with_two_files_after_one_cfg_says_to_repeat_it(capsys):
    status = load_tool("model_info").main(["--cfg", "A.yaml", "B.yaml", "NUM_GPUS", "0"])
    assert status == USER_ERROR_EXIT
    assert capsys.readouterr().err.splitlines() == [
        "error: B.yaml is not a KEY VALUE override: give each config its own --cfg (--cfg A.yaml --cfg B.yaml); "
        "overrides follow the configs"
    ]
