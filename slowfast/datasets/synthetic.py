"""Synthetic Kinetics-format dataset: shapes that move, so a model needs appearance and motion.

Each of the 20 classes is one of 5 shapes (disc, square, plus, ring, diamond) doing one of 4 motions
(moving up, moving down, growing, shrinking). Every shape is symmetric about its vertical axis and the
motions are vertical or radial, so a horizontal flip never changes the class, and the object stays near
the middle of the frame, so crops keep it. Colours, sizes, speeds, positions and the textured background
are random per video. A video is a pure function of (seed, split, label, index), so the output is the same
byte for byte whatever the number of worker processes.

Folder layout written by ``make_synthetic_dataset``::

    out_dir/videos/{split}_{class}_{index:03d}.mp4
    out_dir/{train,val,test}.csv   "videos/<name>.mp4 <label>" per line (PySlowFast Kinetics format)
    out_dir/classes.txt            class names, line i is label i
    out_dir/dataset.json           generator version, arguments and counts (marks the folder as the generator's)

The generator never writes over data it did not make: it writes only into a folder that is new, empty or
marked as its own by its dataset.json (holding nothing else than the files above). It builds the data set
in a hidden sibling folder and renames it into place at the end, so an interrupted generation leaves the
target as it was.
"""

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from fvcore.common.config import CfgNode

from slowfast.datasets.video_list import SPLITS, list_path
from slowfast.datasets.video_writer import write_mp4
from slowfast.utils.errors import UserError
from slowfast.utils.files import atomic_write_json, atomic_write_lines
from slowfast.utils.process_pool import map_with_progress

logger = logging.getLogger(__name__)

SHAPES = ("disc", "square", "plus", "ring", "diamond")
MOTIONS = ("moving_up", "moving_down", "growing", "shrinking")
# Bumped whenever the same settings start to render different videos; recorded in dataset.json so a folder
# made by an older generator is regenerated. 2: backgrounds tinted near mid-grey (BACKGROUND_BASE_RANGE).
GENERATOR_VERSION = 2
# Minimum L1 distance (0..765) between object and background colours, so the object is always visible.
MIN_COLOUR_CONTRAST = 240
# Range of a background's base colour, per channel. Tints vary but stay near mid-grey: with 30..225 the
# colour shift between clips dominated the input and a small 3D CNN stayed at chance for 600 steps
# (batch 8); with 100..155 the same network reached 25 % top-1 on the 20 classes in those steps.
BACKGROUND_BASE_RANGE = (100, 155)
RECORD_FILENAME = "dataset.json"
# Everything make_synthetic_dataset writes at the top of its folder: a folder holding more is not its own.
GENERATED_ENTRIES = frozenset({"videos", "train.csv", "val.csv", "test.csv", "classes.txt", RECORD_FILENAME})


class DataFolderError(UserError):
    """The synthetic generator was asked to write into a folder holding data it did not make."""


def class_names(num_classes=20):
    """Names of the synthetic classes in label order (label = shape index * 4 + motion index).

    Args:
        num_classes (int): 1..20; smaller sets take the first labels.
    Returns:
        list[str]: e.g. ``["disc_moving_up", "disc_moving_down", ...]``.
    """
    if not 1 <= num_classes <= len(SHAPES) * len(MOTIONS):
        raise ValueError(f"num_classes must be in 1..{len(SHAPES) * len(MOTIONS)}, got {num_classes}")
    return [f"{shape}_{motion}" for shape in SHAPES for motion in MOTIONS][:num_classes]


@dataclass
class VideoSpec:
    """Everything needed to render one video; trajectories hold one value per frame (pixels)."""

    shape: str
    motion: str
    centre_y: np.ndarray
    centre_x: np.ndarray
    radius: np.ndarray
    colour: np.ndarray
    background: np.ndarray


def textured_background(rng, width, height):
    """A random smooth colour field with fine static grain.

    Args:
        rng (np.random.Generator): source of randomness.
        width (int), height (int): frame size.
    Returns:
        np.ndarray: (H, W, 3) float32 in [0, 255].
    """
    base = rng.uniform(*BACKGROUND_BASE_RANGE, size=3)
    cells_y, cells_x = rng.integers(3, 8, size=2)
    coarse = rng.uniform(-20, 20, size=(cells_y, cells_x, 3))
    # Separable bilinear upsampling of the coarse grid, written as two small interpolation matrices.
    rows = _linear_interpolation_matrix(cells_y, height)
    cols = _linear_interpolation_matrix(cells_x, width)
    smooth = np.einsum("hy,yxc,wx->hwc", rows, coarse, cols)
    grain = rng.normal(0, 4, size=(height, width, 1))
    return np.clip(base + smooth + grain, 0, 255).astype(np.float32)


def _linear_interpolation_matrix(num_in, num_out):
    """(num_out, num_in) weights that linearly interpolate num_in samples onto num_out positions."""
    positions = np.linspace(0, num_in - 1, num_out)
    lower = np.floor(positions).astype(int)
    upper = np.minimum(lower + 1, num_in - 1)
    frac = positions - lower
    weights = np.zeros((num_out, num_in))
    weights[np.arange(num_out), lower] += 1 - frac
    weights[np.arange(num_out), upper] += frac
    return weights


def _contrasting_colour(rng, background):
    """An object colour far enough from the background's mean colour to stay visible."""
    mean = background.reshape(-1, 3).mean(axis=0)
    for _ in range(100):
        colour = rng.uniform(0, 255, size=3)
        if np.abs(colour - mean).sum() >= MIN_COLOUR_CONTRAST:
            return colour.astype(np.float32)
    # Rarely reached: per channel, the far end of 0..255 from the mean gives contrast >= 3 * 127.5.
    return np.where(mean < 127.5, 255.0, 0.0).astype(np.float32)


def sample_video_spec(rng, label, width, height, num_frames):
    """Draw the random parameters of one video of class ``label``.

    Args:
        rng (np.random.Generator): source of randomness.
        label (int): class index, see ``class_names``.
        width (int), height (int): frame size.
        num_frames (int): video length.
    Returns:
        VideoSpec: shape, per-frame trajectories, colour and background.
    """
    shape, motion = SHAPES[label // len(MOTIONS)], MOTIONS[label % len(MOTIONS)]
    short = min(width, height)
    progress = np.linspace(0.0, 1.0, num_frames)
    start_x = width / 2 + rng.uniform(-0.2, 0.2) * width
    # A small sideways drift in either direction, so horizontal position carries no class information.
    centre_x = start_x + rng.uniform(-0.08, 0.08) * short * progress
    if motion in ("moving_up", "moving_down"):
        radius = np.full(num_frames, rng.uniform(0.15, 0.2) * short)
        travel = rng.uniform(0.3, 0.5) * height
        middle = height / 2 + rng.uniform(-0.08, 0.08) * height
        direction = -1.0 if motion == "moving_up" else 1.0
        centre_y = middle + direction * travel * (progress - 0.5)
    else:
        small = rng.uniform(0.09, 0.12) * short
        large = small * rng.uniform(2.0, 2.6)
        begin, end = (small, large) if motion == "growing" else (large, small)
        radius = begin + (end - begin) * progress
        centre_y = np.full(num_frames, height / 2 + rng.uniform(-0.12, 0.12) * height)
    background = textured_background(rng, width, height)
    colour = _contrasting_colour(rng, background)
    return VideoSpec(shape, motion, centre_y, centre_x, radius, colour, background)


def shape_signed_distance(shape, dy, dx, radius):
    """Approximate signed distance (pixels, negative inside) to a shape of size ``radius``.

    Args:
        shape (str): one of ``SHAPES``.
        dy, dx (np.ndarray): offsets from the shape's centre, broadcastable with ``radius``.
        radius (np.ndarray or float): half extent of the shape.
    Returns:
        np.ndarray: signed distance, same shape as the broadcast inputs.
    """
    ady, adx = np.abs(dy), np.abs(dx)
    if shape == "disc":
        return np.sqrt(dy * dy + dx * dx) - radius
    if shape == "square":
        return np.maximum(ady, adx) - 0.8 * radius
    if shape == "diamond":
        return (ady + adx - 1.25 * radius) / np.sqrt(2.0)
    if shape == "plus":
        arm = 0.35 * radius
        horizontal = np.maximum(adx - radius, ady - arm)
        vertical = np.maximum(ady - radius, adx - arm)
        return np.minimum(horizontal, vertical)
    if shape == "ring":
        return np.abs(np.sqrt(dy * dy + dx * dx) - 0.75 * radius) - 0.25 * radius
    raise ValueError(f"unknown shape {shape!r}; allowed: {SHAPES}")


def render_video(spec):
    """Draw all frames of a video at once (vectorised over time and pixels).

    Args:
        spec (VideoSpec): parameters from ``sample_video_spec``.
    Returns:
        tuple: (frames (T, H, W, 3) uint8 RGB, coverage (T, H, W) float32 in [0, 1] of the object).
    """
    height, width = spec.background.shape[:2]
    rows = np.arange(height, dtype=np.float32)[None, :, None] + 0.5
    cols = np.arange(width, dtype=np.float32)[None, None, :] + 0.5
    dy = rows - spec.centre_y.astype(np.float32)[:, None, None]
    dx = cols - spec.centre_x.astype(np.float32)[:, None, None]
    distance = shape_signed_distance(spec.shape, dy, dx, spec.radius.astype(np.float32)[:, None, None])
    # One pixel of linear edge falloff: cheap anti-aliasing that keeps sub-pixel motion visible.
    coverage = np.clip(0.5 - distance, 0.0, 1.0)[..., None]
    frames = spec.background[None] * (1.0 - coverage) + spec.colour * coverage
    return np.rint(frames).astype(np.uint8), coverage[..., 0]


def video_rng(seed, split, label, index):
    """The random generator of one video, independent of generation order.

    Args:
        seed (int): dataset seed.
        split (str): one of ``SPLITS``.
        label (int), index (int): class and index within the class and split.
    Returns:
        np.random.Generator
    """
    return np.random.default_rng([seed, SPLITS.index(split), label, index])


def _write_video(task):
    """Render and encode one video; ``task`` is a tuple so it can cross process boundaries."""
    path, seed, split, label, index, width, height, fps, num_frames, gop = task
    spec = sample_video_spec(video_rng(seed, split, label, index), label, width, height, num_frames)
    frames, _ = render_video(spec)
    write_mp4(path, frames, fps=fps, gop=gop, bframes=0)
    return os.path.getsize(path)


def _run_tasks(tasks, workers, progress):
    """Write all videos, in worker processes when ``workers > 1``, with progress; returns total bytes."""
    sizes = map_with_progress(
        _write_video, tasks, workers=workers, desc="synthetic videos", unit="video", progress=progress
    )
    return sum(sizes)


def read_generator_record(folder):
    """The generator's dataset.json in ``folder``, or None when there is none (or it is not the generator's).

    Args:
        folder (str): a data folder.
    Returns:
        dict or None
    """
    try:
        with open(os.path.join(folder, RECORD_FILENAME)) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "generator_version" in record else None


def refusal_to_write(folder):
    """Why the generator must not write into ``folder``, or None when it is new, empty or its own.

    Args:
        folder (str): the output folder asked for.
    Returns:
        str or None: a one-line message naming the folder and the fix.
    """
    if not os.path.exists(folder):
        return None
    if not os.path.isdir(folder):
        return f"synthetic data folder {folder} is a file: choose another DATA.PATH_TO_DATA_DIR"
    entries = set(os.listdir(folder))
    foreign = sorted(entries - GENERATED_ENTRIES)
    if not entries or (not foreign and read_generator_record(folder) is not None):
        return None
    shown = ", ".join(foreign[:3] or sorted(entries)[:3])
    return (
        f"{folder} holds files the synthetic generator did not make ({shown}, ...); it writes only into a new or "
        "empty folder or one it made (with its dataset.json): choose another DATA.PATH_TO_DATA_DIR, or set "
        "DATA.SYNTHETIC.ENABLE False to train on the data in that folder"
    )


@dataclass(frozen=True)
class SyntheticSpec:
    """What a synthetic data set holds: the same spec gives the same bytes.

    Attributes:
        train_per_class, val_per_class, test_per_class (int): videos per class and split (test 0: test.csv
            repeats val.csv, the Kinetics convention).
        width, height (int): frame size, both even and >= 16 (H.264 yuv420p).
        fps (int), seconds (float), gop (int): frame rate, duration and keyframe interval (frames) of a video;
            a video has at least 2 frames.
        seed (int): dataset seed.
        num_classes (int): 1..20.
    Raises:
        ValueError: an odd or tiny frame size, or fewer than 2 frames per video.
    """

    train_per_class: int
    val_per_class: int
    test_per_class: int
    width: int
    height: int
    fps: int
    seconds: float
    gop: int
    seed: int
    num_classes: int = 20

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 2 or self.width < 16 or self.height < 16:
            raise ValueError(f"width and height must be even and >= 16, got {self.width}x{self.height}")
        if self.num_frames < 2:
            raise ValueError(f"fps * seconds must give at least 2 frames, got {self.fps} * {self.seconds}")

    @classmethod
    def from_config(cls, cfg: CfgNode) -> "SyntheticSpec":
        """The data set a config asks for: DATA.SYNTHETIC.* and MODEL.NUM_CLASSES."""
        syn = cfg.DATA.SYNTHETIC
        return cls(
            train_per_class=syn.TRAIN_PER_CLASS,
            val_per_class=syn.VAL_PER_CLASS,
            test_per_class=syn.TEST_PER_CLASS,
            width=syn.WIDTH,
            height=syn.HEIGHT,
            fps=syn.FPS,
            seconds=syn.SECONDS,
            gop=syn.GOP,
            seed=syn.SEED,
            num_classes=cfg.MODEL.NUM_CLASSES,
        )

    @property
    def num_frames(self) -> int:
        """Frames per video."""
        return int(round(self.fps * self.seconds))

    def record(self) -> dict[str, Any]:
        """The settings dataset.json records: a folder whose record holds other values is another data set."""
        settings = asdict(self)
        per_class = {split: settings.pop(f"{split}_per_class") for split in SPLITS}
        return dict(
            generator_version=GENERATOR_VERSION, **settings, num_frames=self.num_frames, videos_per_class=per_class
        )


def make_synthetic_dataset(
    spec: SyntheticSpec, *, out_dir: str, workers: int = 1, progress: bool = True
) -> dict[str, Any]:
    """Write a synthetic Kinetics-format dataset folder (see the module docstring for the layout).

    Args:
        spec (SyntheticSpec): what the data set holds.
        out_dir (str): output folder: new, empty, or made by this generator (then replaced as a whole).
        workers (int): encoding processes (1 = in this process).
        progress (bool): show a tqdm bar on stderr when it is a terminal.
    Returns:
        dict: ``spec.record()``, ``classes``, ``counts`` {split: per-label list}, ``num_videos``, ``out_dir``,
        ``total_bytes`` and ``elapsed_seconds``.
    Raises:
        DataFolderError: ``out_dir`` holds files the generator did not make.
    """
    problem = refusal_to_write(out_dir)
    if problem:
        raise DataFolderError(problem)
    started = time.perf_counter()
    record, total_bytes = _build_then_move(out_dir, spec, max(1, workers), progress)
    return dict(record, out_dir=out_dir, total_bytes=total_bytes, elapsed_seconds=time.perf_counter() - started)


def _build_then_move(out_dir, spec, workers, progress):
    """Build the data set in a staging folder, then rename it to ``out_dir``; returns (record, total bytes).

    An interrupted build removes the staging folder and leaves ``out_dir`` as it was.
    """
    staging = _staging_folder(out_dir)
    try:
        record, total_bytes = _write_dataset(staging, spec, workers, progress)
        _move_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return record, total_bytes


def _staging_folder(out_dir):
    """A fresh hidden sibling of ``out_dir`` to build in (same file system, so the final rename is atomic)."""
    out_dir = os.path.abspath(out_dir)
    staging = os.path.join(os.path.dirname(out_dir), f".{os.path.basename(out_dir)}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed process that had the same pid
    os.makedirs(os.path.join(staging, "videos"))
    return staging


def _move_into_place(staging, out_dir):
    """Rename the finished ``staging`` folder to ``out_dir``, replacing an empty or generator-made one."""
    if not os.path.exists(out_dir):
        os.rename(staging, out_dir)
        return
    previous = f"{staging}.previous"
    os.rename(out_dir, previous)
    os.rename(staging, out_dir)
    shutil.rmtree(previous)


def _write_dataset(out_dir, spec, workers, progress):
    """Render every video and write the CSVs, classes.txt and dataset.json; returns (record, total bytes)."""
    names = class_names(spec.num_classes)
    render = (spec.width, spec.height, spec.fps, spec.num_frames, spec.gop)
    settings = spec.record()
    tasks, csv_lines = [], {split: [] for split in SPLITS}
    for split, count in settings["videos_per_class"].items():
        for label, name in enumerate(names):
            for index in range(count):
                relative = f"videos/{split}_{name}_{index:03d}.mp4"
                csv_lines[split].append(f"{relative} {label}")
                tasks.append((os.path.join(out_dir, relative), spec.seed, split, label, index, *render))
    total_bytes = _run_tasks(tasks, workers, progress)
    if spec.test_per_class == 0:
        csv_lines["test"] = csv_lines["val"]
    for split in SPLITS:
        atomic_write_lines(list_path(out_dir, split), csv_lines[split])
    atomic_write_lines(os.path.join(out_dir, "classes.txt"), names)
    counts = {split: _count_labels(csv_lines[split], spec.num_classes) for split in SPLITS}
    record = dict(settings, classes=names, counts=counts, num_videos=len(tasks))
    atomic_write_json(os.path.join(out_dir, RECORD_FILENAME), record)
    return record, total_bytes


def _count_labels(lines, num_classes):
    """Per-label counts of ``path label`` CSV lines."""
    counts = [0] * num_classes
    for line in lines:
        counts[int(line.rsplit(" ", 1)[1])] += 1
    return counts


def synthetic_data_ready(cfg: CfgNode) -> bool:
    """Whether DATA.PATH_TO_DATA_DIR holds the data set the config asks for, so it is used as it is.

    It does when the folder's dataset.json was written by this generator version with the config's settings.

    Args:
        cfg (CfgNode): the run configuration.
    Returns:
        bool
    """
    record = read_generator_record(cfg.DATA.PATH_TO_DATA_DIR) or {}
    return all(record.get(key) == value for key, value in SyntheticSpec.from_config(cfg).record().items())


def ensure_synthetic_data(cfg: CfgNode) -> None:
    """Quick-start: generate the synthetic data set (main process, before the clock) unless it is ready.

    Ready means ``synthetic_data_ready``: the folder's dataset.json records this generator version and the
    config's settings. Otherwise a folder made by the generator (with other settings, or by an older version)
    is replaced as a whole, a new or empty one is filled, and a folder holding anything the generator did not
    make, or no dataset.json of its own, is refused (``DataFolderError``). Other processes wait for it.

    Args:
        cfg (CfgNode): reads DATA.SYNTHETIC.ENABLE, DATA.PATH_TO_DATA_DIR and the generator settings.
    """
    # Imported here: the spawned encoding workers import this module, and torch would cost each of them seconds.
    from slowfast.utils import distributed as du

    folder = cfg.DATA.PATH_TO_DATA_DIR
    if cfg.DATA.SYNTHETIC.ENABLE and du.is_main_process() and not synthetic_data_ready(cfg):
        logger.info("generating the synthetic data set in %s (before the clock starts)", folder)
        workers = max(1, min(4, os.cpu_count() or 1))
        summary = make_synthetic_dataset(SyntheticSpec.from_config(cfg), out_dir=folder, workers=workers)
        logger.info("generated %d videos in %.1f s", summary["num_videos"], summary["elapsed_seconds"])
    du.synchronize()
