"""Document stage entry point: frames of the document video in, DocumentEvidence out.

The video is decoded once by the pipeline. Here a cheap pass scores an even sample of frames
(proxy quality and a document search, `quality.scan_frames`); the expensive steps run on the best
few only: corners refined at full resolution, the MRZ read off the rectified document and summed
over frames until the reading is stable (`card_mrz`). Once the MRZ says what the document is, the
sharpest read frame is rectified at 8 px/mm for the portrait crop, the printed-field cross-check and
the colour check; the screen and tilt checks use the document's corners in all the scanned frames.
When no outline is found the MRZ is looked for on whole frames (`reader.MRZReader`) and the
document's extent is predicted from the MRZ band. When the MRZ cannot be read, the capture problem
that explains it is reported (not found, cut off, glare, blur) rather than `mrz_unreadable`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InvalidMedia, ModelUnavailable
from ..findings import Finding, FindingCode
from ..image import read_image
from ..models import Registry, default_registry
from ..schema import Check, DocumentEvidence, StageState
from ..settings import Settings
from ..video import Frame, Keep, Video, decode, frame_quality, is_video_file
from . import authenticity, damage, quality
from .card import (
    ASPECT_SPLIT,
    CardQuad,
    page_candidates,
    quad_from_mrz,
    rectify,
    refine_corners,
    rotate_quad,
    true_aspect,
)
from .card_mrz import (  # noqa: F401  (FrameReading: _Located's items)
    MIN_CONFIDENCE,
    OCR_PX_PER_MM,
    CardMRZReader,
    FrameReading,
    Unconfirmed,
    mrz_zone,
    unconfirmed_fields,
)
from .layout import FRANCE, LAYOUTS, Layout, layout_for
from .mrz import MRZ, MRZFormat, parse
from .mrz_band import find_mrz_band
from .mrz_still import CheckedMRZ, read_mrz_checked
from .ocrb import read_mrz_zone
from .policy import acceptance, document_type_of
from .portrait import crop_portrait
from .printed import PrintedIdentity
from .reader import MRZReader
from .types import DocumentType
from .validity import Validity, assess_validity
from .viz import PrintedFieldReader, confirms

log = logging.getLogger(__name__)

# Checks of the document stage that are not built yet: while any is listed the stage reports
# PARTIAL, so that the policy can refuse on what was found but never approves on it.
PENDING_CHECKS: tuple[str, ...] = ()
CARD_PX_PER_MM = 8.0  # the canonical rectified document: 685 x 432 px for an ID-1 card
_AUTH_FRAMES = 3  # read frames whose rectified document feeds the colour check
# Template margin (lead of the best glyph over the next, per frame) that every character under a
# failing check digit must have for the failure to count against the document: a misprinted (or
# altered) MRZ is read clearly and fails its check; a misread one fails because some character under
# the check was a near tie. Measured on the generator (3 kinds x clean/hard, genuine and
# mrz_corrupted, seeds 1-8 at 1280x720 and 1-4 at 640x360): altered MRZs read the same way by 2+
# frames 0.028-0.151 (hard passports and 640x360 lowest); readings that were not the printed MRZ
# 0.0008-0.0174, and none of them read the same way by two frames (_MRZ_AGREE_FRAMES), which is
# the first guard. The threshold lies between the two ranges.
MRZ_CLEAR_MARGIN = 0.02
_MRZ_AGREE_FRAMES = 2  # frames that must each read the voted lines exactly for them to be settled
WHOLE_FRAMES = 4  # the sharpest whole frames read for the MRZ when the outline is missing or unsettled
_LATER_CHECKS = ("portrait", "visual_zone", "colour", "not_screen", "tilted", "undamaged")
# Findings that say the filmed object is a reproduction (its artefacts are not damage to the
# document), and capture problems that hide edges and lines (film again before judging damage).
_REPRODUCTION = frozenset({FindingCode.DOCUMENT_SCREEN, FindingCode.DOCUMENT_PHOTOCOPY,
                           FindingCode.DOCUMENT_NOT_IN_COLOR})
_POOR_CAPTURE = frozenset({FindingCode.DOCUMENT_NOT_FOUND, FindingCode.DOCUMENT_CUT_OFF,
                           FindingCode.DOCUMENT_GLARE, FindingCode.DOCUMENT_BLURRY})
# the designs a document of this true aspect can be: ID-1 (above ASPECT_SPLIT) or the 1.42 ones
CLASS_KINDS = {True: (DocumentType.FR_CNI_2021,), False: (DocumentType.FR_CNI_1988, DocumentType.PASSPORT)}
# MRZ formats a page of each shape can carry (ID-1 above ASPECT_SPLIT; ID-2 and ID-3 pages below):
# a whole-frame reading in one of them may replace an unsettled reading of a page of that shape,
# whichever of them the page's first frame locked onto (at 640x360 a passport's 2x44 lines were
# locked as the old CNI's 2x36). Visas are not among them: a passport's P read as V is no visa.
_SHAPE_FORMATS = {True: frozenset({MRZFormat.TD1}),
                  False: frozenset({MRZFormat.FR_CNI_1988, MRZFormat.TD2, MRZFormat.TD3})}
# Template confidence a half of an outline must beat the whole outline by to be taken as the page
# that carries the MRZ (an open passport), when the whole does not read confidently. Generator:
# the right page 0.60-0.97; a half of a single page, or the wrong half, at most 0.5.
_PAGE_LEAD = 0.08


def _class_kind(scan: quality.FrameScan) -> DocumentType:
    return CLASS_KINDS[true_aspect(scan.card.corners, scan.card.frame_size) > ASPECT_SPLIT][0]


def _outside_frame(quad: np.ndarray, frame: Frame) -> bool:
    """True when a predicted document quad runs more than 1 % of the frame's width off it."""
    h, w = frame.image.shape[:2]
    outside = np.maximum.reduce([-quad[:, 0], quad[:, 0] - (w - 1), -quad[:, 1], quad[:, 1] - (h - 1)])
    return bool(outside.max() > 0.01 * w)


def _page_confidence(image: np.ndarray, quad: np.ndarray) -> float:
    """How confidently an MRZ of a layout of the page's shape reads off `quad`, either way up."""
    kinds = CLASS_KINDS[true_aspect(quad, (image.shape[1], image.shape[0])) > ASPECT_SPLIT]
    best = 0.0
    for turns in (0, 2):
        for kind in kinds:
            zone, origin = mrz_zone(image, rotate_quad(quad, turns), LAYOUTS[kind])
            reading = read_mrz_zone(zone, LAYOUTS[kind], OCR_PX_PER_MM, origin)
            best = max(best, reading.confidence if reading is not None else 0.0)
    return best


def _offset(page: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """Where a page lies in its outline: centre offset over the outline's diagonal."""
    diagonal = float(np.linalg.norm(outline[2] - outline[0]))
    return (page.mean(axis=0) - outline.mean(axis=0)) / max(diagonal, 1e-9)


def refined_corners(scan: quality.FrameScan) -> np.ndarray:
    """The scan's outline refined on the full frame."""
    assert scan.card is not None
    grey = cv2.cvtColor(scan.frame.image, cv2.COLOR_BGR2GRAY)
    return refine_corners(grey, scan.card.corners, reach=max(3.0, 0.012 * scan.card.width_px))[0]


def _with_page(scan: quality.FrameScan, page: np.ndarray) -> quality.FrameScan:
    card = scan.card
    assert card is not None
    quad = CardQuad(np.asarray(page, np.float32), card.support, true_aspect(page, card.frame_size), card.frame_size)
    return dataclasses.replace(scan, card=quad)


def pages(located: list[quality.FrameScan]) -> tuple[list[quality.FrameScan], bool]:
    """The located scans with each outline narrowed to the page that carries the MRZ, and whether
    any was narrowed.

    An outline may be more than the data page (an open passport, `card.page_candidates`). On the
    best frame the page is the candidate whose MRZ the template reader reads most confidently (the
    whole outline when it reads well); in the other frames, the candidate lying where that one
    lies in its outline. A narrowed outline is refined on the full frame before it is split (the
    page's side along the fold has no edge to refine on).
    """
    ranked = quality.rank_for_reading(located)
    if not ranked or ranked[0].card is None:
        return located, False
    best = ranked[0].card
    candidates = page_candidates(best.corners, best.frame_size)
    if len(candidates) == 1:
        return located, False
    image = ranked[0].frame.image
    confidence = [_page_confidence(image, c) for c in candidates]
    whole = len(candidates) == 3  # the outline itself is a candidate (a 1.42 shape)
    if whole and (confidence[0] >= MIN_CONFIDENCE or max(confidence[1:]) < confidence[0] + _PAGE_LEAD):
        return located, False
    where = _offset(candidates[int(np.argmax(confidence))], best.corners)
    out = []
    for scan in located:
        assert scan.card is not None
        outline = refined_corners(scan)
        options = page_candidates(outline, scan.card.frame_size)
        nearest = min(options, key=lambda c: float(np.linalg.norm(_offset(c, outline) - where)))
        out.append(_with_page(scan, nearest))
    return out, True


def _check_digit_findings(mrz: MRZ) -> list[Finding]:
    """One finding per failing check digit of an MRZ read clearly and consistently."""
    return [Finding(FindingCode.MRZ_CHECK_DIGIT_FAILED, f"{c.field}: check digit {c.found!r} should be {c.expected!r}")
            for c in mrz.checks if not c.valid]


def _fields(mrz: MRZ, validity: Validity) -> dict[str, str]:
    f = mrz.fields
    earliest = validity.expiry_first if validity.expiry_first != validity.expiry_last else None
    values = {"surname": f.surname, "given_names": f.given_names, "document_number": f.document_number,
              "nationality": f.nationality, "issuing_state": f.issuing_state, "sex": f.sex,
              "birth_date": " or ".join(b.isoformat() for b in validity.birth_dates),
              "expiry_date": validity.expiry_date.isoformat() if validity.expiry_date else "",
              "expiry_date_earliest": earliest.isoformat() if earliest else "",
              "expiry_source": validity.expiry_source.value}
    return {k: v for k, v in values.items() if v}


@dataclass
class _Located:
    """Where the document is in the frames the stage looked at closely."""

    readings: list[FrameReading]
    anchored_quad: np.ndarray | None = None  # predicted from the MRZ band when no outline was found
    anchored_frame: Frame | None = None
    anchored_frames: int = 0  # frames whose MRZ band predicted the document
    anchored_outside: int = 0  # of them, frames where the prediction runs off the frame


def cut_off_share(running_off: int, seen: int, scanned: int, settings: Settings) -> tuple[float, bool]:
    """Share of the frames showing the document in which it runs off the frame, and whether the
    capture is cut off: that share reaches `document_cut_off_min` and the frames where it runs off
    are at least `document_cut_off_frames_min` of those scanned (one frame never decides)."""
    share = running_off / seen if seen else 0.0
    enough = running_off >= max(2.0, settings.document_cut_off_frames_min * scanned)
    return share, bool(share >= settings.document_cut_off_min and enough)


class DocumentAnalyser:
    """Locates, reads, validates and checks the identity document of a video; holds its OCR engines."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.settings = settings
        self.reader = MRZReader(registry)
        self.pending: tuple[str, ...] = PENDING_CHECKS
        self.viz: PrintedFieldReader | None = None
        try:
            self.viz = PrintedFieldReader(registry)
        except (ModelUnavailable, ImportError) as exc:  # the stage still runs; the check is reported pending
            log.warning("visual zone check unavailable: %s", exc)
            self.pending = (*self.pending, "visual_zone")
        self.model_ids = (self.reader.ocr.model_id, *(self.viz.model_ids if self.viz else ()))

    # -- reading ------------------------------------------------------------------------------------

    def _read_located(self, scans: list[quality.FrameScan], today: dt.date, *, refined: bool = False) -> CardMRZReader:
        """The MRZ read on the best located frames; `refined`: their corners are refined already."""
        reader = CardMRZReader(self.reader, today=today)
        misses = 0
        for scan in quality.rank_for_reading(scans)[: self.settings.document_max_frames]:
            image = scan.frame.image
            corners = scan.card.corners if refined else refined_corners(scan)
            misses = 0 if reader.read_frame(scan.frame.index, image, corners) is not None else misses + 1
            if reader.stable() or misses >= 3 or reader.tesseract_reads >= 3:
                break
        return reader

    def _read_whole_frames(self, frames: Sequence[Frame], today: dt.date) -> tuple[MRZ | None, _Located]:
        """No outline found: read MRZ bands on the sharpest whole frames; predict the document from
        the band of each of them (the layout is the MRZ's, `layout_for`)."""
        ranked = sorted(frames, key=lambda f: frame_quality(f.proxy).sharpness, reverse=True)[:WHOLE_FRAMES]
        mrz = self.reader.read_frames(ranked, today=today, max_frames=WHOLE_FRAMES, agree=2)
        located = _Located([])
        if mrz is None:
            return None, located
        layout = layout_for(mrz.format, document_type_of(mrz), mrz.fields.issuing_state)
        if layout is None:
            return mrz, located
        for frame in ranked:
            band = find_mrz_band(frame.image)
            if band is None:
                continue
            quad = quad_from_mrz(band.corners, layout)
            if located.anchored_quad is None:
                located.anchored_quad, located.anchored_frame = quad, frame
            located.anchored_frames += 1
            located.anchored_outside += _outside_frame(quad, frame)
        return mrz, located

    # -- the stage ----------------------------------------------------------------------------------

    @property
    def keep(self) -> Keep:
        """The frames `analyse` looks at in full: the scanned ones and the sharpest whole frames."""
        return Keep(spread=self.settings.document_scan_frames, sharpest=WHOLE_FRAMES)

    def analyse(self, video: Video, *, today: dt.date) -> DocumentEvidence:
        """Evidence about the document filmed in `video`: MRZ, type, validity, authenticity and portrait."""
        s = self.settings
        scans = quality.scan_frames(video.frames, s.document_scan_frames)
        located, in_booklet = pages([sc for sc in scans if sc.card is not None])
        running_off = [sc for sc in scans if sc.card is None and sc.cut is not None]
        seen = len(located) + len(running_off)
        cut_share, cut_off = cut_off_share(len(running_off), seen, len(scans), s)
        scores: dict[str, float] = {"document_seen_share": round(seen / max(len(scans), 1), 3),
                                    "document_cut_share": round(cut_share, 3)}
        checks: list[Check] = []
        findings: list[Finding] = []
        notes: list[str] = []

        card_reader = self._read_located(located, today, refined=in_booklet) if located else None
        mrz = card_reader.mrz() if card_reader else None
        # The card-aligned reading counts once settled (`settled`). Valid alone is not enough: a
        # glared 2021 card's vote over 8 frames, never settling, passed both check digits with three
        # letters wrong.
        settled = card_reader is not None and mrz is not None and self.settled(card_reader, mrz)
        where = _Located(card_reader.readings if card_reader else [])
        if located and not settled:
            # Second opinion: Tesseract voting over whole frames reads some cards the aligned OCR-B
            # reading could not settle on; only a fully valid reading replaces an unsettled one. A
            # settled reading (the same clear characters frame after frame) is never replaced: a
            # valid second reading of it would be an unconfirmed correction. Nor is a second reading
            # in a format another shape of page carries than the card's (a passport's P read V makes
            # a "valid" visa); the card's shape is its layout's once one was locked, else its outline's.
            second, _ = self._read_whole_frames(video.frames, today)
            if card_reader is not None and card_reader.layout is not None:
                shape = card_reader.layout.mrz_format is MRZFormat.TD1
            else:
                shape = true_aspect(located[0].card.corners, located[0].card.frame_size) > ASPECT_SPLIT
            if second is not None and second.valid and second.format in _SHAPE_FORMATS[shape]:
                mrz, settled = second, True
                notes.append("MRZ read on whole frames (the card-aligned reading was not settled)")
        if mrz is None and not located:
            mrz, where = self._read_whole_frames(video.frames, today)
            if mrz is not None:
                notes.append("document outline not found; MRZ read on whole frames")
                if where.anchored_frames:
                    cut_share, cut_off = cut_off_share(where.anchored_outside, where.anchored_frames,
                                                       where.anchored_frames, s)
        frames_used = tuple(r.frame_index for r in where.readings)
        found = seen >= s.document_found_min * max(len(scans), 1) or mrz is not None
        cut_off = found and cut_off
        checks.append(Check("document_found", found, f"in {seen} of {len(scans)} scanned frames"))
        if not found:
            return DocumentEvidence(state=self._state(), findings=(Finding(
                FindingCode.DOCUMENT_NOT_FOUND, f"in {seen} of {len(scans)} scanned frames",
                round(seen / max(len(scans), 1), 3), s.document_found_min),),
                checks=tuple(checks), scores=scores, note="no identity document was found in the video")
        checks.append(Check("document_in_frame", not cut_off, f"runs off the frame in {cut_share:.0%} of them"))
        if cut_off:
            findings.append(Finding(FindingCode.DOCUMENT_CUT_OFF, f"runs off the frame in {cut_share:.0%} of them",
                                    round(cut_share, 3), s.document_cut_off_min))

        # The MRZ counts when settled (then its failing checks are the document's, not the reading's),
        # or when valid as read on whole frames.
        mrz_ok = mrz is not None and not cut_off and (settled or (card_reader is None and mrz.valid))
        if mrz is not None and not mrz_ok and not cut_off:
            findings.append(self._capture_problem(located, checks, scores) or Finding(
                FindingCode.MRZ_UNSTABLE, "the MRZ was not read the same clear way across frames"))
        elif mrz is None and not cut_off:
            findings.append(self._capture_problem(located, checks, scores) or Finding(
                FindingCode.MRZ_NOT_FOUND, "no MRZ was read"))
        checks.append(Check("mrz_found", mrz_ok, mrz.source if mrz is not None else ""))

        validity = assess_validity(mrz, today=today, minimum_age=s.minimum_age) if mrz_ok else None
        document_type = None
        if mrz_ok:
            document_type, accepted = acceptance(mrz, s)
            findings += [*_check_digit_findings(mrz), *accepted, *validity.findings]
            checks += [*(Check(f"mrz_check_{c.field}", c.valid, f"expected {c.expected}, found {c.found}")
                         for c in mrz.checks),
                       Check("document_accepted", not accepted, "; ".join(f.detail for f in accepted)),
                       Check("not_expired", None if validity.expired is None else not validity.expired,
                             f"expiry {validity.expiry_date} ({validity.expiry_source.value})"),
                       Check("adult_holder", None if validity.underage is None else not validity.underage)]
            scores["mrz_score"] = float(mrz.score)
        doubts = unconfirmed_fields(card_reader, mrz, s.mrz_confirm_margin) if mrz_ok else []
        if card_reader is not None and card_reader.readings and card_reader.readings[-1].template is not None:
            scores["mrz_template_confidence"] = round(card_reader.readings[-1].template.confidence, 3)

        layout = layout_for(mrz.format, document_type, mrz.fields.issuing_state) if mrz_ok else None
        layout = layout or (card_reader.layout if card_reader else None)
        if layout is None and located:
            layout = LAYOUTS[_class_kind(located[0])]
        card_image = portrait = None
        if cut_off:
            checks += [Check(name, None, "document cut off") for name in _LATER_CHECKS]
        else:
            best = self._best_view(where, layout)
            if best is not None and layout is not None and mrz_ok and document_type is not None:
                frame_image, quad = best
                card_image = rectify(frame_image, quad, layout.size_mm, CARD_PX_PER_MM)
                portrait = crop_portrait(card_image, layout, CARD_PX_PER_MM)
                checks.append(Check("portrait", portrait.size > 0, "cropped from the rectified document"))
                if layout.fields:
                    checks += self._visual_zone(card_image, layout, mrz, findings, scores, doubts)
                else:  # where another issuer prints its fields is not known: no check rather than a wrong one
                    notes.append(f"printed fields not cross-checked: no known layout for {mrz.format.value} "
                                 f"documents of {mrz.fields.issuing_state}")
            else:
                checks += [Check("portrait", None, "no readable document"),
                           Check("visual_zone", None, "no readable document")]
            if layout is not None and (located or where.readings):
                checks += self._authenticity(located, where, layout, findings, scores, len(video.frames),
                                             in_booklet=in_booklet)
            else:
                checks += [Check(name, None, "document outline not found")
                           for name in ("colour", "not_screen", "tilted", "undamaged")]
        checks += [Check(name, None, "not built in this version") for name in self.pending]
        # A valid MRZ whose reading rests on a character nothing confirmed is never approved silently.
        findings += [Finding(FindingCode.MRZ_UNCERTAIN, d.detail, d.margin, s.mrz_confirm_margin) for d in doubts]
        checks += [Check(f"mrz_confirmed_{d.field}", False, d.detail) for d in doubts]

        unrun = [c.name for c in checks if c.passed is None and c.name not in ("not_expired", "adult_holder")]
        if not findings and unrun:
            findings.append(Finding(FindingCode.CHECK_NOT_RUN, ", ".join(unrun)))
        return DocumentEvidence(state=self._state(), findings=tuple(findings), document_type=document_type,
                                fields=_fields(mrz, validity) if mrz_ok else {},
                                mrz_lines=mrz.lines if mrz_ok else (), checks=tuple(checks),
                                scores=scores, frames_used=frames_used,
                                note="; ".join(dict.fromkeys((*notes, *(mrz.problems if mrz_ok else ()),
                                                              *(validity.notes if validity else ())))),
                                card_image=card_image, portrait=portrait, tilt_image=_tilt_view(located))

    @staticmethod
    def settled(reader: CardMRZReader, mrz: MRZ) -> bool:
        """True when the voted reading can be taken as the document's: a valid one that the vote kept
        for consecutive frames (or that frames read exactly), an invalid one read exactly by several
        frames with every character under a failing check read clearly (its failures are then the
        document's). Measured: genuine cards settle in 2-4 frames (frames may slip where the vote
        does not); a glared card whose vote never settled in 8 frames was valid with letters wrong."""
        if mrz.valid:
            return reader.stable() or reader.consistent(_MRZ_AGREE_FRAMES)
        return reader.consistent(_MRZ_AGREE_FRAMES) and not reader.doubtful(mrz, MRZ_CLEAR_MARGIN)

    def _state(self) -> StageState:
        return StageState.PARTIAL if self.pending else StageState.COMPLETE

    # -- pieces -------------------------------------------------------------------------------------

    def _best_view(self, where: _Located, layout: Layout | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The frame image and document corners to rectify: the most confident read frame."""
        if where.readings:
            best = max(where.readings, key=lambda r: r.template.confidence if r.template else 0.0)
            return best.image, best.corners
        if where.anchored_quad is not None and where.anchored_frame is not None and layout is not None:
            image = where.anchored_frame.image
            grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            width = float(np.linalg.norm(where.anchored_quad[1] - where.anchored_quad[0]))
            corners, _ = refine_corners(grey, where.anchored_quad, reach=max(4.0, 0.04 * width))
            return image, corners
        return None

    def _capture_problem(self, located: list[quality.FrameScan], checks: list[Check],
                         scores: dict[str, float]) -> Finding | None:
        """Glare on the MRZ or blur that explains an MRZ that could not be read (None if neither)."""
        s = self.settings
        ranked = quality.rank_for_reading(located)[: s.document_max_frames]
        if not ranked:
            return None
        glare, blur_mm, blur_px = [], [], []
        for scan in ranked:
            image, corners = scan.frame.image, scan.card.corners
            kinds = CLASS_KINDS[true_aspect(corners, scan.card.frame_size) > ASPECT_SPLIT]
            glare.append(max(quality.mrz_glare(image, corners, LAYOUTS[k], both_ways=True) for k in kinds))
            size_mm = LAYOUTS[kinds[0]].size_mm
            blur_mm.append(quality.edge_blur_mm(image, corners, size_mm))
            blur_px.append(blur_mm[-1] * scan.card.width_px / size_mm[0])
        glared = float(np.mean(np.array(glare) >= s.document_glare_min))
        scores["mrz_glare_share"] = round(float(np.median(glare)), 3)
        checks.append(Check("mrz_free_of_glare", bool(glared < 0.8),
                            f"saturated MRZ in {glared:.0%} of the best frames"))
        if glared >= 0.8:
            return Finding(FindingCode.DOCUMENT_GLARE, f"saturated MRZ in {glared:.0%} of the best frames",
                           round(glared, 3), 0.8)
        return self._blur_problem(blur_mm, blur_px, checks, scores)

    def _blur_problem(self, blur_mm: list[float], blur_px: list[float], checks: list[Check],
                      scores: dict[str, float]) -> Finding | None:
        """Blur that explains an unreadable MRZ: the print is smeared (in millimetres on the document,
        and in the frame's own pixels, so that a small 640x360 image, whose every edge spans a pixel
        or so, is not called blurry) in a share of the best frames."""
        s = self.settings
        blurred = (np.array(blur_mm) > s.document_blur_max_mm) & (np.array(blur_px) > s.document_blur_min_px)
        share = float(np.mean(blurred))
        scores["document_blur_mm"] = round(min(blur_mm), 3)
        scores["document_blur_px"] = round(float(np.median(blur_px)), 2)
        scores["document_blur_share"] = round(share, 3)
        detail = f"print blurred in {share:.0%} of the best frames (sharpest {min(blur_mm):.2f} mm)"
        sharp = share < s.document_blur_share_min
        checks.append(Check("sharp_enough", sharp, detail))
        return None if sharp else Finding(FindingCode.DOCUMENT_BLURRY, detail, round(share, 3),
                                          s.document_blur_share_min)

    def read_printed(self, evidence: DocumentEvidence, lines: Collection[str]) -> PrintedIdentity | None:
        """The printed identity `lines` of the document this stage rectified (None when it has no
        rectified card or no printed-field reader)."""
        if self.viz is None or evidence.card_image is None or evidence.document_type is None:
            return None
        layout = LAYOUTS[evidence.document_type]
        if layout.mrz_format is MRZFormat.TD3 and evidence.fields.get("issuing_state") != FRANCE:
            return None  # another issuer's passport: where its fields are printed is not known
        return self.viz.read_identity(evidence.card_image, layout, CARD_PX_PER_MM, lines)

    def _visual_zone(self, card_image: np.ndarray, layout: Layout, mrz: MRZ, findings: list[Finding],
                     scores: dict[str, float], doubts: list[Unconfirmed]) -> list[Check]:
        """Printed fields against the MRZ; a field in `doubts` that the print confirms exactly leaves it."""
        if self.viz is None:
            return []
        values = {"surname": mrz.fields.surname, "document_number": mrz.fields.document_number,
                  **{d.field: d.text for d in doubts if d.field == "given_names"}}
        results = self.viz.check(card_image, layout, CARD_PX_PER_MM, values)
        confirmed = {r.name for r in results if confirms(r)}
        doubts[:] = [d for d in doubts if d.field not in confirmed]
        checks = [Check(f"visual_zone_{r.name}", r.matches,
                        f"printed {r.printed!r} (ocr {r.ocr_score:.2f}), MRZ {r.mrz_value!r}, {r.distance} edits")
                  for r in results]
        findings += [Finding(FindingCode.PRINTED_FIELD_MISMATCH,
                             f"{r.name}: printed {r.printed!r}, MRZ {r.mrz_value!r}", r.distance)
                     for r in results if r.matches is False]
        if results:
            scores["viz_ocr_score"] = round(min(r.ocr_score for r in results), 3)
        return checks

    def _authenticity(self, located: list[quality.FrameScan], where: _Located, layout: Layout,
                      findings: list[Finding], scores: dict[str, float], frame_count: int, *,
                      in_booklet: bool = False) -> list[Check]:
        s = self.settings
        checks: list[Check] = []
        # colour, on the read frames rectified at 4 px/mm
        views = [(r.image, r.corners) for r in where.readings[:_AUTH_FRAMES]]
        views += [(sc.frame.image, sc.card.corners)
                  for sc in quality.rank_for_reading(located)[:_AUTH_FRAMES - len(views)]]
        if not views and where.anchored_frame is not None:
            best = self._best_view(where, layout)
            views = [best] if best else []
        spreads = [authenticity.colour_spread(rectify(img, q, layout.size_mm, 4.0)) for img, q in views]
        video_colour = float(np.median([authenticity.frame_colour(img) for img, _ in views])) if views else 0.0
        if spreads:
            spread = float(np.median(spreads))
            scores["colour_spread"] = round(spread, 2)
            scores["video_colour"] = round(video_colour, 2)
            coloured = bool(spread >= s.document_colour_min)
            checks.append(Check("colour", coloured, f"chroma spread {spread:.1f} (min {s.document_colour_min})"))
            colour_finding = None if coloured else Finding(
                FindingCode.DOCUMENT_PHOTOCOPY if video_colour >= s.video_colour_min
                else FindingCode.DOCUMENT_NOT_IN_COLOR,
                f"chroma spread {spread:.1f}, video colour {video_colour:.1f}", round(spread, 2), s.document_colour_min)
            image, quad = views[0]
            native = float(np.linalg.norm(quad[1] - quad[0])) / layout.size_mm[0]
            grey = cv2.cvtColor(rectify(image, quad, layout.size_mm, native), cv2.COLOR_BGR2GRAY)
            scores["moire_peak"] = round(authenticity.moire_peak(grey), 3)
        else:
            colour_finding = None
            checks.append(Check("colour", None, "no rectified view"))
        # screen and tilt, from the document's corners in every scanned frame
        images = [sc.frame.image for sc in located]
        quads = [sc.card.corners for sc in located]
        banding = authenticity.refresh_banding(images, quads, layout.size_mm)
        if np.isfinite(banding):
            scores["screen_banding"] = round(banding, 4)
            on_screen = bool(banding >= s.document_screen_banding_min)
            checks.append(Check("not_screen", not on_screen,
                                f"refresh banding {banding:.3f} (max {s.document_screen_banding_min})"))
            if on_screen:
                findings.append(Finding(FindingCode.DOCUMENT_SCREEN, f"refresh banding {banding:.3f}",
                                        round(banding, 4), s.document_screen_banding_min))
                colour_finding = None  # a screen's colours are the screen's: the screen is the finding
        else:
            checks.append(Check("not_screen", None, f"needs 3 frames with the document, had {len(located)}"))
        if colour_finding is not None:
            findings.append(colour_finding)
        change = authenticity.shape_change(quads)
        if np.isfinite(change) and len(quads) >= 3:
            scores["tilt_shape_change"] = round(change, 4)
            tilted = bool(change >= s.document_tilt_min)
            checks.append(Check("tilted", tilted, f"perspective change {change:.1%} (min {s.document_tilt_min:.1%})"))
        elif frame_count < 3:  # too short a video to show the document tilting: film again
            tilted = False
            checks.append(Check("tilted", False, f"a video of {frame_count} frame(s) cannot show a tilt"))
        else:
            tilted = None
            checks.append(Check("tilted", None, f"the outline was found in {len(quads)} frames; needs 3"))
        if tilted is False:
            findings.append(Finding(FindingCode.DOCUMENT_NOT_TILTED, checks[-1].detail,
                                    round(change, 4) if np.isfinite(change) else None, s.document_tilt_min))
        checks.append(self._undamaged(located, where, layout, findings, scores, in_booklet))
        return checks

    def _undamaged(self, located: list[quality.FrameScan], where: _Located, layout: Layout,
                   findings: list[Finding], scores: dict[str, float], in_booklet: bool) -> Check:
        """Tears, cuts, creases and missing corners, measured on the frames at hand. The data page of
        an open booklet has the fold for its top side (ICAO 9303 booklets), which is no edge: that
        side's outline is not judged, and only once the MRZ says which side is the top."""
        views, oriented = damage.gather_views(where.readings, located)
        if in_booklet and not oriented:
            return Check("undamaged", None, "the page of an open booklet whose way up is not known")
        found = damage.measure(views, layout, oriented, bound_top=in_booklet)
        scores.update(found.scores())
        kinds = damage.damage_kinds(found, self.settings)
        seen = {f.code for f in findings}
        if seen & _REPRODUCTION:  # a screen's or a copy's lines are not the document's
            return Check("undamaged", None, f"a reproduction, not the document: {found.summary(kinds)}")
        if seen & _POOR_CAPTURE:  # blur and glare hide edges and lines: film again
            return Check("undamaged", None, f"not judged on this capture: {found.summary(kinds)}")
        if kinds:
            findings.append(Finding(FindingCode.DOCUMENT_DAMAGED, found.summary(kinds)))
        return Check("undamaged", not kinds, found.summary(kinds))


def read_mrz_file(path: str | os.PathLike[str], *, today: dt.date | None = None,
                  settings: Settings | None = None) -> CheckedMRZ | None:
    """MRZ of an image file (`mrz_still.read_mrz_checked`) or of a video file, read the way the
    document stage reads it (card located and rectified in the best frames, OCR-B reading voted
    across them), with the fields nothing confirms: a person confirms those (`mrz_uncertain`)."""
    today = today or dt.date.today()
    settings = settings or Settings()
    path = Path(path)
    if not is_video_file(path):
        try:
            image = read_image(path)
        except InvalidMedia as exc:
            raise InvalidMedia(exc.message.replace("not a readable image",
                                                   "not a readable image or video")) from None
        return read_mrz_checked(image, today=today, settings=settings)
    analyser = DocumentAnalyser(default_registry(), settings)
    video = decode(path, max_side=settings.max_side, target_fps=settings.document_fps, keep=analyser.keep)
    evidence = analyser.analyse(video, today=today)
    if not evidence.mrz_lines:
        return None
    doubts = tuple(f.detail for f in evidence.findings if f.code is FindingCode.MRZ_UNCERTAIN)
    return CheckedMRZ(parse("\n".join(evidence.mrz_lines), today=today, source="video"), doubts, "video")


def _tilt_view(located: list[quality.FrameScan], margin: float = 0.08) -> np.ndarray | None:
    """The frame that shows the document most tilted, cut to its outline's box (plus `margin` of its
    size): what a reviewer looks at for the tilt and the reflections it moves; None without outlines."""
    at = authenticity.most_tilted([sc.card.corners for sc in located])
    if at < 0:
        return None
    image, quad = located[at].frame.image, np.asarray(located[at].card.corners, np.float64)
    (x0, y0), (x1, y1) = quad.min(axis=0), quad.max(axis=0)
    pad_x, pad_y = margin * (x1 - x0), margin * (y1 - y0)
    rows, cols = image.shape[:2]
    return image[max(0, int(y0 - pad_y)):min(rows, int(y1 + pad_y) + 1),
                 max(0, int(x0 - pad_x)):min(cols, int(x1 + pad_x) + 1)]
