"""Evidence images for people: the few frames a reviewer looks at, picked from what the stages hold.

Nothing is detected again. The document images come from the document stage's own rectified
document (`DocumentEvidence.card_image`): the whole document, its MRZ band (the layout's MRZ box on
it) and the portrait the face stage compared; and from the frame whose outline differs most from the
others' (`DocumentEvidence.tilt_image`): the document at its tilt. The selfie images come from the shared face track:
the frames at the liveness cue's head-turn extremes (`pose.head_turn`, landmark arithmetic), at its
strongest blink (`pose.blink` on the track's eye points), and the most frontal of the frames the face
stage compared with the portrait. Each is a JPEG with its long side at most LONG_SIDE px at
QUALITY, a few tens of KB; they travel in the transient `Verdict.evidence_images`, never in JSON.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .document.analyser import CARD_PX_PER_MM
from .document.layout import LAYOUTS
from .face.matcher import frontality
from .face.track import FaceTrack
from .liveness.parallax import face_crops
from .liveness.pose import blink, head_turn
from .schema import DocumentEvidence, FaceEvidence
from .video import Frame

LONG_SIDE = 480  # px: enough to read an MRZ band and see a face, small enough to store per attempt
QUALITY = 80  # JPEG quality: artefacts invisible at this size, a few tens of KB per image
MRZ_PAD_MM = 2.0  # margin kept around the MRZ lines on the band


def encode(image: np.ndarray | None, long_side: int = LONG_SIDE, quality: int = QUALITY) -> bytes | None:
    """A BGR image as a JPEG no longer than `long_side` px on its long side (never enlarged); None for
    no image or an empty one."""
    if image is None or image.size == 0:
        return None
    scale = long_side / max(image.shape[:2])
    if scale < 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return data.tobytes() if ok else None


def _kept(images: dict[str, bytes | None]) -> dict[str, bytes]:
    return {name: data for name, data in images.items() if data is not None}


def mrz_band(evidence: DocumentEvidence) -> np.ndarray | None:
    """The MRZ lines' box (with MRZ_PAD_MM) on the rectified document, or None without one."""
    card, kind = evidence.card_image, evidence.document_type
    if card is None or kind is None or kind not in LAYOUTS:
        return None
    x, y, w, h = (v * CARD_PX_PER_MM for v in LAYOUTS[kind].mrz_box_mm(pad=MRZ_PAD_MM))
    rows, cols = card.shape[:2]
    top, left = max(0, int(round(y))), max(0, int(round(x)))
    return card[top:min(rows, int(round(y + h))), left:min(cols, int(round(x + w)))]


def document_images(evidence: DocumentEvidence) -> dict[str, bytes]:
    """`document`, `document_tilt`, `mrz_band` and `portrait`, those the document stage produced (a
    document it could not read gives none)."""
    return _kept({"document": encode(evidence.card_image), "document_tilt": encode(evidence.tilt_image),
                  "mrz_band": encode(mrz_band(evidence)), "portrait": encode(evidence.portrait)})


def _front(frames: Sequence[Frame], track: FaceTrack, face: FaceEvidence) -> int | None:
    """Position of the most frontal frame the face stage compared (else of any face; else the middle)."""
    compared = {frame.index for frame in frames} & set(face.frames_used)
    pool = [s for s in track.found if frames[s.position].index in compared] or track.found
    if pool:
        return max(pool, key=lambda s: frontality(s.landmarks5)).position
    return len(frames) // 2 if frames else None


def selfie_positions(frames: Sequence[Frame], track: FaceTrack, face: FaceEvidence, *,
                     smooth: bool) -> dict[str, int]:
    """Where in the selfie each selfie image is: the frontal frame, the turn's extremes and the blink
    (`smooth`: the liveness stage's setting for eye points from the opencv backend)."""
    positions: dict[str, int | None] = {"selfie_front": _front(frames, track, face)}
    turn = head_turn(track, frames[-1].t - frames[0].t if len(frames) > 1 else None)
    positions.update(selfie_left=turn.left_frame, selfie_right=turn.right_frame)
    crops = face_crops(frames, track) if len(frames) > 1 else None
    if crops is not None:
        step = float(np.median(np.diff([f.t for f in frames])))
        positions["selfie_blink"] = blink(crops, track, step, smooth=smooth).frame
    return {name: p for name, p in positions.items() if p is not None and 0 <= p < len(frames)}


def selfie_images(frames: Sequence[Frame], track: FaceTrack, face: FaceEvidence, *, smooth: bool) -> dict[str, bytes]:
    """The selfie frames of `selfie_positions`, whole (a reviewer judges the face and what is around it)."""
    return _kept({name: encode(frames[p].image)
                  for name, p in selfie_positions(frames, track, face, smooth=smooth).items()})
