"""Read the MRZ off located documents, frame after frame, summing the evidence until it is stable.

Each frame's document is rectified around where its layout puts the MRZ (only that zone is warped)
and read with the OCR-B template reader (`ocrb`). The layout is not known before the first reading:
the document's true aspect ratio splits ID-1 cards (2021 CNI, TD1) from the 1.42 designs (old CNI
2x36, passport 2x44), the template reader's confidence picks between those, and between the two
ways up. The first frame settles layout and orientation; later frames only confirm them. Per-cell
glyph correlations are summed over frames, so one blurred frame cannot outvote two sharp ones, and
reading stops as soon as the summed reading has stayed the same, with every check digit valid, for
`agree` frames. Tesseract (the project's `mrz` model) reads the same rectified zones when the
templates are not confident, e.g. a document whose MRZ is not OCR-B.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import InvalidInput
from .card import ASPECT_SPLIT, card_homography, rotate_quad, true_aspect
from .layout import LAYOUTS, Layout
from .mrz import LAYOUTS as MRZ_LAYOUTS
from .mrz import MRZ, parse
from .mrz_confirm import Unconfirmed, off_the_lists, unconfirmed_in, vote_evidence, without_evidence
from .ocrb import SEARCH_MM, TemplateReading, allowed_masks, read_mrz_zone
from .reader import MRZReader, vote
from .types import DocumentType

OCR_PX_PER_MM = 8.0  # MRZ characters 20 px apart, capitals 18 px tall
# Template readings below this mean correlation are not trusted and Tesseract reads the zone instead
# (generator corpus, 1280x720 best frames: the right layout and way up 0.60-0.97, upside down
# 0.37-0.58, another layout 0.43-0.63; between hypotheses the most confident one is kept).
MIN_CONFIDENCE = 0.62
_ZONE_MARGIN_MM = SEARCH_MM + 1.0
_CLASSES = {True: (DocumentType.FR_CNI_2021,), False: (DocumentType.FR_CNI_1988, DocumentType.PASSPORT)}
@dataclass(frozen=True, eq=False)
class FrameReading:
    """One frame's MRZ reading and the geometry it was read with."""

    frame_index: int
    image: np.ndarray = field(repr=False)  # the frame (BGR), not copied
    corners: np.ndarray = field(repr=False)  # frame pixels, ordered so that the MRZ is at the bottom
    layout: Layout
    lines: tuple[str, ...]
    template: TemplateReading | None
    source: str  # "ocrb" or "tesseract"


def mrz_zone(image: np.ndarray, corners: np.ndarray, layout: Layout,
             px_per_mm: float = OCR_PX_PER_MM) -> tuple[np.ndarray, tuple[float, float]]:
    """The rectified grey MRZ zone (layout box with margins) and its top-left in document millimetres."""
    x, y, w, h = layout.mrz_box_mm(pad=0.0)
    m = _ZONE_MARGIN_MM
    ox, oy = x - m, y - m
    size = (int(round((w + 2 * m) * px_per_mm)), int(round((h + 2 * m) * px_per_mm)))
    to_zone = np.array([[1, 0, -ox * px_per_mm], [0, 1, -oy * px_per_mm], [0, 0, 1]]) @ card_homography(
        corners, layout.size_mm, px_per_mm)
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    zone = cv2.warpPerspective(grey, to_zone, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return zone, (ox, oy)


class CardMRZReader:
    """Template reader first, Tesseract when it is not confident; keeps the evidence of a video."""

    def __init__(self, fallback: MRZReader, *, today: dt.date, agree: int = 2) -> None:
        self.fallback = fallback
        self.today = today
        self.agree = agree
        self.layout: Layout | None = None
        self.flip = False  # the quad's corner order is upside down relative to the document
        self.blur: int | None = None
        self.readings: list[FrameReading] = []
        self._sums: np.ndarray | None = None
        self._history: list[tuple[str, ...]] = []
        self.tesseract_reads = 0

    # -- one frame ----------------------------------------------------------------------------------

    def _template(self, image: np.ndarray, corners: np.ndarray, layout: Layout,
                  blur: int | None) -> TemplateReading | None:
        zone, origin = mrz_zone(image, corners, layout)
        return read_mrz_zone(zone, layout, OCR_PX_PER_MM, origin, blur=blur)

    def _settle(self, image: np.ndarray, corners: np.ndarray) -> tuple[Layout, bool, TemplateReading] | None:
        """Layout and orientation of the first readable frame: the most confident hypothesis."""
        h, w = image.shape[:2]
        kinds = _CLASSES[true_aspect(corners, (w, h)) > ASPECT_SPLIT]
        best: tuple[Layout, bool, TemplateReading] | None = None
        for flip in (False, True):
            quad = rotate_quad(corners, 2) if flip else corners
            for kind in kinds:
                layout = LAYOUTS[kind]
                reading = self._template(image, quad, layout, None)
                if reading is not None and (best is None or reading.confidence > best[2].confidence):
                    best = (layout, flip, reading)
            if best is not None and best[2].confidence >= MIN_CONFIDENCE:
                break
        return best

    def read_frame(self, index: int, image: np.ndarray, corners: np.ndarray) -> FrameReading | None:
        """Read one frame's document (corners refined, in `image` pixels); adds to the video's evidence."""
        template: TemplateReading | None
        if self.layout is None:
            settled = self._settle(image, corners)
            if settled is None:
                return None
            layout, flip, template = settled
            if template.confidence >= MIN_CONFIDENCE:
                self.layout, self.flip, self.blur = layout, flip, template.blur
        else:
            layout, flip = self.layout, self.flip
            template = self._template(image, rotate_quad(corners, 2) if flip else corners, layout, self.blur)
        quad = rotate_quad(corners, 2) if flip else corners
        if template is not None and template.confidence >= MIN_CONFIDENCE:
            reading = FrameReading(index, image, quad, layout, template.lines, template, "ocrb")
            self._sums = template.scores.copy() if self._sums is None else self._sums + template.scores
        else:
            lines = self._tesseract(image, quad, layout)
            if lines is None:
                return None
            reading = FrameReading(index, image, quad, layout, lines, None, "tesseract")
        self.readings.append(reading)
        self._history.append(self.voted() or ())
        return reading

    def _tesseract(self, image: np.ndarray, quad: np.ndarray, layout: Layout) -> tuple[str, ...] | None:
        zone, _ = mrz_zone(image, quad, layout)
        self.tesseract_reads += 1
        return self.fallback.read_lines(zone)

    # -- the video ----------------------------------------------------------------------------------

    def voted(self) -> tuple[str, ...] | None:
        """The reading the evidence so far supports: summed template scores, else Tesseract's majority."""
        if self._sums is not None and self.layout is not None:
            return vote_evidence(self._sums, self.layout)
        texts = [r.lines for r in self.readings if r.source == "tesseract"]
        return vote(texts, [self._valid(t) for t in texts])

    def mrz(self) -> MRZ | None:
        """The parsed voted reading, or None when nothing was read."""
        lines = self.voted()
        if not lines:
            return None
        fmt = self.layout.mrz_format if self.layout is not None else None
        try:
            return parse("\n".join(lines), today=self.today, source=f"{self.source()}-vote-{len(self.readings)}",
                         fmt=fmt)
        except InvalidInput:
            return None

    def margins(self) -> list[np.ndarray] | None:
        """Per line, each character's lead of the best allowed glyph over the next, per frame (template evidence)."""
        if self._sums is None or self.layout is None:
            return None
        frames = sum(1 for r in self.readings if r.source == "ocrb")
        out = []
        for sums, mask in zip(self._sums, allowed_masks(self.layout)):
            ranked = np.sort(np.where(mask, sums, -1e9), axis=1)
            out.append((ranked[:, -1] - ranked[:, -2]) / max(frames, 1))
        return out

    def doubtful(self, mrz: MRZ, min_margin: float) -> list[str]:
        """Failed checks (and impossible dates) whose characters were not all read with `min_margin`.

        A misprinted MRZ is read clearly and fails its check; a misread one fails because some
        character under the check was a near tie. Only the first is evidence against the document.
        """
        margins = self.margins()
        if margins is None or self.layout is None:
            return []
        if self.layout.mrz_format is not mrz.format:  # misread into another format's shape
            return ["format"]
        layout = MRZ_LAYOUTS[mrz.format]
        where = {slot.name: (row, col, slot) for row, col, slot in layout.positions()}

        def weakest(names: tuple[str, ...]) -> float:
            return min(float(margins[where[n][0]][where[n][1]:where[n][1] + where[n][2].length].min()) for n in names)

        out = []
        for check in mrz.checks:
            if not check.valid:
                slot = where[f"{check.field}_check"][2]
                if weakest((*slot.covers, slot.name)) < min_margin:
                    out.append(check.field)
        for name in ("birth_date", "expiry_date"):
            if name in where and any(name.split("_")[0] in p and "date" in p for p in mrz.problems) \
                    and weakest((name,)) < min_margin:
                out.append(name)
        return out

    def unconfirmed(self, mrz: MRZ, min_margin: float) -> list[Unconfirmed]:
        """Fields of the voted reading `mrz` that its evidence does not confirm (`mrz_confirm`);
        empty when `mrz` is not the template vote (a Tesseract reading has no per-character evidence)."""
        if self._sums is None or self.layout is None or mrz.lines != self.voted():
            return []
        frames = sum(1 for r in self.readings if r.source == "ocrb")
        return unconfirmed_in(self._sums, self.layout, mrz, frames, min_margin)

    def _valid(self, lines: tuple[str, ...]) -> bool:
        try:
            return parse("\n".join(lines), today=self.today,
                         fmt=self.layout.mrz_format if self.layout is not None else None).valid
        except InvalidInput:
            return False

    def source(self) -> str:
        """Which reader the voted reading comes from."""
        return "ocrb" if self._sums is not None else "tesseract"

    def consistent(self, frames: int = 3) -> bool:
        """True when at least `frames` frames, each on its own, read exactly the voted lines."""
        voted = self.voted()
        return voted is not None and sum(r.lines == voted for r in self.readings) >= frames

    def stable(self) -> bool:
        """True once the voted reading has stayed the same for `agree` frames and is valid,
        or for `agree` + 2 frames whatever its check digits say (a misprinted MRZ stays misprinted)."""
        if not self._history or not self._history[-1]:
            return False
        last = self._history[-1]
        run = 0
        for lines in reversed(self._history):
            if lines != last:
                break
            run += 1
        if run >= self.agree + 2:
            return True
        mrz = self.mrz()
        return run >= self.agree and mrz is not None and mrz.valid


def unconfirmed_fields(reader: CardMRZReader | None, mrz: MRZ, min_margin: float) -> list[Unconfirmed]:
    """Fields of `mrz` that nothing confirms: any code or name off the lists (`off_the_lists`); and
    for a valid `mrz`, the template vote's doubts, or for a Tesseract reading, which gives no
    per-character evidence, what no check digit can confirm (`without_evidence`)."""
    found = off_the_lists(mrz)
    if not mrz.valid:
        return found
    if reader is not None and reader.source() == "ocrb" and mrz.lines == reader.voted():
        return found + reader.unconfirmed(mrz, min_margin)
    return found + without_evidence(mrz)
