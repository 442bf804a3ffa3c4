"""Document stage entry point: frames of the document video in, DocumentEvidence out."""

from __future__ import annotations

import datetime as dt

from ..models import Registry
from ..reasons import Reason
from ..schema import Check, DocumentEvidence, StageState
from ..settings import Settings
from ..video import Video
from .mrz import MRZ, MRZFormat
from .reader import MRZReader
from .types import DocumentType
from .validity import Validity, assess_validity

# Checks of the document stage that are not built yet: while any is listed the stage reports
# PARTIAL, so that the policy can refuse on what was found but never approves on it.
PENDING_CHECKS = ("authenticity", "visual_zone", "portrait")


def document_type_of(mrz: MRZ) -> DocumentType | None:
    """Which accepted document an MRZ belongs to, or None when the kind is not accepted."""
    fields = mrz.fields
    if mrz.format is MRZFormat.FR_CNI_1988:
        return DocumentType.FR_CNI_1988
    if mrz.format is MRZFormat.TD1 and fields.document_code.startswith("I") and fields.issuing_state == "FRA":
        return DocumentType.FR_CNI_2021
    if mrz.format is MRZFormat.TD3 and fields.document_code.startswith("P"):
        return DocumentType.PASSPORT
    return None


def _mrz_reasons(mrz: MRZ) -> list[Reason]:
    reasons = []
    if not all(check.valid for check in mrz.checks):
        reasons.append(Reason.MRZ_CHECK_DIGIT_FAILED)
    if any("date" in problem for problem in mrz.problems):
        reasons.append(Reason.MRZ_INVALID_DATE)
    return reasons


def _fields(mrz: MRZ, validity: Validity) -> dict[str, str]:
    f = mrz.fields
    values = {"surname": f.surname, "given_names": f.given_names, "document_number": f.document_number,
              "nationality": f.nationality, "issuing_state": f.issuing_state, "sex": f.sex,
              "birth_date": f.birth_date.isoformat() if f.birth_date else "",
              "expiry_date": validity.expiry_date.isoformat() if validity.expiry_date else "",
              "expiry_source": validity.expiry_source.value}
    return {k: v for k, v in values.items() if v}


class DocumentAnalyser:
    """Reads and validates the identity document of a video; holds its OCR engine."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.settings = settings
        self.reader = MRZReader(registry)
        self.model_ids = (self.reader.ocr.model_id,)

    def analyse(self, video: Video, *, today: dt.date) -> DocumentEvidence:
        """Evidence about the document filmed in `video`: MRZ, type, validity and pending checks."""
        mrz = self.reader.read_frames(video.frames, today=today,
                                      max_frames=self.settings.document_max_frames)
        pending = tuple(Check(name, None, "not implemented in this version") for name in PENDING_CHECKS)
        if mrz is None:
            return DocumentEvidence(state=StageState.PARTIAL, reasons=(Reason.MRZ_UNREADABLE,),
                                    checks=(Check("mrz_found", False), *pending),
                                    note="no machine-readable zone could be read")
        validity = assess_validity(mrz, today=today)
        document_type = document_type_of(mrz)
        reasons = _mrz_reasons(mrz) + list(validity.reasons)
        if document_type is None:
            reasons.append(Reason.DOCUMENT_NOT_ACCEPTED)
        checks = (Check("mrz_found", True, mrz.source),
                  *(Check(f"mrz_check_{c.field}", c.valid, f"expected {c.expected}, found {c.found}")
                    for c in mrz.checks),
                  Check("not_expired", None if validity.expired is None else not validity.expired,
                        f"expiry {validity.expiry_date} ({validity.expiry_source.value})"),
                  Check("adult_holder", None if validity.underage is None else not validity.underage),
                  *pending)
        return DocumentEvidence(state=StageState.PARTIAL, reasons=tuple(dict.fromkeys(reasons)),
                                document_type=document_type, fields=_fields(mrz, validity),
                                mrz_lines=mrz.lines, checks=checks,
                                scores={"mrz_score": float(mrz.score)},
                                note="; ".join((*mrz.problems, *validity.notes)))
