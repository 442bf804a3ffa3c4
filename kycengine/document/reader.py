"""Read an MRZ from a photo, a rectified card or the frames of a video (voting per character)."""

from __future__ import annotations

import datetime as dt
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import islice, product

import numpy as np

from ..errors import InvalidInput
from ..models import Registry, default_registry
from ..video import Frame, frame_quality
from .mrz import LAYOUTS, MRZ, CharClass, MRZFormat, correct_by_position, detect, parse, resolve_lookalikes
from .mrz_band import ICAO_LINES, MRZBand, band_stages
from .mrz_ocr import TesseractMRZ, line_variants

_SCORING_DAY = dt.date(2000, 1, 1)  # length repair ranks by check digits, which no date changes
_LETTERS = frozenset(string.ascii_uppercase + "<")
_KINDS = {CharClass.DIGIT: frozenset(string.digits + "<"), CharClass.ALPHA: _LETTERS, CharClass.NAME: _LETTERS}
_LENGTH_SLACK = 2  # raw OCR line lengths accepted around the format width (Tesseract slips 1-2 glyphs)
_MIN_RAW_FIT = 0.8  # below: not read as an MRZ (see _raw_fit; measured in docs/mrz_lines.md)
_MAX_BANDS_READ = 3  # line groups handed to OCR per image and stage, best first
_MAX_UNSHAPED_READ = 1  # of those, groups whose pitch gives no ICAO length (OCR of print that is no MRZ is slow)


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


@dataclass(frozen=True)
class _Reading:
    """Corrected lines of one band in one orientation, how well the raw OCR fitted the format's
    character classes, and the parse score of the corrected lines."""

    lines: tuple[str, ...]
    raw_fit: float
    score: int
    valid: bool

    @property
    def rank(self) -> tuple[bool, int, float]:
        return (self.valid, self.score, self.raw_fit)


def _raw_fit(fmt: MRZFormat, lines: Sequence[str]) -> float:
    """Share of raw OCR characters of the kind their slot wants (digits in digit slots...): an MRZ
    read the right way up fits almost fully, text read upside down or a stray row does not."""
    cells = [(lines[row][col + offset], slot.cls) for row, col, slot in LAYOUTS[fmt].positions()
             for offset in range(slot.length)]
    return sum(cls not in _KINDS or char in _KINDS[cls] for char, cls in cells) / len(cells)


def _windows(raw: tuple[str, ...], band: MRZBand) -> list[tuple[int, tuple[str, ...]]]:
    """(width, lines) choices: runs of the band's line count of raw OCR lines whose lengths are all
    within `_LENGTH_SLACK` of a width of an ICAO format with that many lines."""
    widths = [band.characters] if band.icao_shaped else [w for w, n in ICAO_LINES.items() if n == band.line_count]
    count = band.line_count
    return [(width, raw[start:start + count]) for width in widths for start in range(len(raw) - count + 1)
            if all(abs(len(line) - width) <= _LENGTH_SLACK for line in raw[start:start + count])]


class MRZReader:
    """Band finder + OCR + position-aware correction + parser; owns one OCR engine."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.ocr = TesseractMRZ(registry or default_registry())

    def _read_band(self, image: np.ndarray, band: MRZBand) -> _Reading | None:
        """Best format-shaped reading of a crop of `band` as it lies, or None if none has the shape."""
        best: _Reading | None = None
        for width, lines in _windows(self.ocr.read(image), band):
            for candidate in product(*(line_variants(line, width) for line in lines)):
                try:
                    fmt = detect(candidate)
                    corrected = resolve_lookalikes(fmt, correct_by_position(fmt, candidate))
                except InvalidInput:
                    continue
                fit = _raw_fit(fmt, candidate)
                if fit < _MIN_RAW_FIT:
                    continue
                mrz = parse("\n".join(corrected), today=_SCORING_DAY)
                reading = _Reading(corrected, fit, mrz.score, mrz.valid)
                if best is None or reading.rank > best.rank:
                    best = reading
        return best

    def _best(self, stages: Iterable[list[MRZBand]], *, turn_over: bool) -> tuple[str, ...] | None:
        """Read bands stage by stage: those whose lines measure an ICAO length, then the best other
        one (pitch is not always measurable on small, blurred frames); each as it lies (and turned
        over when `turn_over`), and once more from its looser crop when the first reading has the
        format's shape but fails a check. A fully valid reading stops the search, else the best
        reading with the format's shape is kept; None when no band has that shape."""
        best: _Reading | None = None
        for bands in stages:
            shaped = [band for band in bands if band.icao_shaped]
            for band in shaped + [band for band in bands if not band.icao_shaped][:_MAX_UNSHAPED_READ]:
                for turned in (band, band.flipped()) if turn_over else (band,):
                    reading = self._read_band(turned.image, turned)
                    if reading is not None and not reading.valid:
                        second = self._read_band(turned.loose, turned)  # shaped but invalid: look again
                        reading = reading if second is None or reading.rank >= second.rank else second
                    if reading is not None and (best is None or reading.rank > best.rank):
                        best = reading
                    if best is not None and best.valid:
                        return best.lines
        return None if best is None else best.lines

    def read_lines(self, image: np.ndarray) -> tuple[str, ...] | None:
        """Corrected MRZ lines of an image whose MRZ lies level and upright (a rectified zone), or None."""
        return self._best(islice(band_stages(image, limit=_MAX_BANDS_READ), 1), turn_over=False)

    def read_any_angle(self, image: np.ndarray) -> tuple[str, ...] | None:
        """Corrected MRZ lines of an image turned any way, or None: level bands first, then a search
        over the whole turn; every band read both ways up."""
        return self._best(band_stages(image, limit=_MAX_BANDS_READ), turn_over=True)

    def read(self, image: np.ndarray, *, today: dt.date | None = None) -> MRZ | None:
        """Best MRZ of one BGR image at any rotation; None if no line group reads as an MRZ."""
        lines = self.read_any_angle(image)
        if lines is None:
            return None
        return parse("\n".join(lines), today=today or dt.date.today(), source="tesseract")

    def read_frames(self, frames: Iterable[Frame], *, today: dt.date | None = None,
                    max_frames: int = 8, agree: int = 3) -> MRZ | None:
        """Vote over the sharpest frames; stops once `agree` readings are identical."""
        today = today or dt.date.today()
        ranked = sorted(frames, key=lambda f: frame_quality(f.proxy).sharpness, reverse=True)
        readings: list[tuple[str, ...]] = []
        valid: list[bool] = []
        for frame in ranked[:max_frames]:
            lines = self.read_any_angle(frame.image)
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
