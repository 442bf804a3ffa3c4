"""Looped clips: a short recording repeated to fill the selfie, re-encoded so that no frame repeats exactly.

Re-encoding (and fresh noise added on purpose) defeats the duplicate-frame cue (`capture`), but not
the repetition of what the frames show. Each frame gets a signature: its grey thumbnail, SIGNATURE
px (area-averaged, so that encoder artefacts and sensor noise average out), less its mean and scaled
to unit norm (exposure and gain drifts drop out). d(i, j) = 1 - the correlation of two signatures.
For every lag k, the distance profile D(k) is the median over frames of d(i, i + k). A live selfie
drifts: frames further apart differ more, and nothing brings the whole picture back at a fixed lag.
A loop of period P brings every frame back P frames later: D(P) drops to the encoder's and the
noise's level, far below the distance at half a period either side, where the clip shows another
moment. Score: min(D(P - P/2), D(P + P/2)) / D(P) at the lag P (MIN_PERIOD_S to half the video)
where that ratio is largest; 1 for a video that neither moves nor repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..video import Frame
from .frames import thumbnails

SIGNATURE = (32, 24)  # thumbnail (width, height) a frame's signature is taken from
MIN_PERIOD_S = 0.4  # shortest loop looked for: a turn and a blink take longer than this
FLOOR = 1e-5  # distance floor: two signatures closer than this are the same picture (no division by 0)


@dataclass(frozen=True)
class Loop:
    """The strongest periodicity of the frames: its dip score (see the module), its period (kept frames
    and seconds; 0 when the video is too short to hold two periods of MIN_PERIOD_S) and the frames
    compared (positions in the video: the first frame and the one a period later)."""

    repeat: float
    period: int
    period_s: float
    frames: tuple[int, ...]


def signatures(frames: Sequence[Frame]) -> np.ndarray:
    """One unit-norm, zero-mean signature per frame (rows, float32)."""
    thumbs = thumbnails(frames, SIGNATURE).astype(np.float32).reshape(len(frames), -1)
    thumbs -= thumbs.mean(axis=1, keepdims=True)
    return np.asarray(thumbs / np.maximum(np.linalg.norm(thumbs, axis=1, keepdims=True), 1e-6), np.float32)


def distance_profile(signs: np.ndarray) -> np.ndarray:
    """D(k) for k = 0 .. n - 1: the median over i of 1 - correlation(signature i, signature i + k)."""
    distance = 1 - signs @ signs.T
    return np.array([float(np.median(np.diagonal(distance, k))) for k in range(len(signs))])


def loop_cue(frames: Sequence[Frame]) -> Loop:
    """The dip score of the video's strongest period (see the module)."""
    times = [f.t for f in frames]
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    shortest = max(2, int(np.ceil(MIN_PERIOD_S / step))) if step > 0 else 2
    if len(frames) < 2 * shortest:
        return Loop(1.0, 0, 0.0, ())
    profile = np.maximum(distance_profile(signatures(frames)), FLOOR)
    best, best_lag = 0.0, 0
    for lag in range(shortest, len(frames) // 2 + 1):
        half = lag // 2
        beside = profile[[lag - half, min(lag + half, len(frames) - 1)]].min()
        ratio = float(beside / profile[lag])
        if ratio > best:
            best, best_lag = ratio, lag
    return Loop(best, best_lag, best_lag * step, (0, best_lag))
