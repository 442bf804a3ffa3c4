"""Combine the comparisons of two face backends, as the strict manual-review re-run does."""

from __future__ import annotations

from dataclasses import replace

from ..reasons import Reason
from ..schema import FaceEvidence, MatchDecision, StageState


def cross_check(primary: FaceEvidence, second: FaceEvidence) -> FaceEvidence:
    """The primary evidence, with the second backend's score beside it; when the two backends
    disagree on the decision it becomes `uncertain` (a person decides, nothing is refused on it)."""
    scores = {**primary.scores, **{f"{k}_{second.backend}": v for k, v in second.scores.items()}}
    if primary.state is not StageState.COMPLETE or second.state is not StageState.COMPLETE:
        return replace(primary, scores=scores)
    if primary.decision is second.decision:
        return replace(primary, scores=scores)
    reasons = tuple(r for r in primary.reasons if r is not Reason.FACE_MISMATCH)
    note = (f"{primary.backend}: {primary.decision.value if primary.decision else '-'}, "
            f"{second.backend}: {second.decision.value if second.decision else '-'}")
    return replace(primary, decision=MatchDecision.UNCERTAIN, reasons=reasons, scores=scores, note=note)
