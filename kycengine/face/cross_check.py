"""Combine the comparisons of two face backends, as the strict manual-review re-run does."""

from __future__ import annotations

from dataclasses import replace

from ..findings import Finding, FindingCode
from ..schema import FaceEvidence, MatchDecision, StageState

_DECISION_FINDINGS = frozenset({FindingCode.FACE_MISMATCH, FindingCode.FACE_UNCERTAIN})


def cross_check(primary: FaceEvidence, second: FaceEvidence) -> FaceEvidence:
    """The primary evidence, with the second backend's score beside it; when the two backends
    disagree on the decision it becomes `uncertain` (a person decides, nothing is refused on it)."""
    scores = {**primary.scores, **{f"{k}_{second.backend}": v for k, v in second.scores.items()}}
    if primary.state is not StageState.COMPLETE or second.state is not StageState.COMPLETE:
        return replace(primary, scores=scores)
    if primary.decision is second.decision:
        return replace(primary, scores=scores)
    note = (f"{primary.backend}: {primary.decision.value if primary.decision else '-'}, "
            f"{second.backend}: {second.decision.value if second.decision else '-'}")
    findings = (*(f for f in primary.findings if f.code not in _DECISION_FINDINGS),
                Finding(FindingCode.FACE_UNCERTAIN, f"the face backends disagree: {note}", primary.similarity,
                        primary.threshold))
    return replace(primary, decision=MatchDecision.UNCERTAIN, findings=findings, scores=scores, note=note)
