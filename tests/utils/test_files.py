"""Atomic writes give the file the mode any other output file gets (0666 less the umask), not mkstemp's 0600."""

import os
import stat

import pytest

from slowfast.utils.files import atomic_write_text


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_applies_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        path = atomic_write_text(str(tmp_path / "config.yaml"), "A: 1\n")
        with open(tmp_path / "plain.txt", "w") as f:  # what open() gives every other output file
            f.write("x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode == stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode)
    assert open(path).read() == "A: 1\n"
