"""Visual inspection zone: read the printed surname and document number, compare them with the MRZ;
read the holder's identity lines (surname, usage name, given names, birth place: `read_identity`).

The lines are found on the rectified document where its layout prints them (the exact row is taken
from the ink profile within 1.5 mm of the expected baseline, less for a line printed close to
others) and read by PaddleOCR's PP-OCR recogniser through rapidocr, recognition only: the layout
already says where the text is, so the detector, the slow half of PP-OCR, is not run. The comparison folds accents, case, spacing,
hyphens and the usual OCR confusions (O/0, I/1, S/5, ...) on both sides, and looks for the MRZ
value inside the printed line (the old CNI prints its labels inline), allowing one edit in five.
"""

from __future__ import annotations

import dataclasses
import string
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..models import Registry
from ..names import letters
from .layout import Layout, PrintedField
from .printed import IDENTITY_LINES, LineState, PrintedIdentity, PrintedLine, value_of

# A printed line read with less confidence than this cannot contradict the MRZ (it can still agree).
MIN_OCR_SCORE = 0.8
# Identity lines are cropped closer than the default: accents above the capitals and descenders
# below them stay in, the labels printed above the next line (2021 card, passport) stay out.
IDENTITY_SPAN_EM = (0.62, 0.6)
_TRIM_INK = 0.25  # a column with a quarter of the line's strongest ink still holds text
_MIN_LETTERS = 2  # a reading with fewer letters is no value (a blank line gives '' or one stray glyph)
_FOLD = str.maketrans("OQDILZSBG", "000112586")
_ALNUM = frozenset(string.ascii_uppercase + string.digits)


@dataclass(frozen=True)
class FieldCheck:
    """One printed field against its MRZ value."""

    name: str
    mrz_value: str
    printed: str  # what the OCR read on the line
    ocr_score: float
    distance: int | None  # edits between the MRZ value and the best-matching part of the line
    matches: bool | None  # None when the line could not be read confidently


def plain(text: str) -> str:
    """Upper-case A-Z/0-9 only, accents removed, nothing merged: what confirms a character in doubt."""
    letters = unicodedata.normalize("NFKD", text.upper().replace("Œ", "OE").replace("Æ", "AE"))
    return "".join(c for c in letters if c in _ALNUM)


def confirms(check: FieldCheck) -> bool:
    """True when the printed line is the MRZ value exactly once its label is dropped (no look-alike
    folded, no edit, no part of a longer value): then it confirms a character of the MRZ that was in
    doubt. Two readers agreeing on every character is evidence whatever the OCR's own score (the
    PP-OCR score of a genuine line in lower case at 640x360 is 0.57-0.71)."""
    value = plain(check.mrz_value)
    return bool(value) and value == plain(value_of(check.name, check.printed))


def fold(text: str) -> str:
    """Upper-case A-Z/0-9 only, accents removed, easily confused glyphs merged."""
    letters = unicodedata.normalize("NFKD", text.upper().replace("Œ", "OE").replace("Æ", "AE"))
    return "".join(c for c in letters if c in _ALNUM).translate(_FOLD)


def substring_distance(needle: str, haystack: str) -> int:
    """Fewest edits turning `needle` into some substring of `haystack` (Sellers' algorithm)."""
    if not needle:
        return 0
    previous = list(range(len(needle) + 1))
    best = previous[-1]
    for char in haystack:
        current = [0]
        for i, n in enumerate(needle, start=1):
            current.append(min(previous[i] + 1, current[i - 1] + 1, previous[i - 1] + (n != char)))
        best = min(best, current[-1])
        previous = current
    return best


def allowed_edits(value: str) -> int:
    """Edits tolerated for a value of this length: one in five, at least one."""
    return max(1, round(0.2 * len(value)))


def line_crop(card: np.ndarray, spec: PrintedField, px_per_mm: float, *,
              span_em: tuple[float, float] = (0.85, 0.7), trim: bool = False) -> np.ndarray:
    """The printed line of `spec` on `card` (upright, at `px_per_mm`), its row found from the ink.

    The crop runs `span_em` ems above and below the middle of the line's capitals. `trim` ends it
    one em after the line's last ink: the recogniser's cost grows with the width, and most values
    fill a fraction of the width their field may take.
    """
    grey = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY) if card.ndim == 3 else card
    size = spec.size_mm * px_per_mm
    cap = 0.72 * size
    reach = spec.reach_mm * px_per_mm
    x0 = max(0, int(round((spec.x_mm - 1.0) * px_per_mm)))
    x1 = min(grey.shape[1], int(round((spec.x_mm + spec.width_mm) * px_per_mm)))
    expected = spec.baseline_mm * px_per_mm - cap / 2  # middle of the capitals
    top = max(0, int(round(expected - cap - reach)))
    bottom = min(grey.shape[0], int(round(expected + cap + reach)))
    window = grey[top:bottom, x0:x1]
    if window.size == 0:
        return window
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(size)) | 1, max(3, int(size)) | 1))
    blackhat = cv2.morphologyEx(window, cv2.MORPH_BLACKHAT, kernel).astype(np.float32)
    smoothed = np.convolve(blackhat.mean(axis=1), np.ones(max(1, int(cap))) / max(1, int(cap)), mode="same")
    rows = np.arange(len(smoothed)) + top
    near = np.abs(rows - expected) <= reach
    centre = rows[near][int(np.argmax(smoothed[near]))] if near.any() else expected
    above, below = span_em
    y0 = max(0, int(round(centre - above * size)))
    y1 = min(grey.shape[0], int(round(centre + below * size)))
    if trim:
        x1 = x0 + _ink_end(blackhat[max(0, y0 - top):max(0, y1 - top)], int(size))
    return np.ascontiguousarray(card[y0:y1, x0:x1])


def _ink_end(blackhat: np.ndarray, size: int) -> int:
    """Column one em past the last one inked like text (a quarter of the line's strongest ink)."""
    if blackhat.size == 0:
        return blackhat.shape[1]
    columns = np.convolve(blackhat.mean(axis=0), np.ones(max(1, size // 2)) / max(1, size // 2), mode="same")
    inked = np.flatnonzero(columns >= _TRIM_INK * columns.max())
    return min(blackhat.shape[1], int(inked[-1]) + size) if inked.size else blackhat.shape[1]


class PrintedFieldReader:
    """PP-OCR recognition (rapidocr, ONNX from the registry, never downloaded) of printed lines."""

    model_ids = ("ppocr_rec",)

    def __init__(self, registry: Registry, threads: int = 1) -> None:
        from rapidocr import RapidOCR  # imported when the stage is built, not when the package is

        self._ocr: Any = RapidOCR(params={
            "Det.model_path": str(registry.path("ppocr_det")),
            "Rec.model_path": str(registry.path("ppocr_rec")),
            "Cls.model_path": str(registry.path("ppocr_cls")),
            "Global.use_det": False, "Global.use_cls": False, "Global.log_level": "error",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })

    def read(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, score) of each line crop (BGR), in one batch."""
        usable = [c for c in crops if c.size and min(c.shape[:2]) >= 8]
        if not usable:
            return [("", 0.0)] * len(crops)
        result = self._ocr.recognize_txt(usable)
        texts = iter(zip(result.txts, result.scores))
        return [next(texts) if c.size and min(c.shape[:2]) >= 8 else ("", 0.0) for c in crops]

    def check(self, card: np.ndarray, layout: Layout, px_per_mm: float,
              values: dict[str, str]) -> list[FieldCheck]:
        """Each field of `layout` that has an MRZ value in `values`, read and compared."""
        names = [n for n in layout.fields if values.get(n)]
        crops = [line_crop(card, layout.fields[n], px_per_mm) for n in names]
        out = []
        for name, (text, score) in zip(names, self.read(crops)):
            value = fold(values[name])
            if not fold(text):
                out.append(FieldCheck(name, values[name], text, float(score), None, None))
                continue
            distance = substring_distance(value, fold(text))
            if distance <= allowed_edits(value):
                matches: bool | None = True  # an agreement is evidence whatever the OCR's own confidence
            else:
                matches = False if score >= MIN_OCR_SCORE else None  # only a confident reading contradicts
            out.append(FieldCheck(name, values[name], text, float(score), distance, matches))
        return out

    def read_identity(self, card: np.ndarray, layout: Layout, px_per_mm: float,
                      lines: Collection[str] = IDENTITY_LINES) -> PrintedIdentity:
        """The identity `lines` that `layout` prints, read on `card` (upright, at `px_per_mm`); a line
        it prints but not asked for is unread (`declared.printed_lines_needed` says which matter).

        Each line is recognised on its own: a batch pads every line to the widest one's width, which
        cost a fifth more CPU on the generated documents (about 20 to 30 ms a line, one thread).
        """
        names = [n for n in IDENTITY_LINES if n in layout.fields]
        readings = {n: self.read([line_crop(card, layout.fields[n], px_per_mm, span_em=IDENTITY_SPAN_EM,
                                            trim=True)])[0] for n in names if n in lines}
        skipped = {n: PrintedLine(LineState.UNREAD) for n in names if n not in lines}
        return dataclasses.replace(identity_of(readings), **skipped)


def identity_of(readings: dict[str, tuple[str, float]]) -> PrintedIdentity:
    """The printed identity from each line's (OCR text, score); a line missing from `readings` is None.

    A usage-name line with no value is blank (most holders have none) when the surname above it
    was read confidently; any other line with no value is unread.
    """
    lines: dict[str, PrintedLine] = {}
    for name, (text, score) in readings.items():
        value = value_of(name, text)
        if sum(c.isalpha() for c in value) >= _MIN_LETTERS:
            state = LineState.READ if score >= MIN_OCR_SCORE else LineState.UNSURE
            lines[name] = PrintedLine(state, value, text, float(score))
        else:
            lines[name] = PrintedLine(LineState.UNREAD, "", text, float(score))
    usage, surname = lines.get("usage_name"), lines.get("surname")
    if usage is not None and usage.usable and _neighbour(usage, lines):
        usage = lines["usage_name"] = PrintedLine(LineState.UNREAD, "", usage.text, usage.score)
    if (usage is not None and usage.state is LineState.UNREAD
            and surname is not None and surname.state is LineState.READ):
        lines["usage_name"] = PrintedLine(LineState.BLANK, "", usage.text, usage.score)
    return PrintedIdentity(**lines)


def _neighbour(usage: PrintedLine, lines: dict[str, PrintedLine]) -> bool:
    """True when a usage-name reading is part of the surname or given names line: the crop caught
    the line above or below it (it is printed between them), not a usage name."""
    mine = letters(usage.value)
    return any(mine in letters(lines[name].value) for name in ("surname", "given_names")
               if name in lines and lines[name].usable)
