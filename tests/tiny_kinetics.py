"""The tiny synthetic Kinetics-format data set the end-to-end tests run on (conftest writes it once a session)."""

from dataclasses import replace

from slowfast.datasets.synthetic import SyntheticSpec, make_synthetic_dataset

# 4 classes x (6 train, 2 val) videos of 64x48 pixels, 2 s at 15 fps: real H.264 mp4 files.
TINY_KINETICS = SyntheticSpec(
    train_per_class=6,
    val_per_class=2,
    test_per_class=0,
    width=64,
    height=48,
    fps=15,
    seconds=2.0,
    gop=15,
    seed=0,
    num_classes=4,
)


def write_tiny_kinetics(out_dir, **changes):
    """Write ``TINY_KINETICS`` with ``changes`` (other ``SyntheticSpec`` values) to ``out_dir``.

    Args:
        out_dir (str or Path): a new or empty folder.
        **changes: e.g. ``seed=1`` for another data set of the same size.
    Returns:
        str: ``out_dir``.
    """
    make_synthetic_dataset(replace(TINY_KINETICS, **changes), out_dir=str(out_dir), progress=False)
    return str(out_dir)
