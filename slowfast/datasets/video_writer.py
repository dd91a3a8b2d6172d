"""Write real H.264 mp4 files with PyAV (synthetic data and tests)."""

import av
import numpy as np


def write_mp4(path, frames, fps=30, gop=None, crf=23, bframes=0):
    """Encode uint8 RGB frames to an H.264 mp4 file.

    Args:
        path (str): output file.
        frames (array-like): (T, H, W, 3) uint8 RGB; H and W must be even (yuv420p).
        fps (int or Fraction): constant frame rate.
        gop (int or None): keyframe interval in frames (None = encoder default).
        crf (int): x264 constant rate factor (quality; lower is better).
        bframes (int): number of B-frames between references.
    Returns:
        str: ``path``.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        raise ValueError(f"H.264 yuv420p needs even sizes, got {width}x{height}")
    # One encoder thread and no lookahead/macroblock-tree: x264's output is then the same bytes every time
    # (libavcodec's own slice threading and the lookahead made about 1 encode in 20 differ).
    x264 = f"bframes={bframes}:threads=1:rc-lookahead=0:mbtree=0" + (
        f":keyint={gop}:min-keyint={gop}:scenecut=0" if gop else ""
    )
    with av.open(path, mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "x264-params": x264}
        stream.codec_context.thread_count = 1
        stream.codec_context.thread_type = "NONE"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
