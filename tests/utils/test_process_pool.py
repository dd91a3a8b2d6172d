"""The one process-pool runner of the data tools: ordered results, interrupt-proof workers, progress lines."""

import logging
import signal

from slowfast.utils.process_pool import map_with_progress


def test_results_keep_the_order_of_the_items_in_a_spawn_pool():
    items = [-5, 3, -1, 8, -2, 7, 0, -9, 4]
    results = map_with_progress(abs, items, workers=2, desc="numbers", progress=False, chunksize=2)
    assert results == [5, 3, 1, 8, 2, 7, 0, 9, 4]


def test_workers_ignore_ctrl_c_so_that_the_parent_handles_it_once():
    handlers = map_with_progress(signal.getsignal, [signal.SIGINT] * 2, workers=2, desc="handlers", progress=False)
    assert handlers == [signal.SIG_IGN, signal.SIG_IGN]
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN  # the parent's own handler is untouched


def test_without_a_terminal_progress_is_a_log_line_every_tenth_of_the_items(caplog):
    # Under pytest stderr is not a terminal, so tqdm's bar is off and log lines stand in for it.
    with caplog.at_level(logging.INFO, logger="slowfast.utils.process_pool"):
        results = map_with_progress(abs, list(range(-20, 0)), workers=1, desc="numbers")
    assert results == list(range(20, 0, -1))
    assert caplog.messages == [f"numbers: {n}/20 done ({5 * n} %)" for n in range(2, 21, 2)]


def test_no_progress_logs_nothing(caplog):
    with caplog.at_level(logging.INFO, logger="slowfast.utils.process_pool"):
        map_with_progress(abs, [-1, -2], workers=1, desc="numbers", progress=False)
    assert caplog.messages == []
