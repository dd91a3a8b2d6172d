"""Mistakes a user can fix, and how the entry points report them and a Ctrl-C.

A ``UserError`` (bad config, command line, path, device, permission, data) is printed by the entry points
as ``error: <message>`` with no traceback and exit status 1; anything else is a bug and keeps its
traceback. ``--debug`` shows the traceback of a user error too. Ctrl-C ends a run with one line and exit
status 130 (128 + SIGINT, the shell's convention): ``RunInterrupted``'s line says where a rerun resumes, any
other Ctrl-C prints ``interrupted``. The tools reach this through ``slowfast.config.cli.run_tool``.
"""

import signal
import sys
import traceback
from collections.abc import Callable
from types import FrameType

USER_ERROR_EXIT = 1
INTERRUPTED_EXIT = 130


class UserError(Exception):
    """A mistake the user can fix; the message names what is wrong and the fix."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; carries how many epochs are saved, i.e. where a rerun resumes.

    Args:
        epochs_saved (int or None): epochs in the newest checkpoint (None when unknown).
    """

    def __init__(self, epochs_saved: int | None = None):
        super().__init__(epochs_saved)
        self.epochs_saved = epochs_saved

    def __str__(self) -> str:
        if self.epochs_saved is None:
            return "interrupted; rerun the same command to resume"
        if self.epochs_saved == 0:
            return "interrupted before the first checkpoint; rerun the same command to start again"
        return f"interrupted after epoch {self.epochs_saved}; rerun the same command to resume"


def report_user_error(err: UserError, debug: bool = False) -> int:
    """Print ``err`` as ``error: <line>`` on stderr (after its traceback with ``debug``).

    Args:
        err (UserError): the mistake, raised and caught by the caller.
        debug (bool): also print the traceback.
    Returns:
        int: ``USER_ERROR_EXIT``.
    """
    if debug:
        traceback.print_exception(type(err), err, err.__traceback__)
    for line in str(err).splitlines():
        print(f"error: {line}", file=sys.stderr)
    return USER_ERROR_EXIT


def interrupt_on_signals(on_signal: Callable[[], None] | None = None) -> None:
    """Make SIGTERM (SLURM's time limit and scancel, ``docker stop``, ``kill``) end a run like Ctrl-C.

    Both raise ``KeyboardInterrupt`` in the main thread once; later signals are ignored so that the clean-up
    (an aborted run_stop, stopping workers) is not cut short. Call from the main thread.

    Args:
        on_signal (callable or None): called first, e.g. to tell a watcher thread that this process is ending.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if on_signal is not None:
            on_signal()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def run_reporting_errors(main: Callable[[], object], debug: bool = False) -> int:
    """Call ``main()`` and turn a user error or Ctrl-C into ``error:`` line(s) on stderr and an exit status.

    Args:
        main (callable): the entry point's work.
        debug (bool): also print the traceback of a user error or Ctrl-C.
    Returns:
        int: 0, ``USER_ERROR_EXIT`` or ``INTERRUPTED_EXIT`` (or ``main()``'s integer result).
    """
    interrupt_on_signals()
    try:
        status = main()
    except UserError as err:
        return report_user_error(err, debug)
    except KeyboardInterrupt as err:
        if debug:
            traceback.print_exc()
        print(err if isinstance(err, RunInterrupted) else "interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT
    return status if isinstance(status, int) else 0
