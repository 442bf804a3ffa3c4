"""The few frames the appearance cues (screen, print, capture noise) look at, prepared once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..face.track import FaceTrack
from ..video import Frame

SAMPLE_FRAMES = 5  # frames the per-frame appearance cues look at, spread evenly over the faces seen
PROXY_SIDE = 320  # long side of the grey copies the line-finding cues work on


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


def sample_frames(frames: Sequence[Frame], track: FaceTrack, wanted: int = SAMPLE_FRAMES) -> Samples:
    """Up to `wanted` frames spread over those with a face (over all frames when none has one)."""
    with_face = [s.position for s in track.found]
    pool = with_face or list(range(len(frames)))
    positions = tuple(pool[i] for i in spread(len(pool), wanted))
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
    return Samples(positions, tuple(images), tuple(boxes), tuple(proxies), tuple(scales), bool(with_face))


def grey_patch(image: np.ndarray, centre: tuple[float, float], size: int) -> np.ndarray:
    """Grey float32 square of `size` px (shrunk to fit) around `centre`, at the image's resolution."""
    height, width = image.shape[:2]
    size = min(size, height, width) // 2 * 2
    x0 = int(np.clip(round(centre[0] - size / 2), 0, width - size))
    y0 = int(np.clip(round(centre[1] - size / 2), 0, height - size))
    return cv2.cvtColor(image[y0:y0 + size, x0:x0 + size], cv2.COLOR_BGR2GRAY).astype(np.float32)
