"""What a stage observed that stands between the case and an approval, with the values it measured.

Stages report findings, never reason codes: `kycengine.decision` alone maps each finding to the
reasons it gives, their effects (under the policy in Settings) and the verdict's status. A finding
keeps the measured value and the limit it was compared with, so the evidence says why.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from .records import Record


class FindingCode(str, enum.Enum):
    """Observations of the stages; stable lowercase values (stored in verdicts)."""

    # any stage
    VIDEO_UNREADABLE = "video_unreadable"  # the video could not be decoded
    STAGE_CRASHED = "stage_crashed"  # the stage raised: a bug or a broken model
    STAGE_TIMED_OUT = "stage_timed_out"  # the stage ran past its time limit
    CHECK_NOT_RUN = "check_not_run"  # a check that must pass could not be run
    # the document's capture
    DOCUMENT_NOT_FOUND = "document_not_found"
    DOCUMENT_CUT_OFF = "document_cut_off"
    DOCUMENT_GLARE = "document_glare"
    DOCUMENT_BLURRY = "document_blurry"
    DOCUMENT_NOT_TILTED = "document_not_tilted"
    MRZ_NOT_FOUND = "mrz_not_found"  # no MRZ-shaped text was read
    MRZ_UNSTABLE = "mrz_unstable"  # read, not valid, and not read the same way clearly across frames
    # the MRZ's content (read clearly and consistently)
    MRZ_CHECK_DIGIT_FAILED = "mrz_check_digit_failed"
    MRZ_DOCUMENT_CODE_FORBIDDEN = "mrz_document_code_forbidden"  # e.g. a TD3 whose code is not P
    MRZ_ISSUE_DATE_IMPOSSIBLE = "mrz_issue_date_impossible"  # impossible for the document model
    MRZ_DATE_INVALID = "mrz_date_invalid"  # not a date, expiry before birth, birth after today
    MRZ_UNCERTAIN = "mrz_uncertain"  # valid, but a field no check digit confirms is in doubt
    PRINTED_FIELD_MISMATCH = "printed_field_mismatch"  # a printed field differs from the MRZ
    # document policy and validity
    DOCUMENT_TYPE_NOT_ACCEPTED = "document_type_not_accepted"
    ISSUING_STATE_NOT_ACCEPTED = "issuing_state_not_accepted"
    DOCUMENT_EXPIRED = "document_expired"
    EXPIRY_UNCERTAIN = "expiry_uncertain"  # expired on some possible reading of the dates only
    HOLDER_UNDERAGE = "holder_underage"
    HOLDER_AGE_UNCERTAIN = "holder_age_uncertain"
    # the document's authenticity
    DOCUMENT_PHOTOCOPY = "document_photocopy"
    DOCUMENT_NOT_IN_COLOR = "document_not_in_color"
    DOCUMENT_SCREEN = "document_screen"
    DOCUMENT_DAMAGED = "document_damaged"
    # the declared identity
    DECLARED_MISMATCH = "declared_mismatch"
    DECLARED_UNCERTAIN = "declared_uncertain"
    # the face
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    NO_PORTRAIT = "no_portrait"  # nothing to compare the selfie with
    FACE_MISMATCH = "face_mismatch"
    FACE_UNCERTAIN = "face_uncertain"
    FACE_SWAPPED = "face_swapped"
    # liveness
    SCREEN_REPLAY = "screen_replay"
    REPLAY_SUSPECTED = "replay_suspected"  # one side of a thin bright frame beside a face that turned
    PRINTED_PHOTO = "printed_photo"
    STILL_PICTURE = "still_picture"
    FLAT_FACE = "flat_face"  # turned well, yet moved as one plane
    ANTISPOOF_REJECTED = "antispoof_rejected"
    STREAM_ANOMALY = "stream_anomaly"
    HEAD_NOT_TURNED = "head_not_turned"
    NO_BLINK = "no_blink"
    TOO_FEW_FACE_FRAMES = "too_few_face_frames"  # a face, but in too few frames to judge liveness


@dataclass(frozen=True)
class Finding(Record):
    """One observation: its code, what was measured (`value`, against `limit`) and a short detail."""

    code: FindingCode
    detail: str = ""
    value: float | None = None
    limit: float | None = None

    def __post_init__(self) -> None:
        # Plain rounded floats (numpy scalars come in), and no NaN or infinity (not JSON).
        for name in ("value", "limit"):
            number = getattr(self, name)
            if number is not None:
                number = float(number)
                object.__setattr__(self, name, round(number, 4) if math.isfinite(number) else None)


def codes(findings: tuple[Finding, ...] | list[Finding]) -> tuple[FindingCode, ...]:
    """The codes of `findings`, in order, each once."""
    return tuple(dict.fromkeys(f.code for f in findings))
