"""What the liveness cues read of the selfie's frames, prepared once: the few sampled frames the
appearance cues (screen, print, capture noise) look at, every frame's grey thumbnails (duplicates,
loops) and grey face crops (parallax, blink).

A streamed selfie (`kycengine.selfie`) arrives as `SelfieFrames`: thumbnails and crops made while it
decoded, and only a bounded number of full-resolution images; the functions here read those, and
make the same from the images of frames decoded in full, so that both give the same scores.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..face.track import FaceTrack, Sighting
from ..image import shrink
from ..video import DecodedFrames, Frame

SAMPLE_FRAMES = 5  # frames the per-frame appearance cues look at, spread evenly over the faces seen
# The screen cues compare each sampled frame with its neighbours this many kept frames either side
# (`screen.STEPS`): those are read in full too.
NEIGHBOURS = 3
PROXY_SIDE = 320  # long side of the grey copies the line-finding cues work on
FACE_PX = 96  # face crops: the face is resampled to this width, so that measures in them share units
# The crops reach this many face widths beyond the first frame's face box on each side: set before the
# rest of the video is seen (each frame is cut as it is decoded), wide enough for a turning, swaying
# head (a selfie's moves well under a face width from where it started).
CROP_REACH = 1.5


def spread(count: int, wanted: int) -> list[int]:
    """`wanted` indices spread evenly over range(count), the first and last tenth left out."""
    if count <= wanted:
        return list(range(count))
    return [int(round(p)) for p in np.linspace(0.1 * (count - 1), 0.9 * (count - 1), wanted)]


@dataclass(frozen=True, eq=False)
class Samples:
    """Sampled frames: positions in the video, BGR images, face boxes (x1, y1, x2, y2) in frame px,
    grey proxies (long side PROXY_SIDE) and their scale (proxy px per frame px)."""

    positions: tuple[int, ...]
    images: tuple[np.ndarray, ...] = field(repr=False)
    boxes: tuple[np.ndarray, ...] = field(repr=False)
    proxies: tuple[np.ndarray, ...] = field(repr=False)
    scales: tuple[float, ...]
    faces_seen: bool  # False: no face anywhere, boxes are the middle of the frame


def _box_at(track: FaceTrack, position: int, image: np.ndarray) -> np.ndarray:
    found = track.found
    if found:
        return min(found, key=lambda s: abs(s.position - position)).box.astype(np.float64)
    height, width = image.shape[:2]
    side = height / 3  # no face: the middle of the frame, where the customer's face should be
    return np.array([width / 2 - side / 2, height / 2 - side / 2, width / 2 + side / 2, height / 2 + side / 2])


def sample_positions(count: int, track: FaceTrack, wanted: int = SAMPLE_FRAMES) -> tuple[int, ...]:
    """Up to `wanted` positions spread over the frames with a face (over all `count` when none has one)."""
    pool = [s.position for s in track.found] or list(range(count))
    return tuple(pool[i] for i in spread(len(pool), wanted))


def around(positions: Iterable[int], count: int, reach: int = NEIGHBOURS) -> set[int]:
    """`positions` and the frames within `reach` of them, inside range(count)."""
    return {p + k for p in positions for k in range(-reach, reach + 1) if 0 <= p + k < count}


def sample_frames(frames: Sequence[Frame], track: FaceTrack, wanted: int = SAMPLE_FRAMES) -> Samples:
    """Up to `wanted` frames spread over those with a face (over all frames when none has one); a
    streamed selfie decodes again, in one pass, those of them and of their neighbours it did not keep."""
    positions = sample_positions(len(frames), track, wanted)
    if isinstance(frames, DecodedFrames):
        frames.prefetch(around(positions, len(frames)))
    images, boxes, proxies, scales = [], [], [], []
    for position in positions:
        image = frames[position].image
        scale = min(1.0, PROXY_SIDE / max(image.shape[:2]))
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        if scale < 1.0:
            grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        images.append(image)
        boxes.append(_box_at(track, position, image))
        proxies.append(grey)
        scales.append(scale)
    return Samples(positions, tuple(images), tuple(boxes), tuple(proxies), tuple(scales), bool(track.found))


def grey_patch(image: np.ndarray, centre: tuple[float, float], size: int) -> np.ndarray:
    """Grey float32 square of `size` px (shrunk to fit) around `centre`, at the image's resolution."""
    height, width = image.shape[:2]
    size = min(size, height, width) // 2 * 2
    x0 = int(np.clip(round(centre[0] - size / 2), 0, width - size))
    y0 = int(np.clip(round(centre[1] - size / 2), 0, height - size))
    return cv2.cvtColor(image[y0:y0 + size, x0:x0 + size], cv2.COLOR_BGR2GRAY).astype(np.float32)


@dataclass(frozen=True)
class Crops:
    """Grey crops of every frame around the face's path, at FACE_PX per face width (`CropPlan`)."""

    images: tuple[np.ndarray, ...]
    origin: np.ndarray  # top-left corner of the crop in frame pixels
    scale: float  # working px per frame px

    def to_work(self, points: np.ndarray) -> np.ndarray:
        """Frame pixels -> working pixels."""
        return (np.asarray(points, np.float64) - self.origin) * self.scale


@dataclass(frozen=True)
class CropPlan:
    """Where every frame's face crop is cut (x0, y0, x1, y1 frame px) and how it is scaled (working px
    per frame px), from the first frame's face: known before the rest of the video is decoded."""

    region: tuple[int, int, int, int]
    scale: float

    @classmethod
    def starting_at(cls, first: Sighting | None, height: int, width: int) -> CropPlan:
        """The plan around the first frame's face box (the frame's middle, a third of its height, when
        no face was found there), CROP_REACH face widths beyond it, at FACE_PX per face width."""
        if first is not None:
            x1, y1, x2, y2 = (float(v) for v in first.box)
        else:
            side = height / 3
            x1, y1, x2, y2 = width / 2 - side / 2, height / 2 - side / 2, width / 2 + side / 2, height / 2 + side / 2
        face = max(x2 - x1, 1.0)
        reach = CROP_REACH * face
        region = (int(max(0.0, x1 - reach)), int(max(0.0, y1 - reach)), int(min(width, x2 + reach)),
                  int(min(height, y2 + reach)))
        return cls(region, FACE_PX / face)

    def cut(self, grey: np.ndarray) -> np.ndarray:
        """The crop of one grey frame (`image.shrink`: a fractional INTER_AREA costs several times more)."""
        x0, y0, x1, y1 = self.region
        region = grey[y0:y1, x0:x1]
        if self.scale < 1:
            return shrink(region, self.scale)
        size = (round((x1 - x0) * self.scale), round((y1 - y0) * self.scale))
        return cv2.resize(region, size, interpolation=cv2.INTER_LINEAR)

    def crops(self, images: Iterable[np.ndarray]) -> Crops:
        """The Crops of these grey crops (`cut`)."""
        return Crops(tuple(images), np.array(self.region[:2], np.float64), self.scale)


def grey(image: np.ndarray) -> np.ndarray:
    """A BGR frame in grey, the one conversion every per-frame copy is made from."""
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def thumbnail(grey_image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Grey thumbnail (width, height), area-averaged (encoder artefacts and noise average out)."""
    return cv2.resize(grey_image, size, interpolation=cv2.INTER_AREA)


class SelfieFrames(DecodedFrames):
    """A streamed selfie's frames: index, time, grey thumbnails and face crop of every frame, made while
    decoding, and the few full-resolution images the stages read (any other decoded again on access)."""

    def __init__(self, source: tuple[Path, int | None, float | None], indices: list[int], times: list[float],
                 images: dict[int, np.ndarray], thumbnails: dict[tuple[int, int], np.ndarray],
                 crops: Crops) -> None:
        super().__init__(source, indices, times, [], images)
        self.thumbnails, self.crops = thumbnails, crops


def thumbnails(frames: Sequence[Frame], size: tuple[int, int]) -> np.ndarray:
    """Every frame's grey thumbnail of `size` (width, height), stacked (uint8)."""
    if isinstance(frames, SelfieFrames) and size in frames.thumbnails:
        return frames.thumbnails[size]
    return np.stack([thumbnail(grey(f.image), size) for f in frames])


def face_crops(frames: Sequence[Frame], track: FaceTrack) -> Crops | None:
    """Grey crops of every frame around the face (`CropPlan`); None when no face was found."""
    if not track.found or not frames:
        return None
    if isinstance(frames, SelfieFrames):
        return frames.crops
    height, width = frames[0].image.shape[:2]
    plan = CropPlan.starting_at(track.sightings[0], height, width)
    return plan.crops(plan.cut(grey(f.image)) for f in frames)
