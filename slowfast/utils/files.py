"""The one way to write a file atomically: a temporary file in the same folder, fsync, rename.

A reader (or a process resumed after a crash) sees either the previous complete file or the new complete
file, never a partial one: the rename is atomic on POSIX file systems, and fsync'ing the file and then its
folder makes both the content and the rename survive a power loss.
"""

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from typing import IO, Any


def atomic_write(path: str, write_fn: Callable[[IO[bytes]], Any]) -> str:
    """Write ``path`` atomically; ``write_fn`` receives a binary file object to write the content to.

    Args:
        path (str): final file; its folder is created if needed.
        write_fn (callable): ``write_fn(f)`` writes the content (e.g. ``lambda f: torch.save(state, f)``).
    Returns:
        str: ``path``.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would hide config.yaml and checkpoints from the group
        with os.fdopen(fd, "wb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)
    return path


def set_aside(path: str, label: str) -> str | None:
    """Rename ``path`` to a free name beside it, ``stem.LABEL-N.ext`` (N = 1, 2, ...), if it exists.

    Args:
        path (str): the file to move out of the way, e.g. "out/mllog.txt".
        label (str): what the kept copy is, e.g. "previous" gives "out/mllog.previous-1.txt".
    Returns:
        str or None: the new path, or None when there was no file.
    """
    if not os.path.exists(path):
        return None
    stem, ext = os.path.splitext(path)
    number = 1
    while os.path.exists(f"{stem}.{label}-{number}{ext}"):
        number += 1
    os.replace(path, f"{stem}.{label}-{number}{ext}")
    return f"{stem}.{label}-{number}{ext}"


def _umask() -> int:
    """The process's umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str, text: str) -> str:
    """Write ``text`` (UTF-8) to ``path`` atomically; see ``atomic_write``.

    Returns:
        str: ``path``.
    """
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def atomic_write_lines(path: str, lines: Iterable[str]) -> str:
    """Write ``lines``, each followed by a newline, to ``path`` atomically.

    Returns:
        str: ``path``.
    """
    return atomic_write_text(path, "".join(f"{line}\n" for line in lines))


def atomic_write_json(path: str, record: Any) -> str:
    """Write ``record`` as indented JSON (with a final newline) to ``path`` atomically.

    Returns:
        str: ``path``.
    """
    return atomic_write_text(path, json.dumps(record, indent=2) + "\n")
