"""Records round-trip through JSON, requests are validated, the policy never passes a stub."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from kycengine.decision import decide, status_of
from kycengine.errors import InvalidRequest
from kycengine.reasons import Reason, Status
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


def _complete(**kw: object) -> tuple[DocumentEvidence, FaceEvidence, LivenessEvidence]:
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
    verdict = Verdict(case_id="c", attempt=1, status=Status.REFUSED, reasons=(Reason.FACE_PRINT,),
                      document=document, face=face, liveness=liveness, scores={"x": 1.0},
                      created_at=dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc))
    again = Verdict.from_dict(json.loads(json.dumps(verdict.to_dict())))
    assert again.to_dict() == verdict.to_dict()
    assert again.messages("fr")[0].startswith("Le visage")


def test_policy_approves_only_complete_clean_evidence() -> None:
    assert decide(*_complete()) == (Status.APPROVED, ())
    stub = (DocumentEvidence(state=StageState.NOT_IMPLEMENTED),) + _complete()[1:]
    assert decide(*stub) == (Status.MANUAL_REVIEW, (Reason.VERIFICATION_INCOMPLETE,))
    document, face, liveness = _complete()
    crashed = LivenessEvidence(state=StageState.FAILED)
    assert decide(document, face, crashed) == (Status.MANUAL_REVIEW, (Reason.INTERNAL_ERROR,))
    uncertain = FaceEvidence(state=StageState.COMPLETE, decision=MatchDecision.UNCERTAIN)
    assert decide(document, uncertain, liveness)[0] is Status.MANUAL_REVIEW


def test_refusal_outranks_retry() -> None:
    document = DocumentEvidence(state=StageState.COMPLETE, reasons=(Reason.DOCUMENT_BLURRY,))
    liveness = LivenessEvidence(state=StageState.COMPLETE, reasons=(Reason.FACE_SCREEN,))
    status, reasons = decide(document, _complete()[1], liveness)
    assert (status, reasons) == (Status.REFUSED, (Reason.FACE_SCREEN,))
    assert status_of(Reason.DOCUMENT_GLARE) is Status.RETRY_REQUIRED


def test_every_reason_has_both_messages() -> None:
    for reason in Reason:
        assert reason.message_en and reason.message_fr and reason.value == reason.value.lower()
