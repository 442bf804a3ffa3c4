"""What one image confirms of the MRZ read on it, with the video path's margins.

Tesseract gives no per-character evidence, and a single-image reading that is valid only after a
correction (a look-alike resolved, a code taken from the list, a name no check digit covers) can
still be wrong. The MRZ band found on the image places the layout of the format read
(`card.quad_from_mrz`); the OCR-B template reader then scores every glyph in every cell of that
zone, either way up, and `mrz_confirm.unconfirmed_in` judges the reading against those scores as it
judges a video's vote over one frame. Without that evidence (no band, no layout for the format, a
template match under `card_mrz.MIN_CONFIDENCE`, or one that disagrees with the reading on more
than a quarter of the cells, i.e. a zone placed off the lines) the fields that no check digit covers are
unconfirmed (`mrz_confirm.without_evidence`), as for a video read by Tesseract. A name or code off
the lists is never confirmed (`mrz_confirm.off_the_lists`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ..settings import Settings
from .card import quad_from_mrz, rotate_quad
from .card_mrz import MIN_CONFIDENCE, OCR_PX_PER_MM, mrz_zone
from .icao import FILLER
from .layout import Layout, layout_for
from .mrz import LAYOUTS as MRZ_LAYOUTS
from .mrz import MRZ
from .mrz_band import find_mrz_band
from .mrz_confirm import Unconfirmed, off_the_lists, unconfirmed_in, vote_evidence, without_evidence
from .ocrb import TemplateReading, read_mrz_zone
from .policy import document_type_of
from .reader import default_reader

_AGREE = 0.75  # share of cells the template must read as the reading does: below, it read another place
_CODE_FIELDS = ("issuing_state", "nationality")  # voted among the listed codes by `vote_evidence`


@dataclass(frozen=True)
class CheckedMRZ:
    """An MRZ reading, the fields nothing confirms (one line each, as `Unconfirmed.detail` words
    them) and the evidence judged: "ocrb" (template scores of the image's MRZ zone), "video" (the
    document stage's vote), "none" (only the check digits)."""

    mrz: MRZ
    doubts: tuple[str, ...]
    evidence: str

    @property
    def uncertain(self) -> bool:
        """True when a person must confirm the reading (the video path's `mrz_uncertain`)."""
        return bool(self.doubts)


def _template(image: np.ndarray, mrz: MRZ) -> tuple[Layout, TemplateReading] | None:
    """The template reading of the MRZ zone that the image's MRZ band places for `mrz`'s format,
    the more confident way up; None when there is no band, no layout or no confident reading."""
    layout = layout_for(mrz.format, document_type_of(mrz), mrz.fields.issuing_state)
    band = find_mrz_band(image) if layout is not None else None
    if layout is None or band is None:
        return None
    quad = quad_from_mrz(band.corners, layout)
    best: TemplateReading | None = None
    for turns in (0, 2):
        zone, origin = mrz_zone(image, rotate_quad(quad, turns), layout)
        reading = read_mrz_zone(zone, layout, OCR_PX_PER_MM, origin)
        if reading is not None and (best is None or reading.confidence > best.confidence):
            best = reading
    if best is None or best.confidence < MIN_CONFIDENCE:
        return None
    return layout, best


def _checked(mrz: MRZ, doubts: list[Unconfirmed], evidence: str) -> CheckedMRZ:
    return CheckedMRZ(mrz, tuple(dict.fromkeys(d.detail for d in doubts)), evidence)


def confirm_on_image(image: np.ndarray, mrz: MRZ, min_margin: float) -> CheckedMRZ:
    """`mrz` (read on `image`) with the fields that `image` does not confirm."""
    found = off_the_lists(mrz)
    if not mrz.valid:  # its failing checks are the finding already
        return _checked(mrz, found, "none")
    evidence = _template(image, mrz)
    if evidence is None:
        return _checked(mrz, found + without_evidence(mrz), "none")
    layout, template = evidence
    seen = vote_evidence(template.scores, layout)
    if sum(a == b for x, y in zip(seen, mrz.lines) for a, b in zip(x, y)) < _AGREE * sum(map(len, mrz.lines)):
        return _checked(mrz, found + without_evidence(mrz), "none")  # the zone was misplaced
    doubts = unconfirmed_in(template.scores, layout, mrz, 1, min_margin)
    codes = [Unconfirmed(slot.field, seen[row][col:col + 3].rstrip(FILLER), 0.0,
                         f"the image reads {seen[row][col:col + 3]!r} rather than {mrz.lines[row][col:col + 3]!r}")
             for row, col, slot in MRZ_LAYOUTS[mrz.format].positions()
             if slot.field in _CODE_FIELDS and seen[row][col:col + 3] != mrz.lines[row][col:col + 3]]
    return _checked(mrz, found + doubts + codes, "ocrb")


def read_mrz_checked(image: np.ndarray, *, today: dt.date | None = None,
                     settings: Settings | None = None) -> CheckedMRZ | None:
    """MRZ of one BGR image (`reader.read_mrz`) with what the image does not confirm of it, or None."""
    mrz = default_reader().read(image, today=today)
    if mrz is None:
        return None
    return confirm_on_image(image, mrz, (settings or Settings()).mrz_confirm_margin)
