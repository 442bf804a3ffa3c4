"""Full-frame replay: a screen filling the frame carries its "room" with it, as one plane.

A monitor filmed so close that it fills the frame shows no bezel, and its pixels are finer than the
camera resolves (no moire); the room beside the replayed face is part of the picture. The hand that
holds the camera moves it to and from the panel by a few percent of their distance, and the whole
picture, that room included, grows and shrinks with it. A real room stands metres behind a customer
whose phone is at arm's length: the same hand movement changes the face's scale, but the room's by a
tenth as much, and turning the phone (the larger part of a hand's shake) moves a scene without
changing its scale at any depth. So the room's scale change over short spans says "one plane".

Score: between frames SPAN_S apart (every SPAN_EVERY-th kept frame as the first), corners of the
background (beyond BACKGROUND_REACH face widths left and right of the face, full height: head and
shoulders move on their own) are followed with pyramidal Lucas-Kanade (forward-backward checked)
on grey copies WORK_WIDTH px wide, smoothed by SMOOTH_PX; a similarity (scale, turn, shift) is
fitted to them (RANSAC), and the score is the median over the spans of |log scale|. Only real
corners count (CORNER_MIN): on a blank wall the strongest "corners" are sensor noise, which Lucas-
Kanade follows anywhere along the wall's smooth shading and which once read as a 3 % zoom; a span
without MIN_POINTS real corners is not measured, and a video without MIN_SPANS spans has no score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..face.track import FaceTrack
from ..image import shrink
from ..video import Frame

SPAN_S = 0.5  # seconds between the two frames of a span (a hand's drift towards a screen shows by then)
SPAN_EVERY = 2  # a span starts at every 2nd kept frame
WORK_WIDTH = 480  # px: frames are compared on grey copies at most this wide
BACKGROUND_REACH = 1.6  # the background starts this many face widths left and right of the face's centre
SMOOTH_PX = 1.0  # Gaussian sigma (working px) taken off the sensor noise before corners are sought
# Smallest corner strength (cv2.cornerMinEigenVal, block 5, Sobel 3, on 0-255 grey) a background corner
# needs: a right-angle corner of ~20 grey levels through the lens reads ~2e-4; on blank walls of
# generated rooms the strongest noise corners read up to 4e-5 (clean) and 1e-4 (hard capture).
CORNER_MIN = 1.5e-4
MAX_CORNERS = 200
LK_WINDOW = (21, 21)
LK_LEVELS = 3  # a screen's drift over half a second reaches ~20 px at 480 px
FB_MAX_PX = 0.7  # forward-backward disagreement (working px) above which a corner is dropped
RANSAC_PX = 1.0
MIN_POINTS = 8  # fewer followed background corners than this: the span is not measured
MIN_SPANS = 3  # fewer measured spans than this: no score (nan)


@dataclass(frozen=True)
class SceneScale:
    """Median |log scale| of the background over the measured spans (nan when fewer than MIN_SPANS),
    the spans measured, and the positions (in the video) of their frames."""

    scale: float
    spans: int
    frames: tuple[int, ...]


def background_mask(shape: tuple[int, int], box: np.ndarray) -> np.ndarray:
    """uint8 mask (255: background) of a frame of `shape` (h, w): everything beyond BACKGROUND_REACH
    face widths left and right of the face `box` (x1, y1, x2, y2, working px)."""
    height, width = shape
    x1, _, x2, _ = (float(v) for v in box)
    centre, reach = (x1 + x2) / 2, BACKGROUND_REACH * (x2 - x1)
    mask = np.full((height, width), 255, np.uint8)
    mask[:, max(0, int(centre - reach)):max(0, min(width, int(np.ceil(centre + reach))))] = 0
    return mask


def span_scale(before: np.ndarray, after: np.ndarray, mask: np.ndarray) -> float | None:
    """log scale of the similarity that takes `before`'s background corners (`mask`) to `after`
    (grey images, smoothed); None when too few real corners could be followed."""
    corners = cv2.goodFeaturesToTrack(before, MAX_CORNERS, 0.01, 5, mask=mask, blockSize=5)
    if corners is None:
        return None
    strength = cv2.cornerMinEigenVal(before, 5, ksize=3)
    at = np.round(corners.reshape(-1, 2)).astype(int)
    corners = corners[strength[at[:, 1], at[:, 0]] >= CORNER_MIN]
    if len(corners) < MIN_POINTS:
        return None
    # nextPts is an output that OpenCV allocates when given None; the stub does not allow None.
    ahead, ok, _ = cv2.calcOpticalFlowPyrLK(before, after, corners, None,  # type: ignore[call-overload]
                                            winSize=LK_WINDOW, maxLevel=LK_LEVELS)
    back, ok_back, _ = cv2.calcOpticalFlowPyrLK(after, before, ahead, None,  # type: ignore[call-overload]
                                                winSize=LK_WINDOW, maxLevel=LK_LEVELS)
    error = np.linalg.norm((back - corners).reshape(-1, 2), axis=1)
    keep = (ok.ravel() == 1) & (ok_back.ravel() == 1) & (error < FB_MAX_PX)
    if int(keep.sum()) < MIN_POINTS:
        return None
    matrix, _ = cv2.estimateAffinePartial2D(corners.reshape(-1, 2)[keep], ahead.reshape(-1, 2)[keep],
                                            method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX)
    if matrix is None:
        return None
    return float(np.log(np.hypot(matrix[0, 0], matrix[1, 0])))


def scene_scale(frames: Sequence[Frame], track: FaceTrack) -> SceneScale:
    """The background's scale change over spans of SPAN_S (see the module); spans start at frames with
    a face (the background is placed beside it)."""
    found = {s.position: s for s in track.found}
    if len(frames) < 2 or not found:
        return SceneScale(float("nan"), 0, ())
    times = np.array([f.t for f in frames], np.float64)
    ratio = min(1.0, WORK_WIDTH / frames[0].image.shape[1])
    greys: dict[int, np.ndarray] = {}

    def grey(position: int) -> np.ndarray:
        if position not in greys:
            small = shrink(cv2.cvtColor(frames[position].image, cv2.COLOR_BGR2GRAY), ratio)
            greys[position] = cv2.GaussianBlur(small, (0, 0), SMOOTH_PX)
        return greys[position]

    scales, used = [], []
    for first in range(0, len(frames), SPAN_EVERY):
        last = int(np.searchsorted(times, times[first] + SPAN_S - 1e-6))
        if first not in found or last >= len(frames) or last == first:
            continue
        before = grey(first)
        change = span_scale(before, grey(last), background_mask(before.shape[:2], found[first].box * ratio))
        if change is not None:
            scales.append(abs(change))
            used += [first, last]
    if len(scales) < MIN_SPANS:
        return SceneScale(float("nan"), len(scales), tuple(sorted(set(used))))
    return SceneScale(float(np.median(scales)), len(scales), tuple(sorted(set(used))))
