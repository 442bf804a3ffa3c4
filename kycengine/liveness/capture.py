"""Replay and injection signs in the stream itself, whatever it shows.

- duplicated or looped frames: two decoded frames (consecutive or not) that are the same picture up
  to DUPLICATE_DIFF grey levels (a camera never delivers the same noise twice);
- impossible timestamps: not strictly increasing, or a gap longer than GAP_FACTOR frame steps and
  GAP_MIN_S seconds (frames cut out or spliced in);
- no sensor noise: the noise floor (Immerkaer's estimate over the flattest blocks of the face
  region, native resolution) below what any camera and encoder leave (a rendered or re-encoded
  synthetic stream);
- no motion: a still picture injected as a video (or one photo filmed on a tripod) barely moves:
  the face's largest motion over half a second (from the parallax tracks) is tiny.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..video import Frame
from .frames import Samples, grey_patch, thumbnails

THUMB = (160, 120)  # frames are compared as grey thumbnails this size
DUPLICATE_DIFF = 0.15  # mean absolute grey difference below which two thumbnails are the same picture
GAP_FACTOR = 4.0
GAP_MIN_S = 0.5
NOISE_PATCH = 128
NOISE_BLOCK = 16
NOISE_QUANTILE = 10  # percentile of the block estimates taken as the floor (flattest blocks)
_LAPLACE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


@dataclass(frozen=True)
class Capture:
    """Stream facts: duplicated frames (fraction of frames that repeat an earlier one), timestamp
    problems, noise floor (grey levels) and the frames involved (positions in the video)."""

    duplicates: float
    non_increasing: int
    max_gap_s: float
    gap_steps: float  # the largest gap in median frame steps
    noise: float
    frames: tuple[int, ...]


def noise_floor(image: np.ndarray, centre: tuple[float, float]) -> float:
    """Immerkaer's noise sigma over the flattest blocks of a patch around `centre` (grey levels)."""
    patch = grey_patch(image, centre, NOISE_PATCH)
    response = np.abs(cv2.filter2D(patch, -1, _LAPLACE))[1:-1, 1:-1]
    height, width = response.shape
    blocks = [response[y:y + NOISE_BLOCK, x:x + NOISE_BLOCK].mean()
              for y in range(0, height - NOISE_BLOCK + 1, NOISE_BLOCK)
              for x in range(0, width - NOISE_BLOCK + 1, NOISE_BLOCK)]
    if not blocks:
        return float("nan")
    return float(np.percentile(blocks, NOISE_QUANTILE) * np.sqrt(np.pi / 2) / 6)


def capture_cues(frames: Sequence[Frame], samples: Samples) -> Capture:
    """Duplicates, timestamps and noise floor of the decoded video."""
    thumbs = thumbnails(frames, THUMB).astype(np.float32)
    repeated: set[int] = set()
    flat = thumbs.reshape(len(thumbs), -1)
    for later in range(1, len(flat)):
        diffs = np.abs(flat[:later] - flat[later]).mean(axis=1)
        if float(diffs.min()) < DUPLICATE_DIFF:
            repeated.add(later)
    times = np.array([f.t for f in frames], np.float64)
    steps = np.diff(times)
    median_step = float(np.median(steps)) if len(steps) else 0.0
    non_increasing = int(np.count_nonzero(steps <= 0))
    max_gap = float(steps.max()) if len(steps) else 0.0
    noise = [noise_floor(image, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
             for image, box in zip(samples.images, samples.boxes)]
    return Capture(duplicates=len(repeated) / max(1, len(frames)), non_increasing=non_increasing,
                   max_gap_s=max_gap, gap_steps=max_gap / median_step if median_step > 0 else 0.0,
                   noise=float(np.nanmedian(noise)) if noise else float("nan"),
                   frames=tuple(sorted(repeated)))
