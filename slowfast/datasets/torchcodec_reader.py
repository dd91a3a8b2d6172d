"""The torchcodec frame reader (DATA.DECODING_BACKEND torchcodec), and its preconditions.

torchcodec (``pip install -e ".[torchcodec]"``) decodes with the system's FFmpeg shared libraries, which pip
cannot install; ``check_available`` names the missing library and the apt-get line that installs it.

The sampling is decoder.py's; this module only answers its questions (video_reader.FrameReader): the header
(read with PyAV's demuxer, as the PyAV backend reads it), which frames fall in a clip's pts window (plus the
first one after it), and the RGB pixels of the few frames a clip uses, which torchcodec fetches by frame index,
decoding from the keyframe before them and converting only those frames. A window's frame indices come from the
header's frame grid (frame k at start + k * duration / n ticks) and are verified on the timestamp of every
decoded frame; a video whose timestamps leave that grid (variable frame rate) falls back to decoding the whole
video and selecting the window by timestamp, which is exact but slower. torchcodec scans the file when opening
it ("exact" mode), so frame k is the k-th in timestamp order.
"""

import ctypes
import functools
import math

import torch

from slowfast.datasets.pyav_reader import PyAVReader
from slowfast.datasets.video_reader import DecoderUnavailableError, decode_error, frame_number
from slowfast.utils.distributed import cuda_device_index, get_local_rank

# FFmpeg libraries torchcodec links, and their shared-library major versions for each FFmpeg major
# version torchcodec 0.17 ships a build for (its libtorchcodec_core4.so ... libtorchcodec_core9.so).
_FFMPEG_LIBRARIES = ("avutil", "avcodec", "avformat", "avdevice", "avfilter", "swscale", "swresample")
_FFMPEG_SONAMES = {
    4: (56, 58, 58, 58, 7, 5, 3),
    5: (57, 59, 59, 59, 8, 6, 4),
    6: (58, 60, 60, 60, 9, 7, 4),
    7: (59, 61, 61, 61, 10, 8, 5),
    8: (60, 62, 62, 62, 11, 9, 6),
    9: (61, 63, 63, 63, 12, 10, 7),
}
# Frames of float rounding allowed when locating a window's first frame on the header's frame grid.
_GRID_SLACK_FRAMES = 1e-6
# Frames a timestamp may sit off that grid: timestamps rounded to whole milliseconds (at most 0.5 ms, 1.5 % of a
# frame at 30 fps) stay on it; variable frame rates leave it.
_GRID_TOLERANCE_FRAMES = 0.05


def _soname(library, major):
    return f"lib{library}.so.{major}"


def _can_load(soname):
    try:
        ctypes.CDLL(soname)
        return True
    except OSError:
        return False


def missing_ffmpeg_libraries(can_load=_can_load):
    """FFmpeg shared libraries torchcodec cannot find, for the FFmpeg version closest to complete.

    Args:
        can_load (callable): ``soname -> bool`` (default: try to load it).
    Returns:
        tuple: (FFmpeg major version, list of missing sonames); the list is empty when that version is
        complete. The version is the one with the most libraries present (the newest on a tie).
    """
    best = None
    for version in sorted(_FFMPEG_SONAMES, reverse=True):
        names = [_soname(lib, major) for lib, major in zip(_FFMPEG_LIBRARIES, _FFMPEG_SONAMES[version])]
        missing = [name for name in names if not can_load(name)]
        if not missing:
            return version, []
        if best is None or len(missing) < len(best[1]):
            best = (version, missing)
    return best


def ffmpeg_fix_message(version, missing):
    """One line naming the missing FFmpeg libraries and the apt-get command that installs them.

    Args:
        version (int): FFmpeg major version the libraries belong to.
        missing (list of str): sonames, e.g. ["libavdevice.so.59"].
    Returns:
        str
    """
    if len(missing) == len(_FFMPEG_LIBRARIES):
        return (
            "DATA.DECODING_BACKEND torchcodec needs FFmpeg's shared libraries (FFmpeg 4 to 9) and none is "
            "installed (libavutil.so.56 to .61 not found): run `apt-get install -y ffmpeg` "
            "(Debian/Ubuntu, as root) or use DATA.DECODING_BACKEND pyav"
        )
    packages = " ".join(name.replace(".so.", "") for name in missing)  # Debian names libavdevice.so.59 libavdevice59
    return (
        f"DATA.DECODING_BACKEND torchcodec needs FFmpeg {version}'s {', '.join(missing)}, not found: run "
        f"`apt-get install -y {packages}` (Debian/Ubuntu, as root) or use DATA.DECODING_BACKEND pyav"
    )


@functools.cache
def _video_decoder_class():
    """torchcodec's VideoDecoder once FFmpeg is loadable; DecoderUnavailableError with the fix otherwise."""
    try:
        import torchcodec
    except ImportError as error:
        raise DecoderUnavailableError(
            f"DATA.DECODING_BACKEND torchcodec needs the torchcodec package ({error}): run "
            '`pip install -e ".[torchcodec]"` or use DATA.DECODING_BACKEND pyav'
        ) from error
    if torchcodec.ffmpeg_major_version is None:  # torchcodec imports without FFmpeg and reports it here
        version, missing = missing_ffmpeg_libraries()
        if missing:
            raise DecoderUnavailableError(ffmpeg_fix_message(version, missing))
        raise DecoderUnavailableError(
            f"torchcodec {torchcodec.__version__} cannot load FFmpeg {version}'s libraries with torch "
            f"{torch.__version__}: install the torchcodec version of setup.py's [torchcodec] extra"
        )
    from torchcodec.decoders import VideoDecoder

    return VideoDecoder


def check_available(device="cpu"):
    """Raise DecoderUnavailableError, with the fix, unless torchcodec can decode on ``device`` here.

    Args:
        device (str): "cpu" or "cuda" (DATA.DECODING_DEVICE).
    """
    _video_decoder_class()
    if device == "cuda" and not torch.cuda.is_available():
        raise DecoderUnavailableError(
            "DATA.DECODING_DEVICE cuda needs a CUDA GPU and torch sees none: use DATA.DECODING_DEVICE cpu"
        )


def decode_device(device):
    """The torch device string to decode on: "cpu", or this process's own GPU for "cuda".

    A bare "cuda" would be device 0 in every process, loader workers included: every rank's decoders on one GPU.
    Workers inherit LOCAL_RANK from their training process, so they decode on its GPU (``cuda_device_index``).

    Args:
        device (str): DATA.DECODING_DEVICE, "cpu" or "cuda".
    Returns:
        str: "cpu" or "cuda:<index>".
    """
    if device != "cuda":
        return device
    return f"cuda:{cuda_device_index(get_local_rank(), torch.cuda.device_count())}"


class _Frames:
    """Frames ``first .. stop - 1`` of the decoder's index: a clip's window or the whole video."""

    def __init__(self, reader, first, stop, bounds=None):
        self._reader, self._first, self._stop, self._bounds = reader, first, stop, bounds

    def __len__(self):
        return max(self._stop - self._first, 0)

    def select(self, positions_of, fps):
        """RGB frames and source frame numbers at ``positions_of(len(self))``; see video_reader.Frames.select."""
        reader = self._reader
        indices = [self._first + p for p in positions_of(len(self))]
        unique = sorted(set(indices))
        # A window starting within the grid's tolerance of a frame's timestamp also decodes the frame before its
        # first one: that frame's own timestamp then says whether the window starts where the grid puts it.
        previous = self._bounds is not None and reader.start_is_near_a_frame(self._first, self._bounds[0])
        requested = [self._first - 1] + unique if previous else unique
        batch = reader.decoder.get_frames_at(requested)
        seconds = batch.pts_seconds.tolist()
        if self._bounds is not None and not reader.on_grid(requested, seconds, self._first, self._bounds[0]):
            return reader.window_by_timestamps(*self._bounds).select(positions_of, fps)
        row = {index: k for k, index in enumerate(requested)}
        rows = [row[i] for i in indices]
        return batch.data[rows].cpu().numpy(), reader.frame_numbers([seconds[r] for r in rows], fps)


class _DecodedFrames:
    """Frames already decoded to RGB (the timestamp fallback's window)."""

    def __init__(self, reader, rgb, seconds):
        self._reader, self._rgb, self._seconds = reader, rgb, seconds

    def __len__(self):
        return len(self._seconds)

    def select(self, positions_of, fps):
        """RGB frames and source frame numbers at ``positions_of(len(self))``."""
        positions = positions_of(len(self))
        return self._rgb[positions].cpu().numpy(), self._reader.frame_numbers(
            [self._seconds[p] for p in positions], fps
        )


class TorchCodecReader:
    """A video_reader.FrameReader (``fps``, ``header``, ``window``, ``whole``) decoding with torchcodec.

    The header (frame count, duration and time base in pts ticks, frame rate) is read with PyAV's demuxer,
    exactly as the PyAV backend reads it: torchcodec 0.17 reports these in seconds only, and the window's
    bounds are truncated to whole ticks (PySlowFast's rule), which seconds cannot reproduce.
    """

    def __init__(self, path, multi_thread=False, device="cpu"):
        video_decoder = _video_decoder_class()  # DecoderUnavailableError before any file is touched
        device = decode_device(device)
        header_reader = PyAVReader(path)  # VideoDecodeError, as with PyAV, for bad files
        self.fps, self.header = header_reader.fps, header_reader.header
        stream = header_reader.stream
        self._time_base, self._first_pts = stream.time_base, stream.start_time or 0
        header_reader.close()
        try:
            # "exact": a demux-only scan of the file makes frame k the k-th in timestamp order ("approximate"
            # guesses k from the frame rate and misses frames whose timestamps are rounded to whole ms).
            # num_ffmpeg_threads 0 lets FFmpeg choose; 1 suits loader workers decoding in parallel.
            self.decoder = video_decoder(
                path,
                seek_mode="exact",
                dimension_order="NHWC",
                device=device,
                num_ffmpeg_threads=0 if multi_thread else 1,
            )
        except Exception as error:  # unreadable, no video stream, corrupt index ...; or the GPU failing
            raise decode_error(f"cannot open {path}", error, device) from error
        self._num_frames = len(self.decoder)

    def _ticks_per_frame(self):
        n, duration = self.header
        return duration / n

    def window(self, start_time, end_time):
        """Frames with int(start_time) <= pts <= int(end_time) (ticks) plus the first one after."""
        start_pts, end_pts = int(start_time), int(end_time)
        per_frame = self._ticks_per_frame()
        first = max(math.ceil((start_pts - self._first_pts) / per_frame - _GRID_SLACK_FRAMES), 0)
        last_inside = math.floor((end_pts - self._first_pts) / per_frame + _GRID_SLACK_FRAMES)
        return _Frames(self, first, min(last_inside + 2, self._num_frames), (start_pts, end_pts))

    def whole(self):
        """Every frame of the video in timestamp order."""
        return _Frames(self, 0, self._num_frames)

    def _ticks(self, seconds):
        return round(seconds / float(self._time_base))

    def frame_numbers(self, seconds, fps):
        """Source frame numbers of timestamps, computed from whole ticks as the PyAV backend does."""
        return [frame_number(self._ticks(t), self._time_base, fps) for t in seconds]

    def start_is_near_a_frame(self, first, start_pts):
        """Whether the grid's frame before ``first`` lies within the grid's tolerance of ``start_pts``.

        Only that frame's own timestamp can then tell whether it belongs to the window (about 1 random training
        start in 20: before this check, such windows were decoded whole, by timestamps).
        """
        previous = self._first_pts + (first - 1) * self._ticks_per_frame()
        return first > 0 and previous + _GRID_TOLERANCE_FRAMES * self._ticks_per_frame() >= start_pts

    def on_grid(self, indices, seconds, first, start_pts):
        """Whether decoded frames ``indices`` (sorted) confirm that the window starts at frame ``first``.

        They do when every timestamp lies on the header's constant-rate frame grid, frame ``first`` is at or
        after ``start_pts``, and the frame before it is before ``start_pts``: by its own timestamp when it was
        decoded (``first - 1`` in ``indices``), else by the grid, clearly. (The window's length only matters at
        the end of the video, where it is the frame count either way.)
        """
        per_frame, ticks = self._ticks_per_frame(), [self._ticks(t) for t in seconds]
        tolerance = _GRID_TOLERANCE_FRAMES * per_frame
        on_grid = all(abs(pts - (self._first_pts + i * per_frame)) <= tolerance for i, pts in zip(indices, ticks))
        by_index = dict(zip(indices, ticks))
        if first == 0 or first - 1 in by_index:
            previous_before = first == 0 or by_index[first - 1] < start_pts
        else:
            previous_before = self._first_pts + (first - 1) * per_frame + tolerance < start_pts
        return on_grid and by_index[first] >= start_pts and previous_before

    def window_by_timestamps(self, start_pts, end_pts):
        """The window selected by each frame's timestamp (exact for any frame rate; decodes every frame)."""
        batch = self.decoder.get_frames_in_range(0, self._num_frames)
        seconds = batch.pts_seconds.tolist()
        ticks = [self._ticks(t) for t in seconds]
        inside = [i for i, pts in enumerate(ticks) if start_pts <= pts <= end_pts]
        rows = inside + [i for i, pts in enumerate(ticks) if pts > end_pts][:1]
        return _DecodedFrames(self, batch.data[rows], [seconds[i] for i in rows])

    def close(self):
        """Release the decoder (torchcodec frees it with the object)."""
        self.decoder = None
