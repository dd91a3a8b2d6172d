"""tools/run_net.py loaded as a module, so tests can call its ``main(argv)`` in-process."""

import importlib.util
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_NET = os.path.join(REPO, "tools", "run_net.py")

_spec = importlib.util.spec_from_file_location("run_net", RUN_NET)
run_net = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_net)
