"""The time-to-accuracy clock, following the MLPerf training rules.

Start point: the engine calls ``start()`` once initialisation is over (processes started, model built,
dataset CSVs parsed, checkpoint restored) and right before the first access to training data, i.e. before
the first batch is requested from the train loader.

The clock is never paused: evaluation, checkpointing and logging all count. It stops at the end of the
first evaluation whose top-1 reaches the target (``record_eval``); training may go on afterwards (the
reference ran all epochs) but ``t_bench`` stays fixed.

Resume: ``state_dict()`` goes into every checkpoint; a resumed run loads it and continues from the saved
elapsed time, so the time between the checkpoint and the crash is lost while the redone work counts again.

Multi-process: reading the time is done after ``sync_fn`` (``torch.cuda.synchronize`` on GPU, so queued
kernels are finished) and the local reading is passed through ``agree_fn`` (e.g. an all-reduce MAX), so
all ranks use the slowest rank's time. When ``agree_fn`` is collective, every rank must make the same
calls in the same order. This module does not import torch.
"""

import time
from collections.abc import Callable
from typing import Any


def reaches_target(top1: float, target: float) -> bool:
    """Whether an evaluation's top-1 reaches ``target`` (percent); a target of 0 or less is no target at all.

    A PySlowFast YAML sets no BENCHMARK.TARGET_TOP1 (0.0): its run is timed but never reaches a target, so it
    gets no t_bench and no score instead of "reached" at its first evaluation.
    """
    return target > 0 and top1 >= target


class BenchmarkClock:
    """Wall clock of one benchmark run; see the module docstring for the start and stop rules.

    Args:
        time_fn (callable): returns seconds from an arbitrary origin (monotonic); tests pass a fake.
        sync_fn (callable or None): called before each reading, e.g. ``torch.cuda.synchronize``.
        agree_fn (callable or None): maps this rank's elapsed seconds to the value all ranks agree on,
            e.g. the maximum over ranks.
    """

    def __init__(
        self,
        time_fn: Callable[[], float] = time.perf_counter,
        sync_fn: Callable[[], object] | None = None,
        agree_fn: Callable[[float], float] | None = None,
    ) -> None:
        self._time_fn = time_fn
        self._sync_fn = sync_fn
        self._agree_fn = agree_fn
        self._offset_s = 0.0
        self._started_at: float | None = None
        self.t_bench: float | None = None
        self.epochs_to_target: int | None = None
        self.evals: list[dict[str, Any]] = []

    @property
    def started(self) -> bool:
        """True once ``start()`` was called."""
        return self._started_at is not None

    @property
    def reached(self) -> bool:
        """True once an evaluation reached the target."""
        return self.t_bench is not None

    def start(self) -> None:
        """Start counting (continuing from a loaded elapsed time after resume).

        Raises:
            RuntimeError: when the clock already runs; a second start would hide time.
        """
        if self.started:
            raise RuntimeError("BenchmarkClock.start() called twice; the clock is never restarted")
        self._started_at = self._time_fn()

    def elapsed(self, agree: bool = False, sync: bool = True) -> float:
        """Seconds counted so far (0 before ``start``), after ``sync_fn``.

        Args:
            agree (bool): pass the reading through ``agree_fn`` (a collective call on every rank).
            sync (bool): call ``sync_fn`` first; False for a reading that must not wait for the device (a run
                aborted while a collective may hang).
        Returns:
            float: elapsed seconds, including the time restored from a checkpoint.
        """
        if sync and self._sync_fn is not None:
            self._sync_fn()
        seconds = self._offset_s
        if self._started_at is not None:
            seconds += self._time_fn() - self._started_at
        if agree and self._agree_fn is not None:
            seconds = float(self._agree_fn(seconds))
        return seconds

    def record_eval(self, epoch: int, top1: float, target: float) -> bool:
        """Record the end of an evaluation; stop the benchmark time at the first one reaching ``target``.

        Call it on every rank right after the evaluation's top-1 is known (and agreed).

        Args:
            epoch (int): 0-based index of the training epoch that was just evaluated.
            top1 (float): top-1 accuracy in percent.
            target (float): target top-1 in percent.
        Returns:
            bool: True when this or an earlier evaluation reached the target.
        Raises:
            RuntimeError: when the clock was not started.
        """
        if not self.started:
            raise RuntimeError("record_eval() before start(): the clock must run during training")
        now = self.elapsed(agree=True)
        self.evals.append({"epoch": int(epoch), "top1": float(top1), "time_s": now})
        if not self.reached and reaches_target(top1, target):
            self.t_bench = now
            # Epochs are 0-based; epoch e being evaluated means e + 1 epochs were trained.
            self.epochs_to_target = int(epoch) + 1
        return self.reached

    def state_dict(self) -> dict[str, Any]:
        """Return what a checkpoint must hold for the clock to continue after resume."""
        return {
            "elapsed_s": self.elapsed(),
            "t_bench": self.t_bench,
            "epochs_to_target": self.epochs_to_target,
            "evals": [dict(e) for e in self.evals],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's ``state_dict()``; the saved elapsed time becomes the offset.

        Args:
            state (dict): from ``state_dict()``.
        """
        self._offset_s = float(state["elapsed_s"])
        if self.started:
            self._started_at = self._time_fn()
        self.t_bench = state.get("t_bench")
        self.epochs_to_target = state.get("epochs_to_target")
        self.evals = [dict(e) for e in state.get("evals", [])]
