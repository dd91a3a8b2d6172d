"""The PyAV frame reader (DATA.DECODING_BACKEND pyav), and PyAV's whole-file probe for dataset checks.

The window a reader returns follows PySlowFast's PyAV path exactly, but only the frames a clip uses are
converted to RGB (PySlowFast converts every frame of the window), which is where most of its decode time
went; before the window, the frames no other frame refers to are not even decoded.
"""

import av
import numpy as np

from slowfast.datasets.video_reader import VideoDecodeError, frame_number

# PySlowFast seeks this many pts before the window so the keyframe search starts early enough.
_SEEK_MARGIN_PTS = 1024
# Seconds FFmpeg may block on I/O before giving up (network file systems, half-written files).
_OPEN_TIMEOUT_S = 30.0
# Threads of one frame's RGB conversion (swscale) and of the decoder unless DATA_LOADER.ENABLE_MULTI_THREAD_DECODE:
# loader workers already use every core, and FFmpeg's default (one thread per core, per call) made each frame
# wait for a handoff between threads (1.6x the CPU time per conversion, 3x the wall time on a busy machine).
_FFMPEG_THREADS = 1
# Frames decoded in full before a window even where non-reference frames are skipped: an H.264 stream that does
# not state its reorder depth (no VUI bitstream restriction) has FFmpeg learn it from the first B-frames decoded,
# which can drop or delay a frame there; this many frames ahead (twice H.264's largest depth), that stays outside.
_FULL_DECODE_FRAMES = 32


def stream_rate(stream):
    """A video stream's frame rate (Fraction): its average rate, else FFmpeg's guess; None when neither is known."""
    return stream.average_rate or stream.guessed_rate


class _PyAVFrames:
    """Decoded PyAV frames ordered by pts: the window or the whole video (a video_reader.Frames)."""

    def __init__(self, frames, stream):
        self._frames, self.stream = frames, stream

    def __len__(self):
        return len(self._frames)

    def select(self, positions_of, fps):
        """RGB frames and source frame numbers of a clip; see video_reader.Frames.select."""
        positions = positions_of(len(self._frames))
        converted = {
            p: self._frames[p].to_ndarray(format="rgb24", threads=_FFMPEG_THREADS) for p in sorted(set(positions))
        }
        numbers = [frame_number(self._frames[p].pts, self.stream.time_base, fps) for p in positions]
        return np.stack([converted[p] for p in positions]), numbers


class PyAVReader:
    """The PyAV frame-reading layer: header metadata, a pts window, or every frame (a video_reader.FrameReader)."""

    def __init__(self, path, multi_thread=False):
        try:
            self.container = av.open(path, timeout=_OPEN_TIMEOUT_S, metadata_errors="ignore")
        except Exception as error:  # FFmpeg raises many types (InvalidDataError, OSError, ...)
            raise VideoDecodeError(f"cannot open {path}: {error}") from error
        if not self.container.streams.video:
            self.container.close()
            raise VideoDecodeError(f"no video stream in {path}")
        self.stream = self.container.streams.video[0]
        # FRAME threading lets FFmpeg decode several frames at once; otherwise one thread decodes.
        if multi_thread:
            self.stream.thread_type = "AUTO"
        else:
            self.stream.thread_type, self.stream.codec_context.thread_count = "SLICE", _FFMPEG_THREADS
        # Frame threading hands packets to threads ahead of decoding; skip_frame is kept to one thread's decoding.
        self.skip_nonref_before_window = not multi_thread
        rate = stream_rate(self.stream)
        self.fps = float(rate) if rate else None
        self.header = (
            (self.stream.frames, self.stream.duration) if self.stream.frames and self.stream.duration else None
        )

    def window(self, start_time, end_time):
        """Frames with int(start_time) <= pts <= int(end_time) plus the first one after, unique by pts."""
        start_pts, end_pts = int(start_time), int(end_time)
        self.container.seek(max(start_pts - _SEEK_MARGIN_PTS, 0), any_frame=False, backward=True, stream=self.stream)
        by_pts = {}
        n, duration = self.header
        full_from = start_pts - _FULL_DECODE_FRAMES * duration / n
        for frame in self._frames_from(full_from):
            if frame.pts is None or frame.pts < start_pts:
                continue
            by_pts[frame.pts] = frame
            if frame.pts > end_pts:
                break
        return _PyAVFrames([by_pts[pts] for pts in sorted(by_pts)], self.stream)

    def _frames_from(self, full_from):
        """Decoded frames from the current position, skipping the frames no other frame refers to before ``full_from``.

        The first packet (in decode order) with pts >= full_from switches skipping off, so every frame from
        ``full_from`` on is decoded; the frames skipped before it are never used as references, so the frames
        decoded from there on are the same bits as without skipping.
        """
        codec = self.stream.codec_context
        skipping = self.skip_nonref_before_window
        if skipping:
            codec.skip_frame = "NONREF"
        try:
            for packet in self.container.demux(self.stream):
                if skipping and (packet.pts is None or packet.pts >= full_from):
                    codec.skip_frame, skipping = "DEFAULT", False
                yield from packet.decode()
        finally:
            codec.skip_frame = "DEFAULT"

    def whole(self):
        """Every frame of the video, ordered and unique by pts."""
        by_pts = {}
        for position, frame in enumerate(self.container.decode(self.stream)):
            by_pts[frame.pts if frame.pts is not None else position] = frame
        return _PyAVFrames([by_pts[pts] for pts in sorted(by_pts)], self.stream)

    def close(self):
        self.container.close()


def probe_video(path):
    """Decode every frame of a video once (dataset checks).

    Args:
        path (str): video file.
    Returns:
        dict: ``frames`` decoded, ``header_frames`` (0 when absent), ``fps``, ``height``, ``width``.
    Raises:
        VideoDecodeError: the file cannot be opened or decoded.
    """
    reader = PyAVReader(path)
    container, stream = reader.container, reader.stream
    try:
        count, size = 0, (0, 0)
        for frame in container.decode(stream):
            count, size = count + 1, (frame.height, frame.width)
        return dict(
            frames=count,
            header_frames=stream.frames or 0,
            fps=float(stream_rate(stream) or 0),
            height=size[0],
            width=size[1],
        )
    except Exception as error:
        raise VideoDecodeError(f"cannot decode {path}: {type(error).__name__}: {error}") from error
    finally:
        container.close()
