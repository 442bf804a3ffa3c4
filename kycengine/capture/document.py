"""A document capture session: frames in as they arrive, guidance out, until the document is read.

Each frame goes through the document stage's own pieces, as the offline analyser runs them: the
cheap scan (`quality.scan_frame`: outline, or an outline running off the frame), the capture checks
the analyser uses to explain an unreadable MRZ (`quality.mrz_glare`, `quality.edge_blur_mm`) and,
on a frame that passes them, the card-aligned MRZ reading (`CardMRZReader.read_frame` on corners
refined as the analyser refines them), voted over frames. The MRZ counts once the analyser would
take it as settled (`DocumentAnalyser.settled`); the tilt once the document's perspective changed
as much as the analyser's tilt check asks (`authenticity.shape_change`). Both: the session is done.
"""

from __future__ import annotations

import datetime as dt
from collections import deque

import numpy as np

from ..document import authenticity, quality
from ..document.analyser import CLASS_KINDS, DocumentAnalyser, refined_corners  # the stage's own steps
from ..document.card import ASPECT_SPLIT, true_aspect
from ..document.card_mrz import CardMRZReader
from ..document.layout import LAYOUTS
from ..document.quality import FrameScan
from .guidance import Feedback, Guidance
from .recording import Recording
from .session import Session

TILT_QUADS = 24  # the latest outlines the tilt is measured over (the analyser scans 24 frames)
MIN_LOCATED = 3  # outlines the offline screen and tilt checks need
TESSERACT_READS = 3  # as the analyser: after 3 Tesseract readings a glared frame is not read again
# Progress: what each milestone is worth (found, whole and close, MRZ read, tilted).
_WEIGHTS = (0.1, 0.1, 0.5, 0.3)


class DocumentSession(Session):
    """Guides one document capture; `feed` each frame, then `recording` holds what the verdict uses."""

    def __init__(self, analyser: DocumentAnalyser, *, today: dt.date | None = None) -> None:
        self.analyser = analyser
        self.settings = analyser.settings
        self.today = today or dt.date.today()
        self.recording = Recording(self.settings)
        self.reader = CardMRZReader(analyser.reader, today=self.today)
        self.quads: deque[np.ndarray] = deque(maxlen=TILT_QUADS)
        self.located = 0
        self.framed = False
        self.settled = False
        self.tilt = 0.0
        self.last = Feedback(Guidance.SHOW_DOCUMENT, 0.0)

    def feed(self, image: np.ndarray, t: float) -> Feedback:
        """Guidance after one more frame (BGR, `t` seconds); frames after the close are ignored."""
        frame = self._take(image, t)
        if isinstance(frame, Feedback):  # closed, or over the session's limits
            return frame
        scan = quality.scan_frame(len(self.recording) - 1, frame)
        code = self._look(scan)
        enough = self.recording.elapsed >= self.settings.capture_document_min_seconds
        if self.settled and self.tilted and self.located >= MIN_LOCATED and enough:
            return self._answer(Guidance.DONE, closed=True)
        return self._answer(code)

    @property
    def tilted(self) -> bool:
        """The document's perspective changed as much as the analyser's tilt check asks."""
        return self.tilt >= self.settings.document_tilt_min

    def _look(self, scan: FrameScan) -> Guidance:
        """What this frame says to do, reading the MRZ on it when it is worth reading."""
        s = self.settings
        if scan.card is None:
            return Guidance.WHOLE_CARD if scan.cut is not None else Guidance.SHOW_DOCUMENT
        card = scan.card
        self.located += 1
        self.quads.append(card.corners)
        if len(self.quads) >= MIN_LOCATED:
            change = authenticity.shape_change(list(self.quads))
            self.tilt = max(self.tilt, change if np.isfinite(change) else 0.0)
        if card.width_px < s.capture_card_width_min * card.frame_size[0]:
            return Guidance.MOVE_CLOSER
        self.framed = True
        if self.settled:
            return Guidance.MRZ_READ if self.tilted else Guidance.TILT_CARD
        image = scan.frame.image
        kinds = CLASS_KINDS[true_aspect(card.corners, card.frame_size) > ASPECT_SPLIT]
        size_mm = LAYOUTS[kinds[0]].size_mm
        blur_mm = quality.edge_blur_mm(image, card.corners, size_mm)
        if blur_mm > s.document_blur_max_mm and blur_mm * card.width_px / size_mm[0] > s.document_blur_min_px:
            return Guidance.HOLD_STILL  # not worth reading
        glared = max(quality.mrz_glare(image, card.corners, LAYOUTS[k], both_ways=True)
                     for k in kinds) >= s.document_glare_min
        if glared and self.reader.tesseract_reads >= TESSERACT_READS:
            return Guidance.GLARE_MRZ  # the templates could not read it: Tesseract will not either
        self.reader.read_frame(scan.frame.index, image, refined_corners(scan))
        mrz = self.reader.mrz()
        self.settled = mrz is not None and DocumentAnalyser.settled(self.reader, mrz)
        if self.settled:
            return Guidance.MRZ_READ if self.tilted else Guidance.TILT_CARD
        # a reflection crossing a readable MRZ is fine: only an MRZ not read yet is asked about
        return Guidance.GLARE_MRZ if glared else Guidance.DOCUMENT_FOUND

    def mrz_confidence(self) -> float | None:
        """The settled vote's weakest character lead (per frame), None before it settled."""
        margins = self.reader.margins() if self.settled else None
        if not margins:
            return None
        return round(float(min(m.min() for m in margins)), 4)

    def _progress(self) -> float:
        reading = 1.0 if self.settled else min(0.8, len(self.reader.readings) / 4)
        tilt = min(1.0, self.tilt / self.settings.document_tilt_min)
        done = (self.located > 0, self.framed, reading, tilt if self.settled else 0.0)
        return sum(w * float(d) for w, d in zip(_WEIGHTS, done, strict=True))

    def _answer(self, code: Guidance, *, closed: bool = False) -> Feedback:
        """The feedback, progress never going back (1.0 once done)."""
        progress = 1.0 if code is Guidance.DONE else max(self.last.progress, min(0.99, self._progress()))
        self.last = Feedback(code, round(progress, 3), closed, self.mrz_confidence())
        return self.last
