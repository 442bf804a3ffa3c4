"""Read an MRZ from a photo, a rectified card or the frames of a video (voting per character)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache
from itertools import product

import cv2
import numpy as np

from ..errors import InvalidInput
from ..models import Registry, default_registry
from ..video import Frame, frame_quality
from .mrz import MRZ, correct_by_position, detect, parse, resolve_lookalikes
from .mrz_band import find_mrz_band
from .mrz_ocr import TesseractMRZ, line_variants, shape_lines

_SCORING_DAY = dt.date(2000, 1, 1)  # length repair ranks by check digits, which no date changes
_ROTATIONS = (None, cv2.ROTATE_180, cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE)


def vote(readings: Sequence[tuple[str, ...]], valid: Sequence[bool] = ()) -> tuple[str, ...] | None:
    """The most common fully valid reading if there is one, else the per-character majority over
    readings of the most common shape (`valid[i]` says whether reading i passed every check)."""
    if not readings:
        return None
    passing = [r for r, ok in zip(readings, valid) if ok]
    if passing:
        return Counter(passing).most_common(1)[0][0]
    shapes = Counter(tuple(len(line) for line in r) for r in readings)
    shape = shapes.most_common(1)[0][0]
    same = [r for r in readings if tuple(len(line) for line in r) == shape]
    return tuple("".join(Counter(r[row][col] for r in same).most_common(1)[0][0]
                         for col in range(width))
                 for row, width in enumerate(shape))


class MRZReader:
    """Band finder + OCR + position-aware correction + parser; owns one OCR engine."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.ocr = TesseractMRZ(registry or default_registry())

    def read_lines(self, image: np.ndarray) -> tuple[str, ...] | None:
        """Corrected MRZ lines of one image in one orientation, or None."""
        band = find_mrz_band(image)
        if band is None:
            return None
        shaped = shape_lines(self.ocr.read(band.image))
        if shaped is None:
            return None
        width, lines = shaped
        best: tuple[int, tuple[str, ...]] | None = None
        for candidate in product(*(line_variants(line, width) for line in lines)):
            try:
                fmt = detect(candidate)
                corrected = resolve_lookalikes(fmt, correct_by_position(fmt, candidate))
            except InvalidInput:
                continue
            score = parse("\n".join(corrected), today=_SCORING_DAY).score
            if best is None or score > best[0]:
                best = (score, corrected)
        return None if best is None else best[1]

    def read(self, image: np.ndarray, *, today: dt.date | None = None) -> MRZ | None:
        """Best MRZ of one BGR image, trying upright, upside-down and sideways; None if none."""
        today = today or dt.date.today()
        best: MRZ | None = None
        for rotation in _ROTATIONS:
            rotated = image if rotation is None else cv2.rotate(image, rotation)
            lines = self.read_lines(rotated)
            if lines is None:
                continue
            mrz = parse("\n".join(lines), today=today, source="tesseract")
            if best is None or mrz.score > best.score:
                best = mrz
            if mrz.valid:
                break
        return best

    def read_frames(self, frames: Iterable[Frame], *, today: dt.date | None = None,
                    max_frames: int = 8, agree: int = 3) -> MRZ | None:
        """Vote over the sharpest frames; stops once `agree` readings are identical."""
        today = today or dt.date.today()
        ranked = sorted(frames, key=lambda f: frame_quality(f.proxy).sharpness, reverse=True)
        readings: list[tuple[str, ...]] = []
        valid: list[bool] = []
        for frame in ranked[:max_frames]:
            lines = self.read_lines(frame.image)
            if lines is None:
                continue
            readings.append(lines)
            valid.append(parse("\n".join(lines), today=today).valid)
            if Counter(readings).most_common(1)[0][1] >= agree:  # the reading is stable
                break
        voted = vote(readings, valid)
        if voted is None:
            return None
        try:
            return parse("\n".join(voted), today=today, source=f"tesseract-vote-{len(readings)}")
        except InvalidInput:
            return None


@cache
def default_reader() -> MRZReader:
    """Process-wide reader, built on first use (never at import)."""
    return MRZReader()


def read_mrz(image: np.ndarray, *, today: dt.date | None = None) -> MRZ | None:
    """MRZ of one BGR image (photo or scan, any size, not necessarily rectified), or None."""
    return default_reader().read(image, today=today)
