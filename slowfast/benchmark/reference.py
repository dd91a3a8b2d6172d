"""The reference runs the scores are measured against, as data.

All reference runs trained for 20 epochs on Kinetics20 with TITAN RTX GPUs and evaluated after every epoch
on one deterministic centre view per validation video. The two scored rows define the targets; the
single-GPU X3D-M rows are informational (whole-schedule times, not times to the target).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ReferenceRun:
    """One measured reference run.

    Attributes:
        name: short model name used in logs and reports (``submission_benchmark`` in mllog.txt).
        kind: "cnn" or "transformer" for the scored rows, "" for informational rows.
        target_top1: top-1 (percent) that defines reaching the target.
        time_to_target_s: wall seconds until the first evaluation reaching ``target_top1`` (None if unknown).
        num_gpus: accelerators of the reference run.
        batch_size: global training batch.
        epochs: epochs trained.
        num_workers: data-loader workers per process.
        gpu: accelerator model.
        total_time_s: wall seconds of the whole schedule (None if unknown).
        final_top1: top-1 after the last epoch (None if unknown).
    """

    name: str
    kind: str
    target_top1: float
    time_to_target_s: float | None
    num_gpus: int
    batch_size: int
    epochs: int
    num_workers: int
    gpu: str = "NVIDIA TITAN RTX"
    total_time_s: float | None = None
    final_top1: float | None = None

    @property
    def per_gpu_batch(self) -> int:
        """Training clips per GPU and step."""
        return self.batch_size // self.num_gpus


SCORED_RUNS = (
    ReferenceRun("X3D_M", "cnn", 16.75, 3657.96, num_gpus=4, batch_size=64, epochs=20, num_workers=32),
    ReferenceRun("MVIT_B_16x4", "transformer", 34.70, 6682.53, num_gpus=4, batch_size=48, epochs=20, num_workers=32),
)

INFORMATIONAL_RUNS = tuple(
    ReferenceRun(
        "X3D_M",
        "",
        16.75,
        None,
        num_gpus=1,
        batch_size=16,
        epochs=20,
        num_workers=workers,
        total_time_s=total,
        final_top1=final,
    )
    for workers, total, final in ((8, 7970.64, 22.70), (16, 7602.86, 22.65), (32, 7654.86, 22.85))
)


def reference_for_name(name: str) -> ReferenceRun | None:
    """Return the scored reference run whose model name is ``name`` (e.g. "X3D_M"), or None."""
    for run in SCORED_RUNS:
        if run.name == name:
            return run
    return None
