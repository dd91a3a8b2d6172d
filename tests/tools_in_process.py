"""The scripts in tools/ loaded as modules, so tests can run their ``main(argv)`` in this process: a tool's own
start from a plain checkout is tested once per tool (tests/tools/test_tool_errors.py), and an end-to-end test
need not pay ~2-4 s of imports for each further run of it."""

import contextlib
import functools
import importlib.util
import io
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.cache
def load_tool(name):
    """The module of ``tools/<name>`` (e.g. "score.py"), loaded once."""
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), os.path.join(REPO, "tools", name))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its functions pickle by name, e.g. into a process pool's workers
    spec.loader.exec_module(module)
    return module


def run_tool(name, *args):
    """Run ``tools/<name> args...`` in this process: its exit status and what it printed, as from
    ``subprocess.run(..., capture_output=True, text=True)``."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = load_tool(name).main([str(arg) for arg in args])
    return subprocess.CompletedProcess([name, *args], status, stdout.getvalue(), stderr.getvalue())


run_net = load_tool("run_net.py")
