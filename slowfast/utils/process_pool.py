"""The one way the data tools fan work out to processes: an ordered map over a spawn pool, with progress.

Workers are spawned, not forked: a fork would copy torch threads the caller may already run. They ignore
Ctrl-C: the parent receives it once, and leaving the pool's ``with`` block terminates the workers. Progress is
a tqdm bar when stderr is a terminal; otherwise (output piped or logged) a log line every tenth of the items.
"""

import logging
import multiprocessing
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from tqdm import tqdm

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def map_with_progress(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int,
    desc: str,
    unit: str = "item",
    progress: bool = True,
    chunksize: int = 4,
) -> list[R]:
    """Return ``[fn(item) for item in items]``, computed in ``workers`` spawned processes when ``workers > 1``.

    Args:
        fn (callable): applied to each item; a module-level function, so that it pickles.
        items (sequence): the work, in order; each item must pickle.
        workers (int): processes; 1 (or less) runs every item in this process.
        desc (str): what the items are, e.g. "synthetic videos": the bar's label and the log lines' prefix.
        unit (str): the bar's unit, e.g. "video".
        progress (bool): False shows neither bar nor log lines.
        chunksize (int): items handed to a worker at a time.
    Returns:
        list: the results in the order of ``items``.
    """
    bar = tqdm(total=len(items), desc=desc, unit=unit, disable=None if progress else True)
    log_every = max(1, len(items) // 10) if progress and bar.disable else 0
    try:
        if workers > 1:
            with multiprocessing.get_context("spawn").Pool(workers, initializer=_ignore_interrupts) as pool:
                return _collect(pool.imap(fn, items, chunksize=chunksize), len(items), bar, desc, log_every)
        return _collect(map(fn, items), len(items), bar, desc, log_every)
    finally:
        bar.close()


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _collect(results: Iterator[R], total: int, bar: tqdm, desc: str, log_every: int) -> list[R]:
    """The results as they come, advancing the bar (and logging every ``log_every`` items when it is > 0)."""
    collected = []
    for done, result in enumerate(results, 1):
        collected.append(result)
        bar.update(1)
        if log_every and (done % log_every == 0 or done == total):
            logger.info("%s: %d/%d done (%.0f %%)", desc, done, total, 100.0 * done / total)
    return collected
