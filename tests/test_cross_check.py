"""The strict re-run sets a second face backend beside the first; disagreement goes to a person."""

from __future__ import annotations

from kycengine.decision import decide
from kycengine.face.cross_check import cross_check
from kycengine.face.matcher import decision_finding
from kycengine.findings import FindingCode
from kycengine.reasons import Reason, Status
from kycengine.schema import DocumentEvidence, FaceEvidence, LivenessEvidence, MatchDecision, StageState
from kycengine.settings import Settings


def _face(backend: str, decision: MatchDecision, score: float) -> FaceEvidence:
    findings = () if decision is MatchDecision.MATCH else (decision_finding(decision, score, 0.4),)
    return FaceEvidence(state=StageState.COMPLETE, backend=backend, decision=decision, similarity=score,
                        findings=findings, scores={"face_similarity": score})


def test_agreement_keeps_the_decision_and_both_scores() -> None:
    combined = cross_check(_face("insightface", MatchDecision.MATCH, 0.8),
                           _face("opencv", MatchDecision.MATCH, 0.7))
    assert combined.decision is MatchDecision.MATCH
    assert combined.scores == {"face_similarity": 0.8, "face_similarity_opencv": 0.7}


def test_disagreement_becomes_a_manual_review_not_a_refusal() -> None:
    combined = cross_check(_face("insightface", MatchDecision.NO_MATCH, 0.2),
                           _face("opencv", MatchDecision.MATCH, 0.6))
    assert combined.decision is MatchDecision.UNCERTAIN
    assert [f.code for f in combined.findings] == [FindingCode.FACE_UNCERTAIN]
    document = DocumentEvidence(state=StageState.COMPLETE)
    liveness = LivenessEvidence(state=StageState.COMPLETE, live=True)
    decision = decide(document, combined, liveness)
    assert (decision.status, decision.reasons) == (Status.MANUAL_REVIEW, (Reason.FACE_MATCH_UNCERTAIN,))


def test_both_agreeing_on_a_mismatch_still_refuse() -> None:
    combined = cross_check(_face("insightface", MatchDecision.NO_MATCH, 0.1),
                           _face("opencv", MatchDecision.NO_MATCH, 0.05))
    document = DocumentEvidence(state=StageState.COMPLETE)
    liveness = LivenessEvidence(state=StageState.COMPLETE, live=True)
    decision = decide(document, combined, liveness)
    assert (decision.status, decision.reasons) == (Status.REFUSED, (Reason.FACE_MISMATCH,))


def test_strict_settings_cross_check_with_the_other_backend() -> None:
    assert Settings().strict().face_cross_check == "opencv"
    assert Settings(face_backend="opencv").strict().face_cross_check == ""  # never the non-commercial weights
    assert Settings().face_cross_check == ""
