"""Motion parallax: a photo or a screen held in front of the camera moves as ONE plane, a head does not.

Corners (Shi-Tomasi) inside the face are followed frame by frame with pyramidal Lucas-Kanade (with a
forward-backward check) over a span of about half a second, on grey crops scaled so that the face is
FACE_PX wide whatever the video's resolution (made once, `frames.face_crops`). One homography is fitted to where they went (RANSAC);
for a plane it explains every point up to tracking noise, for a turning head the nose, the cheeks
and the face's outline move by their own depths and the median point is left off it by several
percent of the face width. The spans examined are those with the largest head-turn (yaw) change
and the largest motion: a plane is judged on its most revealing movements too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..face.track import FaceTrack
from ..video import Frame
from .frames import FACE_PX, Crops
from .frames import face_crops as prepared_crops

SPAN_S = 0.5  # seconds between the two ends of a measured span (about 15 degrees of a head turn)
YAW_SPANS = 4  # spans with the largest yaw change that are measured
MOTION_SPANS = 2  # plus spans with the largest face motion
MAX_CORNERS = 120
LK_WINDOW = (15, 15)
LK_LEVELS = 2
FB_MAX_PX = 0.7  # forward-backward disagreement (working px) above which a point is dropped
RANSAC_PX = 1.0  # working px (about 1 % of the face width)
RANSAC_ITERATIONS = 300  # a plane's points are nearly all inliers: it is found in a few draws
MIN_POINTS = 12


@dataclass(frozen=True)
class SpanResidual:
    """One measured span: frames (positions in the video), points kept, residual and motion in % of
    the face width, and the yaw change the landmarks saw over it."""

    first: int
    last: int
    points: int
    residual: float
    motion: float
    yaw_change: float


def face_crops(frames: Sequence[Frame], track: FaceTrack) -> Crops | None:
    """Grey crops of every frame around the face, FACE_PX per face width (`frames.face_crops`)."""
    return prepared_crops(frames, track)


def _follow(images: Sequence[np.ndarray], start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Track `start` points through consecutive images; (kept start points, their end points)."""
    points = start.astype(np.float32).reshape(-1, 1, 2)
    keep = np.ones(len(points), bool)
    for previous, current in zip(images, images[1:]):
        # nextPts is an output that OpenCV allocates when given None; the stub does not allow None.
        ahead, ok, _ = cv2.calcOpticalFlowPyrLK(previous, current, points, None,  # type: ignore[call-overload]
                                                winSize=LK_WINDOW, maxLevel=LK_LEVELS)
        back, ok_back, _ = cv2.calcOpticalFlowPyrLK(current, previous, ahead, None,  # type: ignore[call-overload]
                                                    winSize=LK_WINDOW, maxLevel=LK_LEVELS)
        error = np.linalg.norm((back - points).reshape(-1, 2), axis=1)
        keep &= (ok.ravel() == 1) & (ok_back.ravel() == 1) & (error < FB_MAX_PX)
        points = ahead
    return start[keep], points.reshape(-1, 2)[keep]


def span_residual(crops: Crops, track: FaceTrack, first: int, last: int,
                  yaw_change: float = 0.0) -> SpanResidual | None:
    """Planar-fit residual of the face's corners from frame `first` to frame `last` (positions)."""
    sighting = track.sightings[first]
    if sighting is None:
        return None
    x1, y1, x2, y2 = crops.to_work(sighting.box.reshape(2, 2)).ravel()
    inset = 0.08 * (x2 - x1)
    image = crops.images[first]
    mask = np.zeros_like(image)
    mask[max(0, int(y1 + inset)):max(0, int(y2 - inset)), max(0, int(x1 + inset)):max(0, int(x2 - inset))] = 255
    corners = cv2.goodFeaturesToTrack(image, MAX_CORNERS, 0.01, 3, mask=mask, blockSize=5)
    if corners is None or len(corners) < MIN_POINTS:
        return None
    start, end = _follow(crops.images[first:last + 1], corners.reshape(-1, 2))
    if len(start) < MIN_POINTS:
        return None
    homography, _ = cv2.findHomography(start, end, cv2.RANSAC, RANSAC_PX, maxIters=RANSAC_ITERATIONS,
                                       confidence=0.99)
    if homography is None:
        return None
    error = np.linalg.norm(cv2.perspectiveTransform(start[None].astype(np.float64), homography)[0] - end, axis=1)
    motion = np.linalg.norm(end - start, axis=1)
    unit = 100.0 / FACE_PX  # working px -> % of the face width
    return SpanResidual(first, last, len(start), float(np.median(error)) * unit, float(np.median(motion)) * unit,
                        yaw_change)


def pick_spans(times: Sequence[float], yaw: np.ndarray, motion: np.ndarray,
               valid: np.ndarray) -> list[tuple[int, int]]:
    """Spans of ~SPAN_S s with the largest yaw change, then with the largest motion, not overlapping."""
    stamps = np.asarray(times, np.float64)
    candidates = []
    for first in range(len(stamps)):
        last = int(np.searchsorted(stamps, stamps[first] + SPAN_S - 1e-6))
        if last >= len(stamps) or not (valid[first] and valid[last]):
            continue
        candidates.append((first, last))
    chosen: list[tuple[int, int]] = []

    def take(order: list[tuple[int, int]], count: int) -> None:
        taken = 0
        for span in order:
            if taken == count:
                break
            if all(span[1] <= a or span[0] >= b for a, b in chosen):
                chosen.append(span)
                taken += 1
    take(sorted(candidates, key=lambda s: -abs(yaw[s[1]] - yaw[s[0]])), YAW_SPANS)
    take(sorted(candidates, key=lambda s: -float(np.sum(motion[s[0] + 1:s[1] + 1]))), MOTION_SPANS)
    return sorted(chosen)


@dataclass(frozen=True)
class Parallax:
    """The measured spans and their summary: the largest residual and the largest motion (% of the
    face width); residual is nan when no span could be measured."""

    residual: float
    motion: float
    spans: tuple[SpanResidual, ...]

    @property
    def frames(self) -> tuple[int, ...]:
        """Positions (in the video) of the spans' ends."""
        return tuple(sorted({p for s in self.spans for p in (s.first, s.last)}))


def parallax(crops: Crops, track: FaceTrack, times: Sequence[float], yaw: np.ndarray) -> Parallax:
    """Planar-fit residuals over the spans with the largest yaw change and the largest face motion,
    between trusted sightings only (a lost track's boxes and landmarks invent motion)."""
    valid = np.array([s is not None and s.trusted for s in track.sightings])
    centres = np.array([(s.box[:2] + s.box[2:]) / 2 if s is not None else (np.nan, np.nan)
                        for s in track.sightings])
    step = np.r_[0.0, np.linalg.norm(np.diff(centres, axis=0), axis=1)]
    motion = np.nan_to_num(step, nan=0.0)
    yaw = np.nan_to_num(np.asarray(yaw, np.float64), nan=0.0)
    spans = []
    for first, last in pick_spans(times, yaw, motion, valid):
        span = span_residual(crops, track, first, last, float(yaw[last] - yaw[first]))
        if span is not None:
            spans.append(span)
    if not spans:
        return Parallax(float("nan"), 0.0, ())
    return Parallax(max(s.residual for s in spans), max(s.motion for s in spans), tuple(spans))
