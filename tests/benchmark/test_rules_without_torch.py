"""The benchmark's rules and log format (slowfast.benchmark) load without torch, so they stay pure and fast."""

import pkgutil
import subprocess
import sys

import slowfast.benchmark


def test_every_benchmark_module_imports_without_torch():
    modules = [f"slowfast.benchmark.{m.name}" for m in pkgutil.iter_modules(slowfast.benchmark.__path__)]
    assert {"slowfast.benchmark.score", "slowfast.benchmark.clock", "slowfast.benchmark.compliance"} <= set(modules)
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'matplotlib')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
