"""Decode one clip of a video: seek to the clip, decode only its window, convert only used frames.

One sampling implementation (``decode_clip``, with the rules in temporal_sampling.py) runs on a
backend-specific frame reader: PyAV (``PyAVReader``, below) or torchcodec (torchcodec_reader.py). The window
and the frames picked from it follow PySlowFast's PyAV path exactly, but only the T frames a clip uses are
converted to RGB (PySlowFast converts every frame of the window), which is where most of its decode time
went; before the window, PyAV does not even decode the frames no other frame refers to. Every failure is
raised as ``VideoDecodeError`` so callers can count the file as bad instead of losing a worker.
"""

from dataclasses import dataclass

import av
import numpy as np

from slowfast.datasets import temporal_sampling
from slowfast.utils.errors import UserError

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


class VideoDecodeError(RuntimeError):
    """A video that cannot give a clip: missing, unreadable, undecodable or too short."""


class DecoderUnavailableError(UserError, RuntimeError):
    """DATA.DECODING_BACKEND / DECODING_DEVICE cannot run on this machine; the message says how to fix it."""


@dataclass
class DecodedClip:
    """T uint8 RGB frames of one clip and where they came from.

    Attributes:
        frames (np.ndarray): (T, H, W, 3) uint8 RGB.
        frame_numbers (list of int): source frame number of each frame (pts * time_base * fps).
        start (float): clip start s in source frames.
        end (float): s + L - 1.
        num_video_frames (int): n, from the header or counted when the header lacks it.
        short (bool): the video is shorter than the clip span (its last frame repeats).
    """

    frames: np.ndarray
    frame_numbers: list
    start: float
    end: float
    num_video_frames: int
    short: bool


class _PyAVFrames:
    """Decoded PyAV frames ordered by pts: the window or the whole video."""

    def __init__(self, frames, stream):
        self._frames, self.stream = frames, stream

    def __len__(self):
        return len(self._frames)

    def select(self, positions_of, fps):
        """RGB frames and source frame numbers of a clip.

        Args:
            positions_of (callable): ``M -> positions``, the clip's indices among these M frames.
            fps (float): the video's frame rate (frame number = timestamp in seconds * fps).
        Returns:
            tuple: (uint8 (T,H,W,3) RGB, list of T frame numbers).
        """
        positions = positions_of(len(self._frames))
        converted = {
            p: self._frames[p].to_ndarray(format="rgb24", threads=_FFMPEG_THREADS) for p in sorted(set(positions))
        }
        numbers = [int(round(float(self._frames[p].pts * self.stream.time_base) * fps)) for p in positions]
        return np.stack([converted[p] for p in positions]), numbers


class PyAVReader:
    """The PyAV frame-reading layer: header metadata, a pts window, or every frame.

    A reader has ``fps`` (float or None), ``header`` ((n, duration in pts ticks) or None),
    ``window(start_time, end_time)``, ``whole()`` and ``close()``; see decode_clip for their meaning.
    """

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


def open_reader(path, backend="pyav", multi_thread=False, device="cpu"):
    """The frame reader of ``backend`` ("pyav" or "torchcodec") on ``path``.

    Raises:
        VideoDecodeError: the file cannot be opened.
        DecoderUnavailableError: torchcodec or FFmpeg's libraries are missing.
    """
    if backend == "torchcodec":
        from slowfast.datasets import torchcodec_reader  # optional extra: imported only when chosen

        return torchcodec_reader.TorchCodecReader(path, multi_thread, device)
    return PyAVReader(path, multi_thread)


def decode_clip(
    path,
    num_frames,
    sampling_rate,
    target_fps,
    choose_start,
    min_coverage=0.0,
    multi_thread=False,
    backend="pyav",
    device="cpu",
):
    """Decode the T frames of one clip; the sampling is the same for every backend.

    With header metadata (n frames, duration D), the clip's window runs from s * D / n to
    (s + L - 1) * D / n in the stream's time unit, plus the first frame after it (PySlowFast's PyAV path);
    without it, every frame is decoded and the clip indexes the whole video.

    Args:
        path (str): video file.
        num_frames (int): T.
        sampling_rate (int): tau at ``target_fps``.
        target_fps (float): frame rate the sampling rate refers to.
        choose_start (callable): ``(n, L) -> s``, the clip start in source frames.
        min_coverage (float): videos with n < min_coverage * L are rejected as too short.
        multi_thread (bool): let FFmpeg decode with several threads.
        backend (str): DATA.DECODING_BACKEND, "pyav" or "torchcodec".
        device (str): DATA.DECODING_DEVICE, "cpu" or "cuda" (torchcodec only).
    Returns:
        DecodedClip
    Raises:
        VideoDecodeError: the file cannot be opened or decoded, has no frames, or is too short.
        DecoderUnavailableError: the backend cannot run on this machine.
    """
    reader = open_reader(path, backend, multi_thread, device)
    try:
        return _decode_open_clip(reader, path, num_frames, sampling_rate, target_fps, choose_start, min_coverage)
    except VideoDecodeError:
        raise
    except Exception as error:  # corrupt streams surface as assorted FFmpeg/PyAV/torchcodec/numpy errors
        raise VideoDecodeError(f"cannot decode {path}: {type(error).__name__}: {error}") from error
    finally:
        reader.close()


def stream_rate(stream):
    """A video stream's frame rate (Fraction): its average rate, else FFmpeg's guess; None when neither is known."""
    return stream.average_rate or stream.guessed_rate


def _decode_open_clip(reader, path, num_frames, sampling_rate, target_fps, choose_start, min_coverage):
    fps = reader.fps or float(target_fps)
    span = temporal_sampling.clip_span(num_frames, sampling_rate, target_fps, fps)
    if reader.header is None:
        frames = reader.whole()
        n = len(frames)
        _check_length(path, n, span, min_coverage)
        start = choose_start(n, span)
        positions = temporal_sampling.positions_in_video(start, span, num_frames, n)
        rgb, frame_numbers = frames.select(lambda _: positions, fps)
    else:
        n, duration = reader.header
        _check_length(path, n, span, min_coverage)
        start = choose_start(n, span)
        time_per_frame = duration / n

        def positions_of(num_decoded):
            if not num_decoded:
                raise VideoDecodeError(f"no frames decoded in {path} from frame {start:.1f} of {n} on")
            return temporal_sampling.positions_in_window(span, num_frames, num_decoded)

        frames = reader.window(start * time_per_frame, (start + span - 1) * time_per_frame)
        rgb, frame_numbers = frames.select(positions_of, fps)
    return DecodedClip(
        frames=rgb, frame_numbers=frame_numbers, start=start, end=start + span - 1, num_video_frames=n, short=n < span
    )


def _check_length(path, num_video_frames, span, min_coverage):
    if num_video_frames == 0:
        raise VideoDecodeError(f"no decodable frames in {path}")
    if num_video_frames < min_coverage * span:
        raise VideoDecodeError(
            f"{path} is too short: {num_video_frames} frames, a clip spans {span:.1f} "
            f"(DATA.MIN_CLIP_COVERAGE = {min_coverage})"
        )


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


def check_backend(backend, device="cpu"):
    """Fail early, with the fix, when DATA.DECODING_BACKEND / DECODING_DEVICE cannot run here.

    The allowed values are checked at config load (slowfast/config/checks.py); this checks the machine.

    Args:
        backend (str): "pyav" or "torchcodec".
        device (str): "cpu" or "cuda".
    Raises:
        DecoderUnavailableError: torchcodec, FFmpeg's shared libraries or CUDA are missing.
    """
    if backend == "torchcodec":
        from slowfast.datasets import torchcodec_reader

        torchcodec_reader.check_available(device)
