"""The policy: findings become reasons with their own effects; the strongest effect gives the status."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kycengine.decision import _REASONS, decide, reasons_for
from kycengine.errors import InvalidInput
from kycengine.findings import Finding, FindingCode
from kycengine.reasons import TEXTS, Effect, Reason, Status, markdown_table
from kycengine.schema import DocumentEvidence, FaceEvidence, LivenessEvidence, MatchDecision, StageState
from kycengine.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _complete() -> tuple[DocumentEvidence, FaceEvidence, LivenessEvidence]:
    return (DocumentEvidence(state=StageState.COMPLETE),
            FaceEvidence(state=StageState.COMPLETE, decision=MatchDecision.MATCH, similarity=0.7),
            LivenessEvidence(state=StageState.COMPLETE, live=True))


def _document(*codes: FindingCode) -> DocumentEvidence:
    return DocumentEvidence(state=StageState.COMPLETE, findings=tuple(Finding(c) for c in codes))


def test_only_complete_clean_evidence_is_approved() -> None:
    decision = decide(*_complete())
    assert (decision.status, decision.reasons, decision.effects) == (Status.APPROVED, (), {})
    stub = decide(DocumentEvidence(state=StageState.NOT_IMPLEMENTED), *_complete()[1:])
    assert (stub.status, stub.reasons) == (Status.MANUAL_REVIEW, (Reason.VERIFICATION_INCOMPLETE,))
    partial = decide(DocumentEvidence(state=StageState.PARTIAL), *_complete()[1:])
    assert partial.status is Status.MANUAL_REVIEW
    document, face, _ = _complete()
    crashed = decide(document, face, LivenessEvidence(state=StageState.FAILED))
    assert (crashed.status, crashed.reasons) == (Status.MANUAL_REVIEW, (Reason.INTERNAL_ERROR,))


def test_an_uncertain_face_match_is_a_reason_for_review() -> None:
    document, _, liveness = _complete()
    uncertain = FaceEvidence(state=StageState.COMPLETE, decision=MatchDecision.UNCERTAIN,
                             findings=(Finding(FindingCode.FACE_UNCERTAIN, value=0.4, limit=0.4),))
    decision = decide(document, uncertain, liveness)
    assert (decision.status, decision.reasons) == (Status.MANUAL_REVIEW, (Reason.FACE_MATCH_UNCERTAIN,))


def test_every_reason_of_every_stage_is_kept_with_its_own_effect() -> None:
    """A blurry document with a screen-replayed selfie: refused, and the blur is still reported."""
    liveness = LivenessEvidence(state=StageState.COMPLETE, findings=(Finding(FindingCode.SCREEN_REPLAY),))
    uncertain = FaceEvidence(state=StageState.COMPLETE, findings=(Finding(FindingCode.FACE_UNCERTAIN),))
    decision = decide(_document(FindingCode.DOCUMENT_BLURRY), uncertain, liveness)
    assert decision.status is Status.REFUSED
    assert decision.reasons == (Reason.FACE_SCREEN, Reason.FACE_NOT_LIVE, Reason.DOCUMENT_BLURRY,
                                Reason.FACE_MATCH_UNCERTAIN)
    assert decision.effects == {Reason.FACE_SCREEN: Effect.REFUSE, Reason.FACE_NOT_LIVE: Effect.REFUSE,
                                Reason.DOCUMENT_BLURRY: Effect.RETRY, Reason.FACE_MATCH_UNCERTAIN: Effect.REVIEW}
    retry = decide(_document(FindingCode.DOCUMENT_BLURRY), uncertain, _complete()[2])
    assert retry.status is Status.RETRY_REQUIRED and retry.reasons[0] is Reason.DOCUMENT_BLURRY


def test_an_mrz_inconsistency_is_refused_or_reviewed_by_policy_never_retried() -> None:
    for code in (FindingCode.MRZ_CHECK_DIGIT_FAILED, FindingCode.MRZ_DOCUMENT_CODE_FORBIDDEN,
                 FindingCode.MRZ_ISSUE_DATE_IMPOSSIBLE):
        refused = decide(_document(code), *_complete()[1:])
        assert (refused.status, refused.reasons) == (Status.REFUSED, (Reason.MRZ_INCONSISTENT,))
    lenient = Settings(mrz_check_digit_effect=Effect.REVIEW)
    reviewed = decide(_document(FindingCode.MRZ_CHECK_DIGIT_FAILED), *_complete()[1:], settings=lenient)
    assert reviewed.status is Status.MANUAL_REVIEW
    # the other inconsistencies keep their own policy: the strongest effect of the reason wins
    both = decide(_document(FindingCode.MRZ_CHECK_DIGIT_FAILED, FindingCode.MRZ_DOCUMENT_CODE_FORBIDDEN),
                  *_complete()[1:], settings=lenient)
    assert both.effects == {Reason.MRZ_INCONSISTENT: Effect.REFUSE}
    with pytest.raises(InvalidInput, match="refuse or review"):
        Settings(mrz_check_digit_effect=Effect.RETRY)
    unreadable = decide(_document(FindingCode.MRZ_UNSTABLE), *_complete()[1:])
    assert (unreadable.status, unreadable.reasons) == (Status.RETRY_REQUIRED, (Reason.MRZ_UNREADABLE,))


def test_damage_is_refused_or_filmed_again_by_policy() -> None:
    assert decide(_document(FindingCode.DOCUMENT_DAMAGED), *_complete()[1:]).status is Status.REFUSED
    retry = Settings(document_damaged_effect=Effect.RETRY)
    assert decide(_document(FindingCode.DOCUMENT_DAMAGED), *_complete()[1:],
                  settings=retry).status is Status.RETRY_REQUIRED
    with pytest.raises(InvalidInput, match="refuse or retry"):
        Settings(document_damaged_effect=Effect.REVIEW)


def test_every_finding_maps_to_reasons_and_every_reason_is_reachable_and_described() -> None:
    assert set(_REASONS) == set(FindingCode)
    reached = {r for code in FindingCode for r in reasons_for(code, Settings())}
    assert reached == set(Reason)
    assert set(TEXTS) == set(Reason)
    for reason in Reason:
        text = TEXTS[reason]
        assert text.customer_en and text.customer_fr and text.meaning and reason.value == reason.value.lower()


_DETECTION_WORDS = re.compile(r"photocop|screen|écran|print|imprim|copie|check digit|contrôle|live|vivant|"
                              r"manipul|mask|masque|moir", re.IGNORECASE)
_ACTIONS = re.compile(r"\b(film|hold|move|turn|blink|record|make sure|tilt|use)\b", re.IGNORECASE)


def test_customer_texts_never_tell_what_fraud_was_detected() -> None:
    """Refusals for fraud signals share a neutral text; the code stays for the bank."""
    fraud = (Reason.DOCUMENT_PHOTOCOPY, Reason.DOCUMENT_SCREEN, Reason.DOCUMENT_NOT_IN_COLOR,
             Reason.MRZ_INCONSISTENT, Reason.MRZ_INVALID_DATE, Reason.MRZ_VIZ_MISMATCH, Reason.FACE_SCREEN,
             Reason.FACE_PRINT, Reason.FACE_NOT_LIVE, Reason.SUSPICIOUS_CAPTURE,
             Reason.FACE_SWAPPED_DURING_CAPTURE, Reason.FACE_MISMATCH)
    for reason in fraud:
        for text in (reason.message_en, reason.message_fr):
            assert not _DETECTION_WORDS.search(text), (reason, text)


def test_every_retry_text_says_what_to_do() -> None:
    retry = [r for r in Reason if TEXTS[r].effect is Effect.RETRY]
    assert len(retry) >= 10
    for reason in retry:
        assert _ACTIONS.search(reason.message_en), reason
    assert len({r.message_en for r in retry}) == len(retry)  # each says its own thing


def test_docs_hold_the_reason_table_of_the_code() -> None:
    assert markdown_table() in (ROOT / "docs" / "reasons.md").read_text(encoding="utf-8")
