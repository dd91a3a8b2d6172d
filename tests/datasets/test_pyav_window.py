"""The PyAV window's shortcuts keep its frames: skipping non-reference frames before a clip (B-frame videos)."""

import os

import numpy as np
import pytest
from conftest import GOLDEN_DIR, moving_frames

from slowfast.datasets.pyav_reader import PyAVReader
from slowfast.datasets.video_writer import write_mp4


@pytest.fixture(scope="module")
def bframe_videos(tmp_path_factory):
    """The golden B-frame video (2 B-frames, no pyramid) and a generated one with 3 B-frames and a B-pyramid."""
    generated = str(tmp_path_factory.mktemp("bframes") / "b3.mp4")
    write_mp4(generated, moving_frames(100, 48, 64), gop=40, bframes=3)
    return [os.path.join(GOLDEN_DIR, "videos", "val_c03_0.mp4"), generated]


def _window(path, start, span, skip):
    """(pts, RGB) of every frame of the window of a clip starting at frame ``start``, and the frames decoded."""
    reader = PyAVReader(path)
    reader.skip_nonref_before_window = skip
    n, duration = reader.header
    decoded = []
    original = reader._frames_from
    reader._frames_from = lambda full_from: (decoded.append(f) or f for f in original(full_from))
    frames = reader.window(start * duration / n, (start + span - 1) * duration / n)._frames
    window = [(frame.pts, frame.to_ndarray(format="rgb24")) for frame in frames]
    reader.close()
    return window, len(decoded)


def test_skipping_non_reference_frames_before_the_window_keeps_its_frames(bframe_videos):
    for path in bframe_videos:
        n = PyAVReader(path).header[0]
        skipped = 0
        for start in [0.0, 0.4, 1.0] + list(np.linspace(2, n - 20, 5)):
            reference, decoded_in_full = _window(path, start, 16, skip=False)
            window, decoded = _window(path, start, 16, skip=True)
            assert [pts for pts, _ in window] == [pts for pts, _ in reference], (path, start)
            assert all((a == b).all() for (_, a), (_, b) in zip(window, reference)), (path, start)
            skipped += decoded_in_full - decoded
        assert skipped > 0, path  # windows far enough from their keyframe skipped B-frames
