"""The frames a session saw, kept in order within its limits, and written as the case's video.

What the guidance saw is exactly what the verdict reads: the session's frames are encoded with the
project's writer (`video.write`, H.264 like a phone) at the session's median frame rate, so the
decoded video has the same frames in the same order (timestamps become regular: a client should
sample at a steady rate, as the capture page does).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import video
from ..errors import InvalidInput
from ..settings import Settings
from ..video import MAX_SIDE, Frame


class Recording:
    """Frames with their seconds since the first, or since `origin` when one is given (the start of a
    video recorded alongside, on the same clock); refuses what no camera sends."""

    def __init__(self, settings: Settings, *, origin: float | None = None) -> None:
        self.settings = settings
        self.frames: list[Frame] = []
        self.origin = origin
        self._start = origin or 0.0  # where time 0 is on the client's clock: the origin, or the first frame's

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def elapsed(self) -> float:
        """Seconds from the first frame to the last."""
        return self.frames[-1].t if self.frames else 0.0

    @property
    def full(self) -> bool:
        """True once the session's frame count or duration limit is reached."""
        s = self.settings
        return len(self.frames) >= s.capture_max_frames or self.elapsed >= s.capture_max_seconds

    def add(self, image: np.ndarray, t: float) -> Frame | None:
        """Keep one frame (BGR uint8, `t` seconds on the client's clock, increasing); None when the
        limits are reached. Raises InvalidInput for an image or a time no camera gives."""
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise InvalidInput("a frame must be a BGR uint8 image (height x width x 3)")
        height, width = image.shape[:2]
        if min(height, width) < 64 or max(height, width) > MAX_SIDE:
            raise InvalidInput(f"a frame of {width}x{height} px is outside 64-{MAX_SIDE} px")
        if self.frames and image.shape != self.frames[0].image.shape:
            raise InvalidInput("every frame of a session must have the same size")
        if not np.isfinite(t):
            raise InvalidInput("a frame's time must be a finite number of seconds")
        start = self._start if self.frames or self.origin is not None else float(t)
        if self.frames and t - start <= self.frames[-1].t:
            raise InvalidInput("frame times must increase")
        if t < start:
            raise InvalidInput("a frame's time is before the session's origin")
        if self.full:
            return None
        self._start = start
        frame = Frame(index=len(self.frames), t=float(t) - start, image=image)
        self.frames.append(frame)
        return frame

    @property
    def fps(self) -> float:
        """The median frame rate (the written video's)."""
        steps = np.diff([f.t for f in self.frames])
        return float(1.0 / np.median(steps)) if len(steps) else 1.0

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Encode the frames to an MP4 at `path` (see the module's description)."""
        if not self.frames:
            raise InvalidInput("the session has no frame to write")
        video.write(path, (f.image for f in self.frames), max(1, round(self.fps)))
        return Path(path)
