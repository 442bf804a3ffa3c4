"""Decode a video once into timestamped frames with cheap proxies and quality scores; write H.264.

PyAV (FFmpeg) is used rather than cv2.VideoCapture: it reports real presentation timestamps, raises
on corrupt streams instead of returning silently short reads, and encodes H.264 like a phone does.

Frames are streamed: `decode` can be told which frames a stage will look at in full (`Keep`: some
evenly spread positions and the few sharpest frames); it then keeps only those images and a small
grey proxy of every frame, so a 10 s 720p document video holds ~80 MiB instead of ~280. A frame
outside the plan is decoded again when asked for (slower, never wrong). The selfie is streamed
through its face track instead (`kycengine.selfie`), which keeps its own bounded set.
"""

from __future__ import annotations

import heapq
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import overload

import av
import cv2
import numpy as np

from .errors import InvalidMedia

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_SIDE = 8192  # larger frames are refused outright (decompression-bomb guard)
MAX_DURATION_S = 120.0
PROXY_SIDE = 320

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: BGR image (uint8, HxWx3), its index and presentation time in seconds."""

    index: int
    t: float
    image: np.ndarray = field(repr=False)

    @property
    def proxy(self) -> np.ndarray:
        """Grey downscaled copy (long side PROXY_SIDE px) for cheap per-frame scoring."""
        return to_proxy(self.image)


@dataclass(frozen=True)
class FrameQuality:
    """Cheap quality scores from a proxy: sharpness (variance of Laplacian), glare and exposure."""

    sharpness: float
    glare: float  # fraction of near-saturated pixels
    brightness: float  # mean grey level 0-255


@dataclass(frozen=True)
class Keep:
    """Which decoded frames to keep in full: `spread` positions spread evenly over the kept frames
    (`spread_positions`) and the `sharpest` frames by proxy sharpness; every frame keeps its proxy."""

    spread: int = 0
    sharpest: int = 0


def spread_positions(count: int, wanted: int) -> list[int]:
    """At most `wanted` positions in `range(count)` spread evenly, first and last included."""
    if count <= 0 or wanted <= 0:
        return []
    return [int(p) for p in np.unique(np.linspace(0, count - 1, min(wanted, count)).round().astype(int))]


class _Stored(Frame):
    """A frame of `DecodedFrames`: its image is the kept one, or decoded again when first asked for
    (then it lives as long as this object); its proxy was made while decoding."""

    _store: DecodedFrames
    _position: int

    def __init__(self, store: DecodedFrames, position: int) -> None:
        object.__setattr__(self, "index", store.indices[position])
        object.__setattr__(self, "t", store.times[position])
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "_position", position)

    @cached_property
    def image(self) -> np.ndarray:
        """The BGR image (kept, or decoded again)."""
        return self._store.image(self._position)

    @property
    def proxy(self) -> np.ndarray:
        """The grey proxy made while decoding (made now for a store that keeps none)."""
        return self._store.proxies[self._position] if self._store.proxies else to_proxy(self.image)


class DecodedFrames(Sequence[Frame]):
    """The frames of a decoded video as a sequence: every frame's index, time and proxy; the images of
    the frames in the keep plan; any other image decoded again from the file on access."""

    def __init__(self, source: tuple[Path, int | None, float | None], indices: list[int], times: list[float],
                 proxies: list[np.ndarray], images: dict[int, np.ndarray]) -> None:
        self.indices, self.times, self.proxies = tuple(indices), tuple(times), tuple(proxies)
        self._source, self._images = source, images

    def __len__(self) -> int:
        return len(self.indices)

    @overload
    def __getitem__(self, position: int) -> Frame: ...

    @overload
    def __getitem__(self, position: slice) -> tuple[Frame, ...]: ...

    def __getitem__(self, position: int | slice) -> Frame | tuple[Frame, ...]:
        if isinstance(position, slice):
            return tuple(self[p] for p in range(*position.indices(len(self))))
        if not -len(self) <= position < len(self):
            raise IndexError(position)
        return _Stored(self, position % len(self))

    @property
    def kept(self) -> int:
        """How many full images are held."""
        return len(self._images)

    def image(self, position: int) -> np.ndarray:
        """The BGR image at `position`: kept, or decoded again (a stage looked outside the plan)."""
        if position not in self._images:
            self.prefetch([position])
        return self._images[position]

    def prefetch(self, positions: Iterable[int]) -> None:
        """Keep the images at `positions` from now on, decoding the missing ones again in one pass (a
        stage about to look outside the plan asks for all it will read at once)."""
        missing = {p for p in positions if 0 <= p < len(self) and p not in self._images}
        if not missing:
            return
        path, max_side, target_fps = self._source
        for position in sorted(missing):
            log.info("%s: frame %d was not kept; decoding it again", path, self.indices[position])
        for found, (_, _, picture) in enumerate(_pictures(path, target_fps)):
            if found in missing:
                self._images[found] = _fit(picture.to_ndarray(format="bgr24"), max_side)
                missing.discard(found)
            if not missing:
                return
        raise InvalidMedia(f"{path}: frame {self.indices[min(missing)]} is no longer decodable")


@dataclass(frozen=True, eq=False)
class Video:
    """A decoded video: its frames (possibly subsampled and downscaled; see `Keep`) and stream facts."""

    frames: Sequence[Frame] = field(repr=False)
    fps: float
    width: int
    height: int
    frame_count: int  # frames in the stream, before subsampling
    codec: str

    @property
    def duration(self) -> float:
        """Seconds from the first to the last decoded frame."""
        return self.frames[-1].t - self.frames[0].t if self.frames else 0.0


def to_proxy(image: np.ndarray, side: int = PROXY_SIDE) -> np.ndarray:
    """Grey copy whose long side is at most `side` pixels."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    scale = side / max(grey.shape[:2])
    if scale >= 1:
        return grey
    return cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def frame_quality(proxy: np.ndarray) -> FrameQuality:
    """Sharpness, glare fraction and brightness of a grey proxy."""
    sharp = float(cv2.Laplacian(proxy, cv2.CV_32F).var())
    glare = float(np.count_nonzero(proxy >= 250)) / proxy.size
    return FrameQuality(sharpness=sharp, glare=glare, brightness=float(proxy.mean()))


def check_media_file(path: Path) -> None:
    """Raise InvalidMedia unless `path` is a regular, non-empty file within the size limit."""
    if not path.exists():
        raise InvalidMedia(f"{path}: no such file")
    if not path.is_file():
        raise InvalidMedia(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise InvalidMedia(f"{path}: empty file")
    if size > MAX_FILE_BYTES:
        raise InvalidMedia(f"{path}: {size} bytes is over the {MAX_FILE_BYTES} byte limit")


def _fit(image: np.ndarray, max_side: int | None) -> np.ndarray:
    if max_side is None or max(image.shape[:2]) <= max_side:
        return image
    scale = max_side / max(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _pictures(path: Path, target_fps: float | None) -> Iterator[tuple[int, float, av.VideoFrame]]:
    """(stream index, seconds from the first frame, decoded picture) of the frames to keep, one at a
    time, thinned to `target_fps`. Raises InvalidMedia for anything that is not a readable video
    within the limits."""
    check_media_file(path)
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidMedia(f"{path}: not a readable video ({exc.__class__.__name__})") from None
    with container:
        if not container.streams.video:
            raise InvalidMedia(f"{path}: contains no video stream")
        if _is_still_image(container):
            raise InvalidMedia(f"{path}: is a still image, not a video")
        stream = container.streams.video[0]
        if stream.codec_context.width > MAX_SIDE or stream.codec_context.height > MAX_SIDE:
            raise InvalidMedia(f"{path}: frame size {stream.codec_context.width}x"
                               f"{stream.codec_context.height} is over the {MAX_SIDE} px limit")
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 30)
        step = 1 if not target_fps or target_fps >= fps else fps / target_fps
        next_keep = 0.0
        index = 0
        t0: float | None = None
        try:
            for vframe in container.decode(stream):
                t = float(vframe.time) if vframe.time is not None else index / fps
                t0 = t if t0 is None else t0
                if t - t0 > MAX_DURATION_S:
                    raise InvalidMedia(f"{path}: longer than the {MAX_DURATION_S:.0f} s limit")
                if index >= next_keep:
                    next_keep += step
                    yield index, t - t0, vframe
                index += 1
        except av.FFmpegError as exc:
            if index == 0:
                raise InvalidMedia(f"{path}: not a readable video ({exc.__class__.__name__})") from None
            # A truncated tail after good frames: keep what decoded, as a phone upload often ends so.


def iter_frames(path: str | os.PathLike[str], *, max_side: int | None = None,
                target_fps: float | None = None) -> Iterator[Frame]:
    """Yield frames one at a time (streaming), downscaled to `max_side` and thinned to `target_fps`.

    Raises InvalidMedia for anything that is not a readable video within the limits.
    """
    for index, t, picture in _pictures(Path(path), target_fps):
        yield Frame(index=index, t=t, image=_fit(picture.to_ndarray(format="bgr24"), max_side))


def decode(path: str | os.PathLike[str], *, max_side: int | None = 1280,
           target_fps: float | None = None, keep: Keep | None = None) -> Video:
    """Decode a whole video (see `iter_frames`); raises InvalidMedia on zero frames.

    Without `keep` every image is kept; with it only the planned ones (and every proxy): the plan's
    positions come from the stream's packet count, and a frame the plan missed (a stream that
    decodes fewer frames than it holds) is decoded again if a stage asks for it."""
    path = Path(path)
    planned = _planned(path, target_fps, keep) if keep is not None else None
    sharpest: list[tuple[float, int]] = []  # heap of (sharpness, -position): the worst on top
    indices, times, proxies, images = [], [], [], {}
    for position, (index, t, picture) in enumerate(_pictures(path, target_fps)):
        image = _fit(picture.to_ndarray(format="bgr24"), max_side)
        indices.append(index)
        times.append(t)
        if planned is None:
            images[position] = image
            continue
        proxies.append(to_proxy(image))
        proxies[-1].flags.writeable = False  # shared by every look at this frame
        if position in planned:
            images[position] = image
        if keep is not None and keep.sharpest:
            heapq.heappush(sharpest, (frame_quality(proxies[-1]).sharpness, -position))
            images[position] = image
            if len(sharpest) > keep.sharpest:
                _, dropped = heapq.heappop(sharpest)
                if -dropped not in planned:
                    del images[-dropped]
    if not indices:
        raise InvalidMedia(f"{path}: the video has no decodable frame")
    frames: Sequence[Frame]
    if planned is None:
        frames = tuple(Frame(index=i, t=t, image=images[p]) for p, (i, t) in enumerate(zip(indices, times)))
    else:
        frames = DecodedFrames((path, max_side, target_fps), indices, times, proxies, images)
    return described(path, frames)


def described(path: Path, frames: Sequence[Frame]) -> Video:
    """The Video of `frames` (at least one) decoded from `path`, with the stream's facts."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 30)
        width, height, codec = stream.codec_context.width, stream.codec_context.height, stream.codec_context.name
    return Video(frames=frames, fps=fps, width=width, height=height, frame_count=frames[-1].index + 1, codec=codec)


def planned_count(path: Path, target_fps: float | None) -> int:
    """How many frames `_pictures` will keep, from the number of video packets in the file (one per
    frame), read without decoding; 0 for a file it cannot read (`_pictures` says what is wrong)."""
    check_media_file(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return 0
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 30)
            packets = sum(1 for packet in container.demux(stream) if packet.size)
    except (av.FFmpegError, UnicodeDecodeError, ValueError):
        return 0
    step = 1 if not target_fps or target_fps >= fps else fps / target_fps
    count, next_keep = 0, 0.0
    for index in range(packets):
        if index >= next_keep:
            next_keep += step
            count += 1
    return count


def _planned(path: Path, target_fps: float | None, keep: Keep) -> set[int]:
    """Positions (among the frames `_pictures` keeps) that `keep.spread` asks for."""
    return set(spread_positions(planned_count(path, target_fps), keep.spread))


def write(path: str | os.PathLike[str], frames: Iterable[np.ndarray], fps: float, *,
          crf: int = 23, preset: str = "veryfast") -> int:
    """Encode BGR frames to an H.264 MP4 (yuv420p, like a phone); returns the number written."""
    count = 0
    with av.open(str(path), mode="w") as container:
        stream = None
        for image in frames:
            if stream is None:
                height, width = image.shape[:2]
                stream = container.add_stream("libx264", rate=round(fps))
                stream.width, stream.height = width - width % 2, height - height % 2
                stream.pix_fmt = "yuv420p"
                # One encoder thread and no macroblock-tree look-ahead: both make x264's bytes vary
                # from run to run, and generated test data must be reproducible from its seed.
                stream.options = {"crf": str(crf), "preset": preset, "threads": "1",
                                  "x264-params": "mbtree=0"}
            image = image[: stream.height, : stream.width]
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image),
                                                                   format="bgr24")):
                container.mux(packet)
            count += 1
        if stream is None:
            raise ValueError("write: no frames given")
        for packet in stream.encode():
            container.mux(packet)
    return count


def _is_still_image(container: av.container.InputContainer) -> bool:
    """FFmpeg opens JPEG/PNG/... through its image demuxers: those are photos, not videos."""
    names = set(container.format.name.split(","))
    return any(n == "image2" or n.endswith("_pipe") for n in names)


def is_video_file(path: str | os.PathLike[str]) -> bool:
    """True when FFmpeg finds a video stream in a container that is not a still-image format."""
    try:
        with av.open(str(path)) as container:
            return bool(container.streams.video) and not _is_still_image(container)
    except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError):
        return False
