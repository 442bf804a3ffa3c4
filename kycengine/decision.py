"""Policy: evidence in, status and reasons out. The only place that turns evidence into a verdict."""

from __future__ import annotations

from .reasons import Reason, Status
from .schema import DocumentEvidence, FaceEvidence, LivenessEvidence, MatchDecision, StageState

# What each reason means for the customer: fixable by filming again, final, or for a person.
_RETRYABLE = frozenset({
    Reason.DOCUMENT_BLURRY, Reason.DOCUMENT_GLARE, Reason.DOCUMENT_CUT_OFF,
    Reason.DOCUMENT_NOT_FOUND, Reason.DOCUMENT_NOT_TILTED, Reason.MRZ_UNREADABLE,
    Reason.NO_FACE_DETECTED, Reason.MULTIPLE_FACES, Reason.FACE_NOT_TURNED, Reason.NO_BLINK,
    Reason.VIDEO_UNREADABLE,
})
_REVIEW = frozenset({Reason.VERIFICATION_INCOMPLETE, Reason.INTERNAL_ERROR})
_PRECEDENCE = (Status.REFUSED, Status.RETRY_REQUIRED, Status.MANUAL_REVIEW)


def status_of(reason: Reason) -> Status:
    """The status a reason leads to on its own."""
    if reason in _RETRYABLE:
        return Status.RETRY_REQUIRED
    if reason in _REVIEW:
        return Status.MANUAL_REVIEW
    return Status.REFUSED


def decide(document: DocumentEvidence, face: FaceEvidence,
           liveness: LivenessEvidence) -> tuple[Status, tuple[Reason, ...]]:
    """Status and ordered, de-duplicated reasons; a stage that did not complete is never a pass."""
    reasons: list[Reason] = []
    for evidence in (document, face, liveness):
        reasons.extend(evidence.reasons)
        if evidence.state is not StageState.COMPLETE and not evidence.reasons:
            reasons.append(Reason.INTERNAL_ERROR if evidence.state is StageState.FAILED
                           else Reason.VERIFICATION_INCOMPLETE)
    unique = tuple(dict.fromkeys(reasons))
    statuses = {status_of(r) for r in unique}
    if face.state is StageState.COMPLETE and face.decision is MatchDecision.UNCERTAIN:
        statuses.add(Status.MANUAL_REVIEW)
    for status in _PRECEDENCE:
        if status in statuses:
            return status, tuple(r for r in unique if status_of(r) is status) or unique
    return Status.APPROVED, ()
