"""Records round-trip through JSON and requests are validated."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from kycengine.errors import InvalidRequest
from kycengine.findings import Finding, FindingCode
from kycengine.reasons import Effect, Reason, Status
from kycengine.schema import (
    Check,
    DocumentEvidence,
    FaceEvidence,
    LivenessEvidence,
    MatchDecision,
    StageState,
    Verdict,
    VerificationRequest,
)

REQUEST = {"case_id": "case-42", "attempt": 2, "document_video": "doc.mp4",
           "selfie_video": "selfie.mp4", "callback_url": "https://bank.example/hook",
           "declared": {"surname": "BERTHIER", "given_names": "CORINNE", "birth_date": "1965-12-06"},
           "submitted_at": "2026-11-23T10:00:00+00:00"}


def _complete() -> tuple[DocumentEvidence, FaceEvidence, LivenessEvidence]:
    return (DocumentEvidence(state=StageState.COMPLETE),
            FaceEvidence(state=StageState.COMPLETE, decision=MatchDecision.MATCH, similarity=0.7),
            LivenessEvidence(state=StageState.COMPLETE, live=True))


def test_request_round_trips_through_json() -> None:
    request = VerificationRequest.parse(json.loads(json.dumps(REQUEST)))
    assert request.declared is not None and request.declared.birth_date == dt.date(1965, 12, 6)
    assert VerificationRequest.parse(json.loads(json.dumps(request.to_dict()))) == request


@pytest.mark.parametrize("patch,fragment", [
    ({"case_id": "../../etc"}, "case_id"),
    ({"attempt": "2"}, "attempt"),
    ({"attempt": 0}, "attempt"),
    ({"attempt": True}, "attempt"),
    ({"document_video": ""}, "document_video"),
    ({"declared": {"surname": "X"}}, "given_names"),
    ({"declared": {"surname": "X", "given_names": "Y", "birth_date": "1965-13-45"}}, "birth_date"),
    ({"unexpected": 1}, "unknown field"),
])
def test_malformed_requests_are_invalid_request(patch: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidRequest, match=fragment):
        VerificationRequest.parse({**REQUEST, **patch})


def test_missing_fields_and_wrong_shapes() -> None:
    with pytest.raises(InvalidRequest, match="selfie_video"):
        VerificationRequest.parse({k: v for k, v in REQUEST.items() if k != "selfie_video"})
    with pytest.raises(InvalidRequest):
        VerificationRequest.parse(["not", "an", "object"])


def test_transient_images_never_serialise() -> None:
    evidence = DocumentEvidence(state=StageState.COMPLETE, checks=(Check("mrz", True),),
                                portrait=np.zeros((4, 4, 3), np.uint8))
    data = evidence.to_dict()
    assert "portrait" not in data and "card_image" not in data
    again = DocumentEvidence.from_dict(json.loads(json.dumps(data)))
    assert again.checks == evidence.checks and again.portrait is None


def test_verdict_round_trips() -> None:
    document, face, liveness = _complete()
    liveness = LivenessEvidence(state=StageState.COMPLETE, live=False,
                                findings=(Finding(FindingCode.PRINTED_PHOTO, "border", 0.8, 0.6),))
    verdict = Verdict(case_id="c", attempt=1, status=Status.REFUSED,
                      reasons=(Reason.FACE_PRINT, Reason.FACE_NOT_LIVE),
                      effects={Reason.FACE_PRINT: Effect.REFUSE, Reason.FACE_NOT_LIVE: Effect.REFUSE},
                      document=document, face=face, liveness=liveness, scores={"x": 1.0},
                      created_at=dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc))
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["effects"] == {"face_print": "refuse", "face_not_live": "refuse"}
    assert data["liveness"]["findings"] == [{"code": "printed_photo", "detail": "border", "value": 0.8,
                                             "limit": 0.6}]
    again = Verdict.from_dict(data)
    assert again.to_dict() == verdict.to_dict()
    assert again.messages("fr") == (Reason.FACE_PRINT.message_fr,)  # one text for both reasons
